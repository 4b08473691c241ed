-- renoise.Osc: Message, Bundle, from_binary_data, properties, constructor
-- errors, tostring, type() after install(), and from_binary_data on junk.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

-- Big-endian 32-bit unsigned integer as 4 bytes.
local function be32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256)
end

-- An OSC string: bytes, NUL, zero padding to a multiple of 4.
local function ostr(s)
  s = s .. "\0"
  return s .. string.rep("\0", (4 - #s % 4) % 4)
end

-- A bundle by hand: "#bundle", timetag (whole seconds, fraction), elements.
local function bundle_bytes(secs, frac, elements)
  local t = { "#bundle\0", be32(secs), be32(frac) }
  for _, e in ipairs(elements) do
    t[#t + 1] = be32(#e)
    t[#t + 1] = e
  end
  return table.concat(t)
end

-- Plain deep comparison of argument arrays.
local function same_args(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i].tag ~= b[i].tag or a[i].value ~= b[i].value then return false end
  end
  return true
end

-- os.clock() values come back exactly in PUC Lua, whose os.clock() divides
-- by CLOCKS_PER_SEC (the double nearest a 6-decimal number). LuaJIT
-- multiplies by 1/CLOCKS_PER_SEC, which can be one unit in the last place
-- off that double; the timetag cannot tell the two apart, and the value
-- comes back as the 6-decimal one.
local function assert_clock_equal(sent, back)
  if H.is_jit then
    assert.is_true(math.abs(sent - back) <= 1e-15 * math.max(1, math.abs(sent)),
      string.format("%.17g vs %.17g", sent, back))
  else
    assert.are.equal(sent, back)
  end
end

describe("renoise.Osc", function()
  local rs = H.rs()
  local Osc = rs.Osc

  -- One argument per tag, with values that survive the wire unchanged,
  -- and what comes back when decoded.
  local every_tag = {
    { tag = "i", value = -5 },
    { tag = "f", value = 2.5 },
    { tag = "s", value = "hello" },
    { tag = "b", value = "\0\1\192\219\255" },
    { tag = "h", value = 2 ^ 40 + 3 },
    { tag = "t", value = 2.5 },
    { tag = "d", value = 0.1 },
    { tag = "S", value = "sym" },
    { tag = "c", value = "a" },
    { tag = "r", value = 0xff8000ff },
    { tag = "m", value = 0x00903c7f },
    { tag = "T" },
    { tag = "F" },
    { tag = "N" },
    { tag = "I" },
  }
  local every_tag_decoded = {}
  for i, a in ipairs(every_tag) do
    every_tag_decoded[i] = { tag = a.tag, value = a.value }
  end
  every_tag_decoded[12].value = true
  every_tag_decoded[13].value = false

  it("has Message, Bundle and from_binary_data", function()
    assert.are.equal("function", type(Osc.Message))
    assert.are.equal("function", type(Osc.Bundle))
    assert.are.equal("function", type(Osc.from_binary_data))
  end)

  describe("Message", function()
    it("sizes nothing by the length of an arguments table with holes", function()
      -- `#t` of some 30 entries can be a border over 600 million (5.1,
      -- LuaJIT); under a 3 GB address-space limit, sizing anything by it
      -- would abort the interpreter instead of raising.
      local out, status = H.scenario("osc_huge_border.lua", nil, "ulimit -v 3000000 &&")
      local ok, len, e = out:match("^(%a+)|(%d+)|([^\n]*)")
      assert.is_truthy(ok, out)
      assert.are.equal("false", ok, out)
      -- The hole is below the border (5.1, LuaJIT: len is huge) or just
      -- above it (Lua 5.4: the border is 5): the same words either way.
      assert.is_truthy(tonumber(len), out)
      assert.is_truthy(e:find("bad argument #2 to 'Message' (arguments must be an array without holes: arguments[6] is nil", 1, true), out)
      assert.are.equal(0, status, out)
    end)

    it("encodes the exact OSC bytes", function()
      local m = Osc.Message("/a", { { tag = "i", value = 7 } })
      assert.are.equal("/a\0\0,i\0\0\0\0\0\7", m.binary_data)
      assert.are.equal("/a\0\0,\0\0\0", Osc.Message("/a").binary_data)
      assert.are.equal("/a\0\0,\0\0\0", Osc.Message("/a", {}).binary_data)
      assert.are.equal("/a\0\0,\0\0\0", Osc.Message("/a", nil).binary_data)
    end)

    it("has pattern, arguments and binary_data as fields, to_binary_data()", function()
      local m = Osc.Message("/renoise/song/bpm", { { tag = "f", value = 132 } })
      assert.are.equal("/renoise/song/bpm", m.pattern)
      assert.is_true(same_args({ { tag = "f", value = 132 } }, m.arguments))
      assert.are.equal(m.binary_data, m:to_binary_data())
      assert.is_nil(m.timetag)
      assert.is_nil(m.elements)
      assert.is_nil(m.nothing_here)
    end)

    it("round-trips every tag through binary_data and from_binary_data", function()
      local m = Osc.Message("/every", every_tag)
      assert.is_true(same_args(every_tag_decoded, m.arguments))
      local d = assert(Osc.from_binary_data(m.binary_data))
      assert.are.equal("/every", d.pattern)
      assert.is_true(same_args(every_tag_decoded, d.arguments))
      assert.are.equal(m.binary_data, d.binary_data)
    end)

    it("round-trips each tag on its own", function()
      for i, a in ipairs(every_tag) do
        local m = Osc.Message("/one", { a })
        local d = assert(Osc.from_binary_data(m.binary_data))
        local got = d.arguments[1]
        assert.are.equal(a.tag, got.tag)
        assert.are.equal(every_tag_decoded[i].value, got.value, "tag " .. a.tag)
      end
    end)

    it("arguments are plain tables, fresh on each read", function()
      local m = Osc.Message("/a", { { tag = "i", value = 1 } })
      local args = m.arguments
      assert.are.equal("table", type(args))
      assert.is_nil(getmetatable(args))
      assert.are_not.equal(args, m.arguments)
      args[1].value = 99
      args[2] = { tag = "s", value = "x" }
      assert.are.equal(1, m.arguments[1].value)
      assert.are.equal(1, #m.arguments)
    end)

    it("takes decoded arguments back unchanged", function()
      local d = assert(Osc.from_binary_data(Osc.Message("/fwd", every_tag).binary_data))
      local again = Osc.Message(d.pattern, d.arguments)
      assert.are.equal(d.binary_data, again.binary_data)
      assert.is_true(same_args(d.arguments, again.arguments))
    end)

    it("ignores a value given to T, F, N, I; decoded T/F carry true/false, N/I none", function()
      local m = Osc.Message("/x", {
        { tag = "T", value = 5 }, { tag = "F", value = "x" },
        { tag = "N", value = true }, { tag = "I", value = {} },
      })
      assert.are.equal(Osc.Message("/x", { { tag = "T" }, { tag = "F" }, { tag = "N" }, { tag = "I" } }).binary_data,
        m.binary_data)
      local a = Osc.from_binary_data(m.binary_data).arguments
      assert.are.equal(true, a[1].value)
      assert.are.equal(false, a[2].value)
      assert.is_nil(a[3].value)
      assert.is_nil(a[4].value)
    end)

    it("keeps string, symbol, blob and pattern bytes unchanged (not UTF-8 too)", function()
      local m = Osc.Message("/caf\233", {
        { tag = "s", value = "\255\128" }, { tag = "S", value = "" }, { tag = "b", value = "" },
        { tag = "b", value = string.rep("\0", 7) },
      })
      local d = Osc.from_binary_data(m.binary_data)
      assert.are.equal("/caf\233", d.pattern)
      assert.are.equal("\255\128", d.arguments[1].value)
      assert.are.equal("", d.arguments[2].value)
      assert.are.equal("", d.arguments[3].value)
      assert.are.equal(string.rep("\0", 7), d.arguments[4].value)
    end)

    it("'i' takes integral floats (3.0) and the whole int32 range", function()
      local m = Osc.Message("/i", {
        { tag = "i", value = 3.0 }, { tag = "i", value = 2147483647 }, { tag = "i", value = -2147483648 },
      })
      local a = Osc.from_binary_data(m.binary_data).arguments
      assert.are.equal(3, a[1].value)
      assert.are.equal(2147483647, a[2].value)
      assert.are.equal(-2147483648, a[3].value)
      if H.is54 then
        assert.are.equal("integer", math.type(a[1].value))
        assert.are.equal("integer", math.type(m.arguments[1].value))
      end
    end)

    it("'r' and 'm' take 32-bit unsigned integers", function()
      local m = Osc.Message("/rm", { { tag = "r", value = 0 }, { tag = "m", value = 4294967295 } })
      local a = Osc.from_binary_data(m.binary_data).arguments
      assert.are.equal(0, a[1].value)
      assert.are.equal(4294967295, a[2].value)
      assert.are.equal("/rm\0,rm\0\0\0\0\0\255\255\255\255", m.binary_data)
    end)

    it("'f' is rounded to float32, 'd' is kept exactly", function()
      local m = Osc.Message("/f", { { tag = "f", value = 0.1 }, { tag = "d", value = 0.1 } })
      local a = Osc.from_binary_data(m.binary_data).arguments
      assert.is_true(math.abs(a[1].value - 0.1) < 1e-7)
      assert.are_not.equal(0.1, a[1].value)
      assert.are.equal(0.1, a[2].value)
    end)

    it("'f' rounds to float32 as a C cast does: beyond its range to +-inf", function()
      local m = Osc.Message("/f", { { tag = "f", value = 1e300 }, { tag = "f", value = -1e40 },
        { tag = "f", value = 3e38 } })
      assert.are.equal("/f\0\0,fff\0\0\0\0\127\128\0\0\255\128\0\0", m.binary_data:sub(1, 20))
      local a = Osc.from_binary_data(m.binary_data).arguments
      assert.are.equal(1 / 0, a[1].value)
      assert.are.equal(-1 / 0, a[2].value)
      assert.is_true(math.abs(a[3].value - 3e38) < 1e32)
    end)

    it("'c' sent sign-extended (oscpack) decodes to its byte and is rebuilt as liblo sends it", function()
      local d = Osc.from_binary_data("/c\0\0,c\0\0\255\255\255\200")
      assert.are.equal("\200", d.arguments[1].value)
      assert.are.equal("/c\0\0,c\0\0\0\0\0\200", Osc.Message(d.pattern, d.arguments).binary_data)
      -- other values beyond a byte are not a char
      local bad, e = Osc.from_binary_data("/c\0\0,c\0\0\0\0\1\65")
      assert.is_nil(bad)
      assert.matches("char at byte 8 is 0x141", e, 1, true)
    end)

    describe("'h' (int64)", function()
      local function h_bytes(hi, lo)
        return "/h\0\0,h\0\0" .. be32(hi) .. be32(lo)
      end

      it("round-trips integers up to 2^53 exactly in every Lua", function()
        for _, v in ipairs({ 0, -1, 2 ^ 53, -(2 ^ 53), 2 ^ 62, -(2 ^ 63) }) do
          local d = Osc.from_binary_data(Osc.Message("/h", { { tag = "h", value = v } }).binary_data)
          assert.are.equal(v, d.arguments[1].value)
        end
      end)

      it("takes a whole float up to +-2^63, +-2^63 itself saturating (every Lua)", function()
        local function h_of(v)
          return Osc.Message("/h", { { tag = "h", value = v } }).binary_data
        end
        assert.are.equal(h_bytes(0x7fffffff, 0xffffffff), h_of(2.0 ^ 63))
        assert.are.equal(h_bytes(0x80000000, 0), h_of(-(2.0 ^ 63)))
        assert.are.equal(h_bytes(0x00100000, 0), h_of(2.0 ^ 52))
      end)

      it("refuses non-integers and numbers beyond +-2^63", function()
        for _, v in ipairs({ 1.5, 2 ^ 64, -(2 ^ 64), 1 / 0, 0 / 0 }) do
          H.assert_arg_error(2, "Message", function() return Osc.Message("/h", { { tag = "h", value = v } }) end)
        end
      end)

      if H.is54 then
        it("Lua 5.4: every int64 round-trips exactly as an integer", function()
          for _, v in ipairs({ math.maxinteger, math.mininteger, 9007199254740993 }) do
            local d = Osc.from_binary_data(Osc.Message("/h", { { tag = "h", value = v } }).binary_data)
            assert.are.equal(v, d.arguments[1].value)
            assert.are.equal("integer", math.type(d.arguments[1].value))
          end
        end)
      else
        it("Lua 5.1 / LuaJIT: beyond 2^53 a decoded value is the nearest double", function()
          -- 2^53 + 1 is not a double: it comes back as 2^53
          local d = Osc.from_binary_data(h_bytes(0x00200000, 1))
          assert.are.equal(2 ^ 53, d.arguments[1].value)
          -- int64 max comes back as 2^63, which Message() takes back
          -- (saturating to int64 max)
          d = Osc.from_binary_data(h_bytes(0x7fffffff, 0xffffffff))
          assert.are.equal(2 ^ 63, d.arguments[1].value)
          local again = Osc.Message(d.pattern, d.arguments)
          assert.are.equal(d.binary_data, again.binary_data)
        end)
      end
    end)

    it("'t' takes seconds and round-trips 0, 1, 2.5 and os.clock() values", function()
      local values = { 0, 1, 2.5, 0.001, 123.456789 }
      for _ = 1, 50 do
        values[#values + 1] = math.random(0, 1000000000) / 1000000 -- at most 6 decimals
      end
      for _, v in ipairs(values) do
        local d = Osc.from_binary_data(Osc.Message("/t", { { tag = "t", value = v } }).binary_data)
        assert.are.equal(v, d.arguments[1].value)
      end
      for _ = 1, 20 do
        local v = os.clock()
        local m = Osc.Message("/t", { { tag = "t", value = v } })
        local d = Osc.from_binary_data(m.binary_data)
        assert.are.equal(m.arguments[1].value, d.arguments[1].value)
        assert_clock_equal(v, d.arguments[1].value)
      end
      -- 1.0 s is the timetag 00000001.00000000
      assert.are.equal("/t\0\0,t\0\0\0\0\0\1\0\0\0\0",
        Osc.Message("/t", { { tag = "t", value = 1 } }).binary_data)
    end)

    describe("raises", function()
      local function bad_arg(n, pattern, args, contains)
        local msg = H.assert_arg_error(n, "Message", function() return Osc.Message(pattern, args) end)
        if contains then
          assert(msg:find(contains, 1, true), "expected '" .. contains .. "' in: " .. msg)
        end
        return msg
      end

      it("for a pattern that is not a string or does not start with '/'", function()
        bad_arg(1, nil, nil, "string expected, got nil")
        local e = H.assert_arg_error(1, "Message", function() return Osc.Message() end)
        assert.truthy(e:find("string expected, got no value", 1, true))
        bad_arg(1, 5, nil, "string expected, got number")
        bad_arg(1, "x", nil, "'/'")
        bad_arg(1, "", nil, "'/'")
        bad_arg(1, "/a\0b", nil, "NUL")
      end)

      it("for arguments that are not a table", function()
        bad_arg(2, "/a", "i", "table or nil expected, got string")
        bad_arg(2, "/a", 5, "table or nil expected, got number")
      end)

      it("for one argument not wrapped in an array, or an array without [1]", function()
        bad_arg(2, "/a", { tag = "i", value = 1 }, "got one such table alone (wrap it in { })")
        bad_arg(2, "/a", { value = 1 }, "got one such table alone (wrap it in { })")
        bad_arg(2, "/a", { [2] = { tag = "i", value = 1 } }, "got a table without [1]")
        bad_arg(2, "/a", { [3] = { tag = "i", value = 1 }, n = 3 }, "got a table without [1]")
        -- An empty table is no arguments; other keys beside the array are
        -- not looked at (table.pack's n, a tag beside the array).
        assert.are.equal("/a ,", tostring(Osc.Message("/a", {})))
        assert.are.equal("/a ,", tostring(Osc.Message("/a", { n = 0 })))
        assert.are.equal("/a ,i 1", tostring(Osc.Message("/a", { { tag = "i", value = 1 }, n = 1 })))
        assert.are.equal("/a ,i 1", tostring(Osc.Message("/a", { { tag = "i", value = 1 }, tag = "x" })))
      end)

      it("for an array with holes, whatever border #t finds", function()
        local a = { tag = "i", value = 1 }
        -- #t is 1 here in every interpreter: the hole would drop the rest.
        bad_arg(2, "/a", { [1] = a, [3] = a }, "without holes: arguments[2] is nil, but arguments[3] is not")
        -- #t may be 1 or 4 (5.1 and LuaJIT) or 4 (5.4): an error either way.
        local t = { a, a, a, a }
        t[2] = nil
        local ok, e = pcall(Osc.Message, "/a", t)
        assert.is_false(ok)
        assert.truthy(e:find("bad argument #2 to 'Message'", 1, true), e)
        assert.truthy(e:find("arguments[2]", 1, true), e)
        -- A constructor's hole is below the border (#t is 3): the same words.
        bad_arg(2, "/a", { a, nil, a }, "without holes: arguments[2] is nil, but arguments[3] is not")
        -- a table.pack result (an n beside the array) is no hole
        assert.are.equal("/a ,ii 1 1", tostring(Osc.Message("/a", { a, a, n = 2 })))
      end)

      it("for an argument that is not a table", function()
        bad_arg(2, "/a", { 5 }, "arguments[1] must be a table")
        bad_arg(2, "/a", { { tag = "i", value = 1 }, "i" }, "arguments[2] must be a table")
      end)

      it("for a missing or unknown tag", function()
        bad_arg(2, "/a", { { value = 1 } }, "arguments[1].tag must be a type tag string, got nil")
        bad_arg(2, "/a", { { tag = 105, value = 1 } }, "got number")
        bad_arg(2, "/a", { { tag = "x", value = 1 } }, "unknown tag 'x'")
        bad_arg(2, "/a", { { tag = "ii", value = 1 } }, "unknown tag 'ii'")
        bad_arg(2, "/a", { { tag = "", value = 1 } }, "unknown tag ''")
        bad_arg(2, "/a", { { tag = "[" } }, "unknown tag '['")
      end)

      it("for a missing value", function()
        for _, tag in ipairs({ "i", "f", "s", "b", "h", "t", "d", "S", "c", "r", "m" }) do
          bad_arg(2, "/a", { { tag = tag } }, "tag '" .. tag .. "' needs")
        end
        bad_arg(2, "/a", { { tag = "i", value = 1 }, { tag = "s" } }, "arguments[2]: tag 's' needs a string, got no value")
      end)

      it("for a value of the wrong type", function()
        bad_arg(2, "/a", { { tag = "i", value = "1" } }, "got string")
        bad_arg(2, "/a", { { tag = "f", value = "1.5" } }, "got string")
        bad_arg(2, "/a", { { tag = "d", value = true } }, "got boolean")
        bad_arg(2, "/a", { { tag = "s", value = 5 } }, "needs a string, got number")
        bad_arg(2, "/a", { { tag = "S", value = {} } }, "got table")
        bad_arg(2, "/a", { { tag = "b", value = 1 } }, "needs a string, got number")
        bad_arg(2, "/a", { { tag = "c", value = "ab" } }, "needs a one-character string, got \"ab\"")
        bad_arg(2, "/a", { { tag = "c", value = "" } }, "needs a one-character string, got \"\"")
        -- shown as tostring() shows text: control bytes escaped, UTF-8 as is
        bad_arg(2, "/a", { { tag = "c", value = "\n\0\27\255" } }, "got \"\\n\\0\\u{1b}\\xff\"")
        bad_arg(2, "/a", { { tag = "s", value = "a\0b" } }, "without NUL bytes, got \"a\\0b\"")
        bad_arg(2, "/a", { { tag = "c", value = "\195\169\195\169" } }, "got \"\195\169\195\169\"")
        -- a long string is cut once, its closing quote kept
        bad_arg(2, "/a", { { tag = "c", value = string.rep("a", 39) } },
          "got \"" .. string.rep("a", 39) .. "\"")
        bad_arg(2, "/a", { { tag = "c", value = 97 } }, "needs a one-character string, got number")
        bad_arg(2, "/a", { { tag = "t", value = "now" } }, "got string")
        local m = Osc.Message("/a")
        bad_arg(2, "/a", { { tag = "s", value = m } }, "got Message")
      end)

      it("for 'i' values that are not int32 (3.5, 2^31, -2^31-1)", function()
        bad_arg(2, "/a", { { tag = "i", value = 3.5 } }, "got 3.5")
        bad_arg(2, "/a", { { tag = "i", value = 2147483648 } }, "got 2147483648")
        bad_arg(2, "/a", { { tag = "i", value = -2147483649 } }, "got -2147483649")
        bad_arg(2, "/a", { { tag = "i", value = 0 / 0 } }, "got nan")
        bad_arg(2, "/a", { { tag = "i", value = 1 / 0 } }, "got inf")
      end)

      it("for 'r' / 'm' values that are not 32-bit unsigned", function()
        bad_arg(2, "/a", { { tag = "r", value = -1 } }, "0 to 4294967295")
        bad_arg(2, "/a", { { tag = "m", value = 4294967296 } }, "0 to 4294967295")
        bad_arg(2, "/a", { { tag = "m", value = 1.5 } }, "0 to 4294967295")
      end)

      it("for 't' outside 0 <= t < 2^32", function()
        bad_arg(2, "/a", { { tag = "t", value = -1 } }, "got -1")
        bad_arg(2, "/a", { { tag = "t", value = 2 ^ 32 } }, "seconds")
        bad_arg(2, "/a", { { tag = "t", value = 0 / 0 } }, "seconds")
      end)

      it("for NUL bytes in strings and symbols (blobs may hold them)", function()
        bad_arg(2, "/a", { { tag = "s", value = "a\0b" } }, "NUL")
        bad_arg(2, "/a", { { tag = "S", value = "\0" } }, "NUL")
        assert.is_truthy(Osc.Message("/a", { { tag = "b", value = "a\0b" } }))
      end)

      it("with messages that are strings, as Lua's own errors", function()
        local ok, e = pcall(Osc.Message, "/a", { { tag = "x" } })
        assert.is_false(ok)
        assert.are.equal("string", type(e))
      end)
    end)

    it("fields are read-only and objects take no new fields", function()
      local m = Osc.Message("/a")
      local e = H.raises(function() m.pattern = "/b" end)
      assert.truthy(e:find("read-only", 1, true))
      e = H.raises(function() m.foo = 1 end)
      assert.truthy(e:find("no field 'foo'", 1, true))
      assert.are.equal("/a", m.pattern)
    end)
  end)

  describe("Bundle", function()
    it("encodes the exact bytes of a bundle of one message", function()
      local m = Osc.Message("/a", { { tag = "i", value = 7 } })
      local b = Osc.Bundle(1, m)
      assert.are.equal(bundle_bytes(1, 0, { m.binary_data }), b.binary_data)
      assert.are.equal(b.binary_data, b:to_binary_data())
    end)

    it("holds several messages, in order", function()
      local ms = {}
      for i = 1, 5 do ms[i] = Osc.Message("/m" .. i, { { tag = "i", value = i } }) end
      local b = Osc.Bundle(2.5, ms)
      assert.are.equal(2.5, b.timetag)
      local el = b.elements
      assert.are.equal(5, #el)
      local want = {}
      for i = 1, 5 do
        assert.are.equal("/m" .. i, el[i].pattern)
        assert.are.equal(i, el[i].arguments[1].value)
        want[i] = ms[i].binary_data
      end
      assert.are.equal(bundle_bytes(2, 0x80000000, want), b.binary_data)
      local d = assert(Osc.from_binary_data(b.binary_data))
      assert.are.equal(5, #d.elements)
      assert.are.equal("/m3", d.elements[3].pattern)
      assert.is_nil(b.pattern)
      assert.is_nil(b.arguments)
    end)

    it("takes an empty array", function()
      local b = Osc.Bundle(0, {})
      assert.are.equal(bundle_bytes(0, 0, {}), b.binary_data)
      assert.are.equal(0, #b.elements)
    end)

    it("elements are Message objects with the same content", function()
      local m = Osc.Message("/a", { { tag = "s", value = "x" } })
      local b = Osc.Bundle(1, { m })
      local e = b.elements[1]
      assert.are.equal(m.binary_data, e.binary_data)
      assert.are.equal(tostring(m), tostring(e))
    end)

    it("round-trips the timetag for 0, 1, 2.5 and os.clock() values", function()
      local values = { 0, 1, 2.5, 0.25, 1e-3, 4294967295, 4294967295.5 }
      for _ = 1, 50 do values[#values + 1] = math.random(0, 1000000000) / 1000000 end
      for _, t in ipairs(values) do
        local b = Osc.Bundle(t, Osc.Message("/a"))
        assert.are.equal(t, b.timetag)
        local d = Osc.from_binary_data(b.binary_data)
        assert.are.equal(b.timetag, d.timetag)
        assert.are.equal(t, d.timetag)
      end
      local t0 = os.clock()
      for _ = 1, 50 do
        local t = os.clock()
        local b = Osc.Bundle(t, Osc.Message("/a"))
        assert.are.equal(b.timetag, Osc.from_binary_data(b.binary_data).timetag)
        assert_clock_equal(t, b.timetag)
        while os.clock() - t0 < 0.0005 do end
        t0 = os.clock()
      end
    end)

    it("maps seconds to the 32.32 timetag with no epoch shift", function()
      assert.are.equal(bundle_bytes(0, 0, {}), Osc.Bundle(0, {}).binary_data)
      assert.are.equal(bundle_bytes(3, 0x40000000, {}), Osc.Bundle(3.25, {}).binary_data)
      -- the timetag 1 ("immediately") decodes to a tiny number that encodes back to 1
      local d = Osc.from_binary_data(bundle_bytes(0, 1, {}))
      assert.is_true(d.timetag > 0 and d.timetag < 1e-9)
      assert.are.equal(bundle_bytes(0, 1, {}), Osc.Bundle(d.timetag, {}).binary_data)
    end)

    it("decodes nested bundles (built by hand), but does not build them", function()
      local m1 = "/in\0,i\0\0" .. be32(1)
      local m2 = "/out" .. ostr("") .. ",s\0\0" .. ostr("x")
      local inner = bundle_bytes(5, 0, { m1 })
      local outer = bundle_bytes(1, 0, { inner, m2 })
      local d = assert(Osc.from_binary_data(outer))
      assert.are.equal(1, d.timetag)
      local el = d.elements
      assert.are.equal(2, #el)
      assert.are.equal(5, el[1].timetag)
      assert.are.equal("/in", el[1].elements[1].pattern)
      assert.are.equal(1, el[1].elements[1].arguments[1].value)
      assert.are.equal("/out", el[2].pattern)
      assert.are.equal("x", el[2].arguments[1].value)
      assert.are.equal(outer, d.binary_data)
      assert.are.equal(inner, el[1].binary_data)
      assert.are.equal("#bundle 1 [#bundle 5 [/in ,i 1]; /out ,s \"x\"]", tostring(d))
      H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, el) end)
      H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, el[1]) end)
    end)

    describe("raises", function()
      local m = Osc.Message("/a")
      it("for a nested bundle, alone or in the array", function()
        local b = Osc.Bundle(1, m)
        local e = H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, b) end)
        assert.truthy(e:find("nested", 1, true))
        e = H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { m, b }) end)
        assert.truthy(e:find("element 2 is a Bundle", 1, true))
      end)

      it("for elements that are not messages", function()
        H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1) end)
        H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, "x") end)
        local e = H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { m, {} }) end)
        assert.truthy(e:find("element 2 must be a Message, got table", 1, true))
        H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { m.binary_data }) end)
        H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { io.stdout }) end)
        e = H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { [2] = m }) end)
        assert.truthy(e:find("got a table without [1]", 1, true))
        -- a hole, wherever the interpreter's #t finds the border
        e = H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { [1] = m, [3] = m }) end)
        assert.truthy(e:find("without holes: element 2 is nil, but element 3 is not", 1, true), e)
        e = H.assert_arg_error(2, "Bundle", function() return Osc.Bundle(1, { m, nil, m }) end)
        assert.truthy(e:find("without holes: element 2 is nil, but element 3 is not", 1, true), e)
        assert.are.equal("#bundle 1 []", tostring(Osc.Bundle(1, {})))
        assert.are.equal("#bundle 1 []", tostring(Osc.Bundle(1, { n = 0 })))
      end)

      it("for a time that is not a number of seconds in 0 <= t < 2^32", function()
        H.assert_arg_error(1, "Bundle", function() return Osc.Bundle("1", m) end)
        H.assert_arg_error(1, "Bundle", function() return Osc.Bundle(nil, m) end)
        H.assert_arg_error(1, "Bundle", function() return Osc.Bundle(-0.5, m) end)
        H.assert_arg_error(1, "Bundle", function() return Osc.Bundle(2 ^ 32, m) end)
        H.assert_arg_error(1, "Bundle", function() return Osc.Bundle(0 / 0, m) end)
        H.assert_arg_error(1, "Bundle", function() return Osc.Bundle(1 / 0, m) end)
      end)
    end)
  end)

  describe("from_binary_data", function()
    it("returns nil and a message for data that is not OSC", function()
      local junk = {
        "", "garbage", "/", "/a", "/a\0\0,i\0\0", "/a\0\0,i\0\0\0\0\0", "/a\0\0,x\0\0",
        "/a\0\0,i\0\0\0\0\0\1extra", "#bundle\0", "#bundle\0\0\0\0\0\0\0\0\1\0\0",
        "#bundle\0\0\0\0\0\0\0\0\0\0\0\0\200/a\0\0", "a\0\0\0", "/a\0\0,[i]\0\0\0\0\0\0\0\1",
        "/a\0\0,c\0\0\0\0\1\0",
      }
      for _, s in ipairs(junk) do
        local r, e = Osc.from_binary_data(s)
        assert.is_nil(r, H.hex_encode(s))
        assert.are.equal("string", type(e))
        assert.is_true(#e > 0)
      end
    end)

    it("refuses bundles nested too deeply (no stack overflow)", function()
      local p = "/a\0\0,\0\0\0"
      for _ = 1, 100 do p = bundle_bytes(0, 0, { p }) end
      local r, e = Osc.from_binary_data(p)
      assert.is_nil(r)
      assert.are.equal("string", type(e))
      -- 33 levels: the message gives the path and the reason, whole
      p = "/a\0\0,\0\0\0"
      for _ = 1, 33 do p = bundle_bytes(0, 0, { p }) end
      r, e = Osc.from_binary_data(p)
      assert.is_nil(r)
      assert.are.equal("invalid OSC data: in bundle element 1" .. ("/1"):rep(31)
        .. ": bundles nested deeper than 32 levels", e)
    end)

    it("names data after the address that is not a type-tag string", function()
      local r, e = Osc.from_binary_data("/a\0\0\0\0\0\1")
      assert.is_nil(r)
      assert.are.equal("invalid OSC data: type-tag string at byte 4 does not start with ','", e)
    end)

    it("raises for a value that is not a string", function()
      H.assert_arg_error(1, "from_binary_data", function() return Osc.from_binary_data(5) end)
      H.assert_arg_error(1, "from_binary_data", function() return Osc.from_binary_data(nil) end)
      H.assert_arg_error(1, "from_binary_data", function() return Osc.from_binary_data(Osc.Message("/a")) end)
    end)

    it("keeps the bytes it decoded as binary_data", function()
      -- no type-tag string at all: OSC 1.0 receivers take it as no arguments
      local d = assert(Osc.from_binary_data("/old\0\0\0\0"))
      assert.are.equal("/old", d.pattern)
      assert.are.equal(0, #d.arguments)
      assert.are.equal("/old\0\0\0\0", d.binary_data)
      assert.are.equal("/old\0\0\0\0,\0\0\0", Osc.Message(d.pattern, d.arguments).binary_data)
    end)

    it("never crashes on random bytes and mutated packets (fuzz)", function()
      math.randomseed(1234)
      local seeds = {
        Osc.Message("/every", every_tag).binary_data,
        Osc.Bundle(1.5, { Osc.Message("/a", { { tag = "i", value = 1 } }), Osc.Message("/b") }).binary_data,
        bundle_bytes(1, 0, { bundle_bytes(2, 0, { "/x\0\0,\0\0\0" }) }),
      }
      local decoded = 0
      local function check(s)
        local r, e = Osc.from_binary_data(s)
        if r then
          decoded = decoded + 1
          local t = tostring(r)
          assert.are.equal("string", type(t))
          assert.are.equal(s, r.binary_data)
          if r.elements then
            for _, el in ipairs(r.elements) do
              assert.is_truthy(Osc.from_binary_data(el.binary_data))
            end
          else
            assert.is_truthy(Osc.Message(r.pattern, r.arguments))
          end
        else
          assert.are.equal("string", type(e))
        end
      end
      for _ = 1, 3000 do
        local n = math.random(0, 48)
        local t = {}
        for i = 1, n do t[i] = string.char(math.random(0, 255)) end
        local s = table.concat(t)
        if math.random() < 0.5 then s = "/" .. s end
        check(s)
      end
      for _ = 1, 6000 do
        local s = seeds[math.random(#seeds)]
        local bytes = { s:byte(1, -1) }
        for _ = 1, math.random(1, 3) do
          local op = math.random(3)
          local i = math.random(#bytes)
          if op == 1 then bytes[i] = math.random(0, 255)
          elseif op == 2 then table.remove(bytes, i)
          else table.insert(bytes, i, math.random(0, 255)) end
        end
        local parts = {}
        for i = 1, #bytes do parts[i] = string.char(bytes[i]) end
        check(table.concat(parts))
        -- and every truncation of a valid packet
        check(s:sub(1, math.random(0, #s - 1)))
      end
      assert.is_true(decoded > 0)
    end)
  end)

  describe("tostring", function()
    it("is readable: /pattern ,tags args", function()
      local m = Osc.Message("/pattern", {
        { tag = "i", value = 1 }, { tag = "f", value = 2.5 }, { tag = "s", value = "x" },
      })
      assert.are.equal('/pattern ,ifs 1 2.5 "x"', tostring(m))
      assert.are.equal("/a ,", tostring(Osc.Message("/a")))
      assert.are.equal("/m ,bcrmSNTFI <01ff> 'a' #ff8000ff midi:00903c7f \"s\" nil true false inf",
        tostring(Osc.Message("/m", {
          { tag = "b", value = "\1\255" }, { tag = "c", value = "a" }, { tag = "r", value = 0xff8000ff },
          { tag = "m", value = 0x00903c7f }, { tag = "S", value = "s" }, { tag = "N" }, { tag = "T" },
          { tag = "F" }, { tag = "I" },
        })))
    end)

    it("shows infinities and NaNs as Lua prints them", function()
      local m = Osc.Message("/f", {
        { tag = "f", value = 1 / 0 }, { tag = "d", value = -1 / 0 }, { tag = "f", value = 0 / 0 },
        { tag = "d", value = 0 / 0 },
      })
      assert.are.equal("/f ,fdfd inf -inf nan nan", tostring(m))
    end)

    it("shows a bundle and its elements", function()
      local b = Osc.Bundle(1.5, { Osc.Message("/a", { { tag = "i", value = 1 } }), Osc.Message("/b") })
      assert.are.equal("#bundle 1.5 [/a ,i 1; /b ,]", tostring(b))
    end)

    it("shows a time the same way as an argument and as a bundle's time", function()
      for _, case in ipairs({ { 1e-6, "1e-6" }, { 2e-10, "2e-10" }, { 2.5, "2.5" } }) do
        local t, text = case[1], case[2]
        assert.are.equal("/a ,t " .. text, tostring(Osc.Message("/a", { { tag = "t", value = t } })))
        assert.are.equal("#bundle " .. text .. " []", tostring(Osc.Bundle(t, {})))
      end
    end)
  end)

  describe("type() after install()", function()
    local saved_type, saved_renoise
    before_each(function()
      saved_type = rawget(_G, "type")
      saved_renoise = rawget(_G, "renoise")
    end)
    after_each(function()
      rawset(_G, "type", saved_type)
      rawset(_G, "renoise", saved_renoise)
    end)

    it("names messages and bundles; every other value keeps its type", function()
      local m = Osc.Message("/a")
      local b = Osc.Bundle(0, m)
      local decoded = Osc.from_binary_data(b.binary_data)
      assert.are.equal("userdata", type(m)) -- before install
      rs.install()
      assert.are.equal(rs.Osc, renoise.Osc)
      assert.are.equal("Message", type(m))
      assert.are.equal("Bundle", type(b))
      assert.are.equal("Bundle", type(decoded))
      assert.are.equal("Message", type(decoded.elements[1]))
      assert.are.equal("nil", type(nil))
      assert.are.equal("number", type(1))
      assert.are.equal("string", type("x"))
      assert.are.equal("table", type({}))
      assert.are.equal("function", type(print))
      assert.are.equal("boolean", type(false))
      assert.are.equal("thread", type(coroutine.create(function() end)))
      assert.are.equal("userdata", type(io.stdout))
      assert.are.equal("table", type(renoise))
      local peer = H.peer({ "hold" }, { lifetime = 5 })
      local c = H.connect(peer)
      assert.are.equal("userdata", type(c))
      c:close()
      H.cleanup()
      -- multiple values: only the first counts, as with Lua's own type
      assert.are.equal("number", type(1, m))
      assert.are.equal("Message", (type(m, 1)))
    end)

    it("is wrapped once: install() twice keeps the same function", function()
      rs.install()
      local t1 = type
      rs.install()
      assert.are.equal(t1, type)
      assert.are.equal("Message", type(Osc.Message("/a")))
      assert.are.equal("number", type(0))
    end)

    it("raises for no argument, as Lua's own type", function()
      rs.install()
      local ok, e = pcall(type)
      assert.is_false(ok)
      assert.truthy(tostring(e):find("bad argument #1 to 'type'", 1, true))
    end)

    it("wraps whatever type() is current", function()
      local m = Osc.Message("/a")
      rawset(_G, "type", function(v) return "wrapped:" .. saved_type(v) end)
      rs.install()
      local r1, r2 = type(1), type(m)
      rawset(_G, "type", saved_type) -- before luassert runs again
      assert.are.equal("wrapped:number", r1)
      assert.are.equal("Message", r2)
    end)
  end)
end)

describe("OSC objects too large for the memory left", function()
  it("raise a memory error instead of ending the process (ulimit -v), and small ones work after", function()
    -- Five 20 MB blobs (one Lua string), in a process that may map about
    -- 176 MiB: their copies and their encoding cannot all fit.
    local out, status = H.scenario("osc_out_of_memory.lua", "20000000 5", "ulimit -v 180000 &&")
    assert.are.equal(0, status, out)
    local kinds = {}
    for name, kind in out:gmatch("(%a+) (%a+)[^\n]*\n") do kinds[name] = kind end
    assert.are.equal("memory", kinds.message, out)
    for _, name in ipairs({ "string", "decode" }) do
      assert.is_truthy(kinds[name] == "ok" or kinds[name] == "memory", out)
    end
    assert.are.equal("ok", kinds.small, out)
    assert.is_truthy(out:find("done\n", 1, true), out)
  end)
end)
