-- UDP clients: connected sockets, datagram boundaries for *all, *line and n
-- across datagrams, oversized datagrams, ICMP port unreachable, and never
-- "disconnected".
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

describe("UDP client", function()
  local rs = H.rs()
  after_each(H.cleanup)

  -- a UDP peer that first learns the client's address from a "hi" datagram
  local function udp_peer(steps, opts)
    local all = { "udp_recv" }
    for _, s in ipairs(steps) do all[#all + 1] = s end
    opts = opts or {}
    opts.udp = true
    local peer = H.peer(all, opts)
    local c = H.connect(peer, { udp = true })
    assert.are.equal(true, c:send("hi"))
    assert.are.equal("hi", peer:data())
    return c, peer
  end

  it("sends one datagram per send call", function()
    local peer = H.peer({ "udp_recv", "udp_recv", "hold" }, { udp = true })
    local c = H.connect(peer, { udp = true })
    assert.are.equal(true, c:send("first"))
    assert.are.equal(true, c:send("second\0\255"))
    assert.are.equal("first", peer:data())
    assert.are.equal("second\0\255", peer:data())
    c:close()
  end)

  it("*all returns one whole datagram per call", function()
    local c = udp_peer({ "udp_send:abc", "udp_send:defg", "udp_send:h", "hold" })
    H.sleep(200) -- all three are queued now
    assert.are.equal("abc", c:receive("*all", 2000))
    assert.are.equal("defg", c:receive("*all", 2000))
    assert.are.equal("h", c:receive("*all", 2000))
    c:close()
  end)

  it("*all returns the rest of the current datagram after a partial read", function()
    local c = udp_peer({ "udp_send:hello world", "udp_send:next", "hold" })
    H.sleep(200)
    assert.are.equal("hello", c:receive(5, 2000))
    assert.are.equal(" world", c:receive("*all", 2000))
    assert.are.equal("next", c:receive("*all", 2000))
    c:close()
  end)

  it("*line reads across datagrams in arrival order", function()
    local c = udp_peer({ "udp_send:ab", "udp_send:c\\nde", "udp_send:f\\r\\n", "hold" })
    assert.are.equal("abc", c:receive("*line", 2000))
    assert.are.equal("def", c:receive("*line", 2000))
    c:close()
  end)

  it("n bytes read across datagrams in arrival order", function()
    local c = udp_peer({ "udp_send:12", "udp_send:345", "udp_send:6789", "hold" })
    assert.are.equal("1234", c:receive(4, 2000))
    assert.are.equal("5", c:receive("*all", 2000)) -- rest of the 2nd datagram
    assert.are.equal("6789", c:receive(4, 2000))
    c:close()
  end)

  it("keeps a datagram's binary bytes unchanged", function()
    local c = udp_peer({ "udp_send:\\x00\\x01\\xff\\x80\\r\\n", "hold" })
    assert.are.equal("\0\1\255\128\r\n", c:receive("*all", 2000))
    c:close()
  end)

  it("receives a large datagram (60000 bytes) whole", function()
    local c = udp_peer({ "udp_sendfill:60000:u", "hold" })
    local s = c:receive("*all", 2000)
    assert.are.equal(60000, #s)
    c:close()
  end)

  it("returns nil, \"timeout\" with nothing pending (timeout 0 at once, 200 ms waits)", function()
    local c = udp_peer({ "hold" })
    local elapsed, s, e = H.timed(c.receive, c, "*all", 0)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(elapsed < 0.05)
    elapsed, s, e = H.timed(c.receive, c, "*line", 200)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(elapsed >= 0.18 and elapsed < 1)
    assert.is_true(c.is_open)
    c:close()
  end)

  it("returns false, message for an oversized datagram (70000 bytes), sends nothing and closes", function()
    local peer = H.peer({ "udp_recv", "hold" }, { udp = true })
    local c = H.connect(peer, { udp = true })
    local ok, e = c:send(string.rep("o", 70000))
    assert.are.equal(false, ok)
    assert.is_string(e)
    assert.is_truthy(e:find("too large", 1, true), e)
    -- SEMANTICS: is_open is false after any non-timeout send error
    assert.is_false(c.is_open)
    H.assert_closed_error(function() return c:send("small") end)
    c:close()
  end)

  it("reports ICMP port unreachable as an error message; the socket stays open", function()
    local port = H.free_port(true)
    local c = assert(rs.Socket.create_client("127.0.0.1", port, rs.Socket.PROTOCOL_UDP, 1000))
    local e
    for _ = 1, 5 do
      local ok, se = c:send("anyone?")
      if not ok then e = se break end
      local s, re = c:receive("*all", 300)
      assert.is_nil(s)
      if re ~= "timeout" then e = re break end
    end
    assert.is_string(e, "no error reported for an unreachable UDP port")
    assert.are_not.equal("timeout", e)
    assert.are_not.equal("disconnected", e)
    assert.is_true(c.is_open)
    -- usable afterwards: a timeout-0 poll returns normally
    local s2, e2 = c:receive("*all", 0)
    assert.is_nil(s2)
    assert.are_not.equal("disconnected", e2)
    assert.is_true(c.is_open)
    c:close()
  end)

  it("never returns \"disconnected\" when the peer went away", function()
    local c, peer = udp_peer({ "udp_send:last", "exit" })
    assert.are.equal("last", c:receive("*all", 2000))
    H.sleep(100)
    for _ = 1, 3 do
      local s, e = c:receive("*all", 100)
      assert.is_nil(s)
      assert.are_not.equal("disconnected", e)
      assert.is_true(c.is_open)
      c:send("still there?")
    end
    c:close()
  end)

  it("close() works and then receive/send raise \"socket is closed\"", function()
    local c = udp_peer({ "hold" })
    c:close()
    assert.are.equal(false, c.is_open)
    H.assert_closed_error(c.receive, c, "*all", 0)
    H.assert_closed_error(c.send, c, "x")
  end)
end)
