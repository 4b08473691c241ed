-- Sending renoise.Osc messages and bundles with client:send: over UDP, over
-- TCP unframed and with the "slip" / "size" framing option, receive("*all")
-- of framed packets split across writes, and interoperability with liblo's
-- oscdump / oscsend (Debian's liblo-tools), a real OSC implementation.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

local function be32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256)
end

-- SLIP as OSC 1.1 frames it: END, escaped bytes, END.
local function slip(s)
  return "\192" .. s:gsub("[\192\219]", { ["\192"] = "\219\220", ["\219"] = "\219\221" }) .. "\192"
end

local function size_frame(s)
  return be32(#s) .. s
end

-- os.execute succeeded (Lua 5.1 returns the status, 5.2+ true / nil).
local function run_ok(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local function have(cmd)
  return run_ok("command -v " .. cmd .. " >/dev/null 2>&1")
end

describe("OSC over client:send", function()
  local rs = H.rs()
  local Osc = rs.Osc
  local TCP, UDP = rs.Socket.PROTOCOL_TCP, rs.Socket.PROTOCOL_UDP
  after_each(H.cleanup)

  -- a message whose bytes need SLIP escaping (0xC0 and 0xDB in a blob)
  local msg = Osc.Message("/renoise/x", {
    { tag = "i", value = 1 }, { tag = "f", value = 2.5 }, { tag = "s", value = "x" },
    { tag = "b", value = "\192\219\192\0\219\220" },
  })
  local bundle = Osc.Bundle(2.5, { msg, Osc.Message("/b", { { tag = "T" } }) })

  local function tcp_client(peer, framing)
    local c, e = rs.Socket.create_client("127.0.0.1", peer.port, TCP, 2000, { framing = framing })
    assert(c, "create_client failed: " .. tostring(e))
    return c
  end

  describe("UDP", function()
    it("sends a Message's binary_data as one datagram", function()
      local peer = H.peer({ "udp_recv", "udp_recv", "hold" }, { udp = true })
      local c = H.connect(peer, { udp = true })
      assert.are.equal(true, c:send(msg))
      assert.are.equal(msg.binary_data, peer:data())
      assert.are.equal(true, c:send(bundle))
      assert.are.equal(bundle.binary_data, peer:data())
      c:close()
    end)

    it("ignores the framing option (a datagram is a packet)", function()
      local peer = H.peer({ "udp_recv", "hold" }, { udp = true })
      local c = assert(rs.Socket.create_client("127.0.0.1", peer.port, UDP, 2000, { framing = "slip" }))
      assert.are.equal(true, c:send(msg))
      assert.are.equal(msg.binary_data, peer:data())
      c:close()
    end)

    it("sends decoded packets and bundle elements as they are", function()
      local peer = H.peer({ "udp_recv", "udp_recv", "hold" }, { udp = true })
      local c = H.connect(peer, { udp = true })
      local d = Osc.from_binary_data(bundle.binary_data)
      assert.are.equal(true, c:send(d))
      assert.are.equal(bundle.binary_data, peer:data())
      assert.are.equal(true, c:send(d.elements[1]))
      assert.are.equal(msg.binary_data, peer:data())
      c:close()
    end)
  end)

  describe("send argument", function()
    local peer, c
    before_each(function()
      peer = H.peer({ "hold" })
      c = H.connect(peer)
    end)
    after_each(function() if c then c:close() end end)

    it("raises for values that are neither strings nor OSC objects", function()
      for _, v in ipairs({ {}, 5, true, print, io.stdout }) do
        local e = H.assert_arg_error(1, "send", function() return c:send(v) end)
        assert.truthy(e:find("string, Message or Bundle expected", 1, true), e)
      end
      local e = H.assert_arg_error(1, "send", function() return c:send({}) end)
      assert.truthy(e:find("got table", 1, true), e)
      assert.is_true(c.is_open)
    end)

    it("raises 'socket is closed' for an OSC object on a closed client", function()
      c:close()
      H.assert_closed_error(function() return c:send(msg) end)
    end)
  end)

  describe("TCP", function()
    it("without framing sends the bare bytes, as Renoise", function()
      local n = #msg.binary_data + #bundle.binary_data
      local peer = H.peer({ "recv:" .. n, "hold" })
      local c = tcp_client(peer, nil)
      assert.are.equal(true, c:send(msg))
      assert.are.equal(true, c:send(bundle))
      assert.are.equal(msg.binary_data .. bundle.binary_data, peer:data())
      c:close()
    end)

    it("framing = \"none\" is the default", function()
      local peer = H.peer({ "recv:" .. #msg.binary_data, "hold" })
      local c = tcp_client(peer, "none")
      assert.are.equal(true, c:send(msg))
      assert.are.equal(msg.binary_data, peer:data())
      c:close()
    end)

    for _, case in ipairs({
      { "slip", slip, "frames each packet with END ... END (escaped)" },
      { "size", size_frame, "prefixes each packet with its 32-bit big-endian length" },
    }) do
      local framing, frame, what = case[1], case[2], case[3]
      it("framing = \"" .. framing .. "\" " .. what, function()
        local first = #frame(msg.binary_data)
        local peer = H.peer({ "recv:" .. first, "recv_" .. framing, "recv_" .. framing, "hold" })
        local c = tcp_client(peer, framing)
        assert.are.equal(true, c:send(msg))
        assert.are.equal(frame(msg.binary_data), peer:data())
        assert.are.equal(true, c:send(bundle))
        assert.are.equal(bundle.binary_data, H.hex_decode(peer:expect("frame")))
        assert.are.equal(true, c:send("plain string"))
        assert.are.equal("plain string", H.hex_decode(peer:expect("frame")))
        c:close()
      end)
    end

    for _, case in ipairs({ { "slip", slip }, { "size", size_frame } }) do
      local framing, frame = case[1], case[2]
      it("framing = \"" .. framing .. "\": receive(\"*all\") returns one whole packet, split across writes or several in one", function()
        local p1, p2 = msg.binary_data, bundle.binary_data
        local p3 = Osc.Message("/three").binary_data
        local p4 = Osc.Message("/four", { { tag = "h", value = 4 } }).binary_data
        local f1, f2, f3, f4 = frame(p1), frame(p2), frame(p3), frame(p4)
        local a, b = math.floor(#f1 / 2), 3
        local stream = {
          -- half of frame 1
          "sendhex:" .. H.hex_encode(f1:sub(1, a)), "sleep:150",
          -- rest of 1, the first bytes of 2
          "sendhex:" .. H.hex_encode(f1:sub(a + 1) .. f2:sub(1, b)), "sleep:150",
          -- rest of 2, all of 3 and 4 in one write
          "sendhex:" .. H.hex_encode(f2:sub(b + 1) .. f3 .. f4),
          "hold",
        }
        local peer = H.peer(stream)
        local c = tcp_client(peer, framing)
        -- nothing whole yet after the first write
        H.sleep(50)
        assert.are.same({ nil, "timeout" }, { c:receive("*all", 50) })
        for _, want in ipairs({ p1, p2, p3, p4 }) do
          local got, e = c:receive("*all", 2000)
          assert.are.equal(want, got, e)
          assert.is_truthy(Osc.from_binary_data(got))
        end
        assert.are.same({ nil, "timeout" }, { c:receive("*all", 0) })
        c:close()
      end)

      it("framing = \"" .. framing .. "\": empty frames carry no packet and are skipped", function()
        local p1 = Osc.Message("/one").binary_data
        local empty = framing == "slip" and "\192\192" or be32(0)
        local peer = H.peer({ "sendhex:" .. H.hex_encode(empty .. frame(p1) .. empty .. empty), "hold" })
        local c = tcp_client(peer, framing)
        assert.are.equal(p1, c:receive("*all", 2000))
        assert.are.same({ nil, "timeout" }, { c:receive("*all", 100) })
        assert.is_true(c.is_open)
        c:close()
      end)

      it("framing = \"" .. framing .. "\": a flood of empty frames does not hold receive past its timeout", function()
        -- Keepalives sent for 3 s as fast as they are read, then a packet.
        local p1 = Osc.Message("/one").binary_data
        local empty = framing == "slip" and "c0" or "00000000"
        local peer = H.peer({ "flood:" .. empty .. ":3000", "sendhex:" .. H.hex_encode(frame(p1)), "hold" })
        local c = tcp_client(peer, framing)
        for _, timeout in ipairs({ 100, 0 }) do
          local elapsed, got, e = H.timed(c.receive, c, "*all", timeout)
          assert.are.same({ nil, "timeout" }, { got, e })
          assert.is_true(elapsed < 1.5, "receive(\"*all\", " .. timeout .. ") took " .. elapsed .. " s")
        end
        assert.is_true(c.is_open)
        local got, e
        for _ = 1, 100 do
          got, e = c:receive("*all", 100)
          if got then break end
          assert.are.equal("timeout", e)
        end
        assert.are.equal(p1, got)
        c:close()
      end)

      it("framing = \"" .. framing .. "\": a framed round trip through an echoing peer", function()
        local peer = H.peer({ "echo" })
        local c = tcp_client(peer, framing)
        for _, p in ipairs({ msg, bundle, Osc.Message("/x") }) do
          assert.are.equal(true, c:send(p))
          local got = c:receive("*all", 2000)
          local d = assert(Osc.from_binary_data(got))
          assert.are.equal(p.binary_data, d.binary_data)
          assert.are.equal(tostring(p), tostring(d))
        end
        c:close()
      end)
    end

    for _, case in ipairs({
      { "slip", "c0dbff2f61c0", "bad OSC frame" },   -- bad escape
      { "size", "7fffffff2f610000", "bad OSC frame" }, -- larger than max_receive_size
      -- The stream ends inside a frame: that error, not "disconnected".
      { "size", "0000000c2f61", "bad OSC frame: stream ended inside a frame (6 bytes)" },
      { "slip", "c02f61", "bad OSC frame: stream ended inside a frame (2 bytes)" },
    }) do
      it("framing = \"" .. case[1] .. "\": a broken frame (" .. case[2] .. ") is an error that closes the client", function()
        local peer = H.peer({ "sendhex:" .. case[2], "sleep:100", "close", "hold" })
        local c = tcp_client(peer, case[1])
        local r, e = c:receive("*all", 2000)
        assert.is_nil(r)
        assert.are.equal("string", type(e))
        assert.are_not.equal("timeout", e)
        assert.is_truthy(e:find(case[3], 1, true), e)
        assert.is_false(c.is_open)
        c:close()
      end)
    end

    it("an unknown framing is an argument error", function()
      local peer = H.peer({ "hold" })
      for _, v in ipairs({ "SLIP", "", "slip ", 1, true, {} }) do
        local e = H.assert_arg_error(5, "create_client", function()
          return rs.Socket.create_client("127.0.0.1", peer.port, TCP, 1000, { framing = v })
        end)
        assert.truthy(e:find("framing", 1, true), e)
      end
    end)
  end)

  describe("liblo interop", function()
    -- scripts/test installs liblo-tools: a missing tool is a failure, not a skip.
    it("has liblo's oscdump and oscsend", function()
      assert.is_true(have("oscdump") and have("oscsend") and have("timeout"),
        "liblo-tools (oscdump, oscsend) and timeout must be installed")
    end)

    -- `oscdump -L target` for at most 10 s; lines as they come.
    local dumps = {}
    local function oscdump(target)
      local h = assert(io.popen("echo $$; exec timeout 10 oscdump -L " .. target .. " 2>&1", "r"))
      local d = { handle = h, pid = tonumber(h:read("*l")) }
      dumps[#dumps + 1] = d
      -- the next line that is not a probe, without oscdump's timestamp
      -- ("eeb16768.59f64495 /x i 1") when it has one
      function d.line()
        while true do
          local l = h:read("*l")
          if l == nil then return nil end
          if not l:find("/probe", 1, true) then
            local ts, rest = l:match("^(%x+%.%x+) (.*)$")
            return rest or l, ts
          end
        end
      end
      return d
    end
    after_each(function()
      for i = #dumps, 1, -1 do
        os.execute("kill " .. dumps[i].pid .. " 2>/dev/null")
        dumps[i].handle:close()
        dumps[i] = nil
      end
    end)

    -- A UDP client to oscdump once it listens: until then a probe draws an
    -- ICMP port unreachable, after it nothing comes back.
    local function udp_to(port)
      local c = assert(rs.Socket.create_client("127.0.0.1", port, UDP, 1000))
      for _ = 1, 100 do
        c:send(Osc.Message("/probe"))
        local r, e = c:receive("*all", 50)
        assert.is_nil(r)
        if e == "timeout" then return c end
        H.sleep(50) -- refused comes back at once
      end
      error("oscdump did not start listening on UDP port " .. port)
    end

    local function tcp_to(port, framing)
      for _ = 1, 100 do
        local c = rs.Socket.create_client("127.0.0.1", port, TCP, 1000, { framing = framing })
        if c then return c end
        H.sleep(50)
      end
      error("oscdump did not start listening on TCP port " .. port)
    end

    -- every tag liblo 0.31 knows ('r' it refuses as "Invalid message")
    local every = Osc.Message("/every", {
      { tag = "i", value = -5 }, { tag = "f", value = 2.5 }, { tag = "s", value = "hello" },
      { tag = "b", value = "\0\1\255" }, { tag = "h", value = 2 ^ 40 }, { tag = "t", value = 2.5 },
      { tag = "d", value = 0.1 }, { tag = "S", value = "sym" }, { tag = "c", value = "a" },
      { tag = "m", value = 0x00903c7f }, { tag = "T" }, { tag = "F" }, { tag = "N" }, { tag = "I" },
    })
    local function check_every(line)
      assert.truthy(line, "oscdump printed nothing")
      assert.truthy(line:find('/every ifsbhtdScmTFNI -5 2.500000 "hello" ', 1, true), line)
      assert.truthy(line:find("1099511627776 00000002.80000000 0.100000 'sym 'a' MIDI [0x00 0x90 0x3c 0x7f] #T #F Nil Infinitum", 1, true), line)
    end

    it("oscdump (UDP) reads our messages with every tag, and bundles with their timetag", function()
      local port = H.free_port(true)
      local d = oscdump(port)
      local c = udp_to(port)
      assert.are.equal(true, c:send(every))
      check_every((d.line()))
      assert.are.equal(true, c:send(Osc.Bundle(2.5, { Osc.Message("/a", { { tag = "i", value = 1 } }), Osc.Message("/b") })))
      local l, ts = d.line()
      assert.are.equal("/a i 1", l)
      assert.are.equal("00000002.80000000", ts)
      l, ts = d.line()
      assert.are.equal("/b", (l:gsub("%s+$", "")))
      assert.are.equal("00000002.80000000", ts)
      c:close()
    end)

    for _, framing in ipairs({ "size", "slip" }) do
      it("oscdump (TCP) reads our messages and bundles with framing \"" .. framing .. "\"", function()
        local port = H.free_port()
        local d = oscdump("osc.tcp://:" .. port)
        local c = tcp_to(port, framing)
        assert.are.equal(true, c:send(every))
        check_every((d.line()))
        assert.are.equal(true, c:send(Osc.Bundle(1, Osc.Message("/in/bundle", { { tag = "s", value = "x" } }))))
        local l, ts = d.line()
        assert.are.equal('/in/bundle s "x"', l)
        assert.are.equal("00000001.00000000", ts)
        assert.are.equal(true, c:send(Osc.Message("/last", { { tag = "i", value = 3 } })))
        assert.are.equal("/last i 3", (d.line()))
        c:close()
      end)
    end

    it("oscsend's bytes decode with from_binary_data (every tag oscsend has)", function()
      local h = assert(io.popen("timeout 5 oscsend - /from/liblo ihfdsScmTFN 7 -9000000000 2.5 0.125 hi sym z 00903c7f", "r"))
      local bytes = h:read("*a")
      h:close()
      local m = assert(Osc.from_binary_data(bytes))
      assert.are.equal("/from/liblo", m.pattern)
      local want = {
        { "i", 7 }, { "h", -9000000000 }, { "f", 2.5 }, { "d", 0.125 }, { "s", "hi" }, { "S", "sym" },
        { "c", "z" }, { "m", 0x00903c7f }, { "T", true }, { "F", false }, { "N", nil },
      }
      local a = m.arguments
      assert.are.equal(#want, #a)
      for i, w in ipairs(want) do
        assert.are.equal(w[1], a[i].tag)
        assert.are.equal(w[2], a[i].value, "argument " .. i)
      end
      -- and it takes them back byte for byte
      assert.are.equal(bytes, Osc.Message(m.pattern, a).binary_data)
    end)

    it("oscsend over UDP: the datagram decodes", function()
      local peer = H.peer({ "udp_recv", "hold" }, { udp = true })
      assert.is_true(run_ok("timeout 5 oscsend 127.0.0.1 " .. peer.port .. " /net is 42 fromnet"))
      local m = assert(Osc.from_binary_data(peer:data()))
      assert.are.equal('/net ,is 42 "fromnet"', tostring(m))
    end)
  end)
end)
