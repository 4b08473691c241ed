-- Logic errors are *raised* as Lua errors naming the function and the
-- argument, Lua style: "bad argument #N to 'fname'". Arguments are counted
-- as Lua counts them for a method call: in c:receive(mode, timeout) mode is
-- #1 and timeout #2; in Socket.create_client(addr, port, protocol, timeout)
-- they are #1..#4. Every call is made from a Lua closure (not pcall(f, ...))
-- so the call site is a real method call, as in user code.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

local NaN = 0 / 0

describe("raised argument errors", function()
  local rs = H.rs()
  local S = rs.Socket
  local peer, c

  before_each(function()
    peer = H.peer({ "send:pending\\n", "hold" })
    c = H.connect(peer)
  end)
  after_each(function()
    if c and c.is_open then c:close() end
    H.cleanup()
  end)

  describe("receive mode", function()
    local bad = {
      { "0", 0 }, { "-1", -1 }, { "1.5", 1.5 }, { "\"*nothing\"", "*nothing" },
      { "a table", {} }, { "nil", nil }, { "NaN", NaN }, { "math.huge", math.huge },
      { "-math.huge", -math.huge }, { "\"\"", "" }, { "true", true }, { "\"line\"", "line" },
      { "a function", print },
    }
    for _, case in ipairs(bad) do
      it("rejects " .. case[1] .. " as #1", function()
        H.assert_arg_error(1, "receive", function() return c:receive(case[2], 0) end)
      end)
    end

    it("rejects n larger than the 16 MiB maximum", function()
      H.assert_arg_error(1, "receive", function() return c:receive(16 * 1024 * 1024 + 1, 0) end)
      H.assert_arg_error(1, "receive", function() return c:receive(2 ^ 40, 0) end)
      H.assert_arg_error(1, "receive", function() return c:receive(2 ^ 63, 0) end)
      -- whole numbers too large for an integer are "too large" as well
      for _, n in ipairs({ 16 * 1024 * 1024 + 1, 2 ^ 53, 2 ^ 63, 1e300 }) do
        local e = H.raises(function() return c:receive(n, 0) end)
        assert.is_truthy(e:find("size must be at most 16777216 bytes", 1, true), e)
      end
    end)

    it("raises at once, without waiting for the timeout", function()
      local elapsed = H.timed(pcall, function() return c:receive("*nothing", 5000) end)
      assert.is_true(elapsed < 0.5, "raised after " .. elapsed)
    end)

    it("leaves the socket open and its data intact", function()
      H.raises(function() return c:receive(0, 0) end)
      H.raises(function() return c:receive(20 * 1024 * 1024, 0) end)
      assert.is_true(c.is_open)
      assert.are.equal("pending", c:receive("*line", 2000))
    end)
  end)

  describe("receive timeout", function()
    local bad = {
      { "-1", -1 }, { "NaN (0/0)", NaN }, { "\"x\"", "x" }, { "a table", {} },
      { "-math.huge", -math.huge }, { "true", true },
    }
    for _, case in ipairs(bad) do
      it("rejects " .. case[1] .. " as #2", function()
        H.assert_arg_error(2, "receive", function() return c:receive("*line", case[2]) end)
        H.assert_arg_error(2, "receive", function() return c:receive(4, case[2]) end)
        H.assert_arg_error(2, "receive", function() return c:receive("*all", case[2]) end)
      end)
    end
  end)

  describe("valid edge values (not errors)", function()
    it("accepts a fractional timeout (0.5 ms) and an integral float mode (4.0)", function()
      assert.are.equal("pend", c:receive(4.0, 0.5 + 1000))
      local s, e = c:receive("*all", 0.5)
      assert.are.equal("ing\n", s, e)
      s, e = c:receive("*line", 0.5)
      assert.is_nil(s)
      assert.are.equal("timeout", e)
    end)
  end)

  describe("send message", function()
    local bad = { { "a table", {} }, { "nil", nil }, { "true", true }, { "a function", print } }
    for _, case in ipairs(bad) do
      it("rejects " .. case[1] .. " as #1", function()
        H.assert_arg_error(1, "send", function() return c:send(case[2]) end)
      end)
    end

    it("leaves the socket open", function()
      H.raises(function() return c:send({}) end)
      assert.is_true(c.is_open)
      assert.are.equal(true, c:send("ok"))
    end)
  end)

  describe("arguments past the last (LuaSocket's send(s, i, j), receive(mode, prefix))", function()
    it("raise, on every path, rather than send or read something else", function()
      -- Many calls: under LuaJIT the compiled fast path is taken too.
      for _ = 1, 300 do
        local e = H.assert_arg_error(2, "send", function() return c:send("hello", 2, 3) end)
        assert.truthy(e:find("no more arguments expected", 1, true), e)
        e = H.assert_arg_error(3, "receive", function() return c:receive("*l", 0, "prefix") end)
        assert.truthy(e:find("no more arguments expected", 1, true), e)
        H.assert_arg_error(3, "receive", function() return c:receive(4, 0, nil) end)
      end
      assert.is_true(c.is_open)
      assert.are.equal("pend", c:receive(4, 1000))
    end)
  end)

  describe("calls with . instead of :", function()
    local function assert_self_error(fname, fn)
      local msg = H.raises(fn)
      assert.is_truthy(msg:find("bad argument #1 to '" .. fname .. "'", 1, true)
        or msg:find("calling '" .. fname .. "' on bad self", 1, true),
        "expected a Lua-style bad self / bad argument #1 error for " .. fname .. ", got: " .. msg)
    end

    it("c.receive(\"*l\", 0) raises", function()
      assert_self_error("receive", function() return c.receive("*l", 0) end)
    end)
    it("c.receive() raises", function()
      assert_self_error("receive", function() return c.receive() end)
    end)
    it("c.send(\"x\") raises", function()
      assert_self_error("send", function() return c.send("x") end)
    end)
    it("c.close() raises", function()
      assert_self_error("close", function() return c.close() end)
    end)
    it("a method called on another object raises", function()
      assert_self_error("receive", function() return c.receive({}, "*l", 0) end)
      assert_self_error("send", function() return c.send(io.stdout, "x") end)
    end)
    it("leaves the client usable", function()
      pcall(function() return c.receive("*l", 0) end)
      assert.is_true(c.is_open)
      assert.are.equal("pending", c:receive("*l", 2000))
    end)
  end)

  describe("create_client", function()
    it("rejects a non-string address as #1", function()
      H.assert_arg_error(1, "create_client", function() return S.create_client(nil, peer.port) end)
      H.assert_arg_error(1, "create_client", function() return S.create_client({}, peer.port) end)
    end)

    for _, case in ipairs({ { "-1", -1 }, { "70000", 70000 }, { "\"x\"", "x" }, { "nil", nil },
                            { "65536", 65536 }, { "1.5", 1.5 }, { "NaN", NaN }, { "a table", {} } }) do
      it("rejects port " .. case[1] .. " as #2", function()
        H.assert_arg_error(2, "create_client", function() return S.create_client("127.0.0.1", case[2]) end)
      end)
    end

    for _, case in ipairs({ { "3", 3 }, { "0", 0 }, { "\"tcp\"", "tcp" }, { "a table", {} } }) do
      it("rejects protocol " .. case[1] .. " as #3", function()
        H.assert_arg_error(3, "create_client", function()
          return S.create_client("127.0.0.1", peer.port, case[2])
        end)
      end)
    end

    for _, case in ipairs({ { "-1", -1 }, { "NaN", NaN }, { "\"x\"", "x" }, { "a table", {} } }) do
      it("rejects timeout " .. case[1] .. " as #4", function()
        H.assert_arg_error(4, "create_client", function()
          return S.create_client("127.0.0.1", peer.port, S.PROTOCOL_TCP, case[2])
        end)
      end)
    end
  end)

  describe("closed socket", function()
    it("receive raises \"socket is closed\" for every mode", function()
      c:close()
      for _, mode in ipairs({ "*line", "*l", "*all", "*a", 1, 100 }) do
        H.assert_closed_error(function() return c:receive(mode, 0) end)
      end
    end)
    it("send raises \"socket is closed\"", function()
      c:close()
      H.assert_closed_error(function() return c:send("x") end)
    end)
    it("raises even with a timeout, at once", function()
      c:close()
      local elapsed = H.timed(pcall, function() return c:receive("*line", 5000) end)
      assert.is_true(elapsed < 0.5)
    end)
  end)

  it("raised errors are strings, as Lua's own are", function()
    local ok, e = pcall(function() return c:receive(0, 0) end)
    assert.is_false(ok)
    assert.is_string(e)
    c:close()
    ok, e = pcall(function() return c:receive("*l", 0) end)
    assert.is_false(ok)
    assert.is_string(e)
  end)

  it("never crashes the interpreter, whatever is passed", function()
    local values = { nil, false, true, 0, -1, 1.5, NaN, math.huge, -math.huge, 2 ^ 53, "",
                     "*line", "*all", "*l", "*a", "*nothing", {}, print, io.stdout,
                     coroutine.create(function() end) }
    local n = 20
    local timeouts = { 0, -1, NaN, "x", {}, true, -math.huge }
    for i = 1, n do
      for _, t in ipairs(timeouts) do
        pcall(function() return c:receive(values[i], t) end)
      end
      pcall(function() return c:send(values[i]) end)
      pcall(function() return c.receive(values[i], "*l", 0) end)
      pcall(function() return S.create_client("127.0.0.1", values[i], 3) end)
      pcall(function() return S.create_client(values[i], -1) end)
    end
    -- (valid modes with timeout 0 may have consumed "pending": fine)
    assert.is_true(c.is_open)
    assert.are.equal(true, c:send("still alive"))
  end)
end)
