-- create_client: defaults, resolution, and the failures it *returns*
-- (refused, unknown host, connect timeout) as nil, message.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

describe("create_client", function()
  local rs = H.rs()
  local S = rs.Socket
  after_each(H.cleanup)

  it("connects with only address and port (default protocol is TCP)", function()
    local peer = H.peer({ "send:tcp\\n", "hold" })
    local c, e = S.create_client("127.0.0.1", peer.port)
    assert.is_nil(e)
    assert.is_not_nil(c)
    assert.is_true(c.is_open)
    -- a TCP accept happened on the peer: only TCP can do that
    assert.are.equal(tostring(c.local_port), peer:expect("accepted"):match("(%d+)$"))
    assert.are.equal("tcp", c:receive("*line", 2000))
    c:close()
  end)

  it("accepts PROTOCOL_TCP explicitly", function()
    local peer = H.peer({ "send:x", "hold" })
    local c = S.create_client("127.0.0.1", peer.port, S.PROTOCOL_TCP)
    assert.is_not_nil(c)
    assert.are.equal("x", c:receive(1, 2000))
    c:close()
  end)

  it("accepts PROTOCOL_UDP and makes a connected UDP client", function()
    local peer = H.peer({ "udp_recv", "udp_send:pong", "hold" }, { udp = true })
    local c = S.create_client("127.0.0.1", peer.port, S.PROTOCOL_UDP)
    assert.is_not_nil(c)
    assert.is_true(c:send("ping"))
    assert.are.equal("ping", peer:data())
    assert.are.equal("pong", c:receive("*all", 2000))
    c:close()
  end)

  it("resolves a host name (localhost); the peer address is numeric", function()
    local peer = H.peer({ "hold" })
    local c, e = S.create_client("localhost", peer.port, S.PROTOCOL_TCP, 2000)
    assert.is_not_nil(c, e)
    assert.are.equal("127.0.0.1", c.peer_address)
    assert.are.equal(peer.port, c.peer_port)
    c:close()
  end)

  it("connects to an IPv6 literal ::1", function()
    local peer = H.peer({ "send:six\\n", "hold" }, { ipv6 = true })
    local c, e = S.create_client("::1", peer.port, S.PROTOCOL_TCP, 2000)
    assert.is_not_nil(c, e)
    assert.are.equal("::1", c.peer_address)
    assert.are.equal("::1", c.local_address)
    assert.are.equal("six", c:receive("*l", 2000))
    c:close()
  end)

  it("returns nil, message when the connection is refused", function()
    local port = H.free_port()
    local elapsed, c, e = H.timed(S.create_client, "127.0.0.1", port, S.PROTOCOL_TCP, 2000)
    assert.is_nil(c)
    assert.is_string(e)
    assert.is_truthy(e:lower():find("refused"), "message should say refused: " .. tostring(e))
    assert.is_true(elapsed < 1.5, "refusal should be quick, took " .. elapsed)
  end)

  it("returns nil, message for an unknown host (.invalid)", function()
    local elapsed, c, e = H.timed(S.create_client, "no-such-host.invalid", 80, S.PROTOCOL_TCP, 1000)
    assert.is_nil(c)
    assert.is_string(e)
    assert.is_true(#e > 0)
    assert.is_truthy(e:find("no-such-host.invalid", 1, true) or e:lower():find("host"),
      "message should name the host: " .. e)
    assert.is_true(elapsed < 10, "resolution failure took " .. elapsed)
  end)

  it("returns nil, message for a name no host can have (NUL, bytes that are not UTF-8)", function()
    for _, name in ipairs({ "127.0.0.1\0x", "\255\254", "h\192st" }) do
      for _, proto in ipairs({ S.PROTOCOL_TCP, S.PROTOCOL_UDP }) do
        local c, e = S.create_client(name, 80, proto, 1000)
        assert.is_nil(c)
        assert.is_truthy(e:find("^unknown host '"), e)
      end
    end
    -- The bytes that are not UTF-8 are shown as escapes, not lost.
    local _, e = S.create_client("h\192st", 80, S.PROTOCOL_TCP, 1000)
    assert.are.equal("unknown host 'h\\xc0st'", e)
  end)

  it("returns nil, message for brackets around anything but an IPv6 address", function()
    -- "[::1]" is an IPv6 literal written next to a port; "[127.0.0.1]" is
    -- no address (the system resolver and URLs refuse it too) and must not
    -- be taken for 127.0.0.1.
    local server = S.create_server("127.0.0.1", 0)
    for _, name in ipairs({ "[127.0.0.1]", "[localhost]" }) do
      for _, proto in ipairs({ S.PROTOCOL_TCP, S.PROTOCOL_UDP }) do
        local c, e = S.create_client(name, server.local_port, proto, 1000)
        assert.is_nil(c)
        assert.are.equal("unknown host '" .. name .. "' (brackets enclose only an IPv6 address)", e)
      end
      local s, e = S.create_server(name, 0)
      assert.is_nil(s)
      assert.is_truthy(e:find("^unknown host '%[" ), e)
    end
    server:close()
  end)

  it("returns nil, message for an unknown host with UDP too", function()
    local c, e = S.create_client("no-such-host.invalid", 80, S.PROTOCOL_UDP, 1000)
    assert.is_nil(c)
    assert.is_string(e)
  end)

  it("out of file descriptors: returns a message that says so, for a name too", function()
    local out = H.scenario("out_of_descriptors.lua", nil, "ulimit -n 32 &&")
    local n = 0
    for host, c, e in out:gmatch("([^|\n]+)|([^|\n]+)|([^\n]*)") do
      n = n + 1
      assert.are.equal("nil", c, out)
      assert.is_truthy(e:find("Too many open files", 1, true), out)
      assert.is_truthy(e:find(host, 1, true), out) -- names what it was connecting to
      assert.is_falsy(e:find("unknown host", 1, true), out)
    end
    assert.are.equal(4, n, out)
  end)

  it("returns nil, message after the connect timeout (given 300 ms)", function()
    local target = H.backlog_target()
    local elapsed, c, e = H.timed(S.create_client, "127.0.0.1", target.port, S.PROTOCOL_TCP, 300)
    assert.is_nil(c)
    assert.is_string(e)
    assert.is_truthy(e:lower():find("time"), "message should say timeout: " .. e)
    assert.is_true(elapsed >= 0.25, "gave up too early: " .. elapsed)
    assert.is_true(elapsed < 1.5, "connect timeout of 300 ms took " .. elapsed)
  end)

  it("uses a default connect timeout of 1000 ms", function()
    local target = H.backlog_target()
    local elapsed, c, e = H.timed(S.create_client, "127.0.0.1", target.port)
    assert.is_nil(c)
    assert.is_string(e)
    assert.is_true(elapsed >= 0.9, "default timeout shorter than 1000 ms: " .. elapsed)
    assert.is_true(elapsed < 2.5, "default timeout much longer than 1000 ms: " .. elapsed)
  end)

  it("accepts an explicit nil protocol and timeout (defaults)", function()
    local peer = H.peer({ "hold" })
    local c = S.create_client("127.0.0.1", peer.port, nil, nil)
    assert.is_not_nil(c)
    assert.is_true(c.is_open)
    c:close()
  end)

  it("each client is a separate connection", function()
    local p1 = H.peer({ "send:one\\n", "hold" })
    local p2 = H.peer({ "send:two\\n", "hold" })
    local c1 = H.connect(p1)
    local c2 = H.connect(p2)
    assert.are.equal("two", c2:receive("*l", 2000))
    assert.are.equal("one", c1:receive("*l", 2000))
    c1:close()
    assert.is_true(c2.is_open)
    c2:close()
  end)
end)
