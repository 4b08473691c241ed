-- send(message) over TCP: bytes arrive unchanged; a vanished peer gives
-- false, "disconnected" without killing the process (no SIGPIPE); a peer
-- that never reads makes send fail after a bounded time.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

-- Send small messages until send fails (the first sends after a peer
-- closed can still succeed: TCP only learns of the close from the RST).
local function send_until_failure(c, tries)
  for _ = 1, tries or 50 do
    local ok, e = c:send("ping\n")
    if not ok then return ok, e end
    assert.are.equal(true, ok)
    H.sleep(20)
  end
  return true
end

describe("send over TCP", function()
  after_each(H.cleanup)

  -- PITFALLS 1: SIGPIPE must not kill the interpreter. This test comes
  -- first in this file: the in-process tests below die with the suite.
  -- This runs a child
  -- interpreter of the same kind (RS_LUA, set by run.sh) so that a death
  -- by SIGPIPE is reported as a test failure instead of killing the suite.
  it("does not kill the interpreter with SIGPIPE (child process)", function()
    local peer = H.peer({ "close", "sleep:5000" })
    local script = [[
      local system = require("system")
      local rs = require("renoise_socket")
      local c = assert(rs.Socket.create_client("127.0.0.1", tonumber(arg[1]), 1, 2000))
      system.sleep(0.2)
      for i = 1, 50 do
        local ok, e = c:send(string.rep("x", 1000))
        if not ok then print("result " .. tostring(e)) break end
        system.sleep(0.02)
      end
      print("survived")
    ]]
    local f = os.tmpname()
    local fh = assert(io.open(f, "w")); fh:write(script); fh:close()
    local cmd = H.shell_quote(H.interpreter()) .. " " .. H.shell_quote(f) .. " " .. peer.port
      .. " 2>&1; echo \"exit=$?\""
    local h = assert(io.popen(cmd, "r"))
    local out = h:read("*a")
    h:close()
    os.remove(f)
    assert.is_truthy(out:find("exit=0", 1, true), "child died (141 = SIGPIPE): " .. out)
    assert.is_truthy(out:find("result disconnected", 1, true), "child output: " .. out)
    assert.is_truthy(out:find("survived", 1, true), "child output: " .. out)
  end)

  it("returns true and the peer receives the bytes", function()
    local peer = H.peer({ "recv:6", "hold" })
    local c = H.connect(peer)
    local ok, e = c:send("hello\n")
    assert.are.equal(true, ok)
    assert.is_nil(e)
    assert.are.equal("hello\n", peer:data())
    c:close()
  end)

  it("sends binary bytes unchanged (NUL, >= 0x80)", function()
    local msg = H.range_bytes(256) .. "\0\0\255"
    local peer = H.peer({ "recv:" .. #msg, "hold" })
    local c = H.connect(peer)
    assert.are.equal(true, c:send(msg))
    assert.are.equal(msg, peer:data())
    c:close()
  end)

  it("writes all bytes of a large message (4 MiB)", function()
    local n = 4 * 1024 * 1024
    local peer = H.peer({ "wait_eof" }, { lifetime = 20 })
    local c = H.connect(peer)
    assert.are.equal(true, c:send(string.rep("q", n)))
    c:close()
    assert.are.equal(tostring(n), peer:expect("eof"))
  end)

  it("works for request/response (echo)", function()
    local peer = H.peer({ "echo" })
    local c = H.connect(peer)
    assert.is_true(c:send("one\r\ntwo\n"))
    assert.are.equal("one", c:receive("*l", 2000))
    assert.are.equal("two", c:receive("*l", 2000))
    c:close()
    assert.is_not_nil(peer:expect("eof"))
  end)

  -- A client of a peer that ran `steps` and closed, sent to until send
  -- says "disconnected": then it is closed for sending.
  local function sent_to_a_closed_peer(steps)
    steps[#steps + 1] = "close"
    steps[#steps + 1] = "print:closed"
    steps[#steps + 1] = "sleep:5000"
    local peer = H.peer(steps)
    local c = H.connect(peer)
    peer:expect("closed")
    H.sleep(50)
    local ok, e = send_until_failure(c)
    assert.are.equal(false, ok)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
    H.assert_closed_error(c.send, c, "more")
    return c
  end

  it("returns false, \"disconnected\" to a peer that closed; then is_open is false", function()
    local c = sent_to_a_closed_peer({})
    -- nothing of the peer's was unread: the next receive reports the end,
    -- as it does after unread bytes, then the client is closed
    assert.are.same({ nil, "disconnected" }, { c:receive("*line", 0) })
    H.assert_closed_error(c.receive, c, "*line", 0)
  end)

  it("keeps what the peer sent before it closed readable after send found it gone", function()
    local c = sent_to_a_closed_peer({ "send:HTTP/1.0 413 Too Large\\r\\n\\r\\nno" })
    -- SEMANTICS: every byte the peer sent is delivered by some receive
    assert.are.equal("HTTP/1.0 413 Too Large", c:receive("*line", 2000))
    assert.are.equal("", c:receive("*line", 2000))
    assert.are.equal("no", c:receive("*all", 2000))
    local d, e2 = c:receive("*all", 2000)
    assert.is_nil(d)
    assert.are.equal("disconnected", e2)
    H.assert_closed_error(c.receive, c, "*all", 0)
  end)

  it("returns false, \"disconnected\" to a peer that reset the connection", function()
    local peer = H.peer({ "accept", "sleep:100", "reset", "print:reset", "sleep:5000" })
    local c = H.connect(peer)
    peer:expect("reset")
    H.sleep(50)
    local ok, e = send_until_failure(c)
    assert.are.equal(false, ok)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
    assert.are.same({ nil, "disconnected" }, { c:receive(4, 1000) })
    H.assert_closed_error(c.receive, c, 4, 0)
  end)

  it("does not kill this interpreter with SIGPIPE (in process)", function()
    local peer = H.peer({ "close", "sleep:5000" })
    local c = H.connect(peer)
    H.sleep(200)
    for _ = 1, 50 do
      local ok = c:send(string.rep("x", 1000))
      if not ok then break end
      H.sleep(20)
    end
    assert.are.equal(false, c.is_open) -- and we are still alive to check it
  end)

  -- SLOW: relies on the default send timeout (10 s without progress). When
  -- the Lua API to set the send timeout exists, set it to ~500 ms here and
  -- tighten the bound below. Skip with RS_SKIP_SLOW=1 (run.sh passes
  -- --exclude-tags=slow then).
  it("fails with an error instead of hanging when the peer never reads #slow", function()
    -- The default send timeout: 10 s without progress.
    local peer = H.peer({ "never_read" }, { rcvbuf = 4096, lifetime = 40 })
    local c = H.connect(peer)
    local big = string.rep("n", 64 * 1024 * 1024)
    local elapsed, ok, e = H.timed(c.send, c, big)
    assert.are.equal(false, ok)
    assert.is_string(e)
    assert.are_not.equal("disconnected", e)
    assert.is_true(elapsed >= 9.5, "gave up after " .. elapsed .. " s; default send timeout is 10 s")
    assert.is_true(elapsed < 20, "send took " .. elapsed .. " s with a 10 s send timeout")
    -- a send that failed part-way closes the socket
    assert.are.equal(false, c.is_open)
  end)

  it("succeeds to a peer that reads slowly but never stops", function()
    -- Every byte the peer takes is progress. The kernel lets a writer with
    -- a full send buffer (autotuned to about 4 MiB) go on only once a third
    -- of it has drained: at 16 KiB every 10 ms that takes this reader
    -- about 0.8 s, far past the send timeout, yet it never stops reading.
    local total = 5 * 1024 * 1024
    local peer = H.peer({ "slow_read:16384:10" }, { rcvbuf = 16384, lifetime = 40 })
    local c = H.connect(peer, { options = { send_timeout_ms = 200 } })
    local ok, e = c:send(string.rep("s", total))
    assert.are.equal(true, ok, e)
    c:close()
    assert.are.equal(tostring(total), peer:expect("eof"))
  end)

  it("fails after send_timeout_ms without progress when the peer never reads", function()
    local peer = H.peer({ "never_read" }, { rcvbuf = 4096, lifetime = 20 })
    local c = H.connect(peer, { options = { send_timeout_ms = 300 } })
    local big = string.rep("n", 64 * 1024 * 1024)
    local elapsed, ok, e = H.timed(c.send, c, big)
    assert.are.equal(false, ok)
    assert.is_truthy(e:find("stalled"), e)
    assert.is_true(elapsed >= 0.25, "gave up after " .. elapsed .. " s")
    assert.is_true(elapsed < 5, "send took " .. elapsed .. " s with a 300 ms send timeout")
    assert.are.equal(false, c.is_open)
  end)

  it("takes a send_timeout_ms under a nanosecond as the shortest limit, not as none", function()
    local peer = H.peer({ "never_read" }, { rcvbuf = 4096, lifetime = 20 })
    local c = H.connect(peer, { options = { send_timeout_ms = 1e-7 } })
    local big = string.rep("n", 64 * 1024 * 1024)
    local elapsed, ok, e = H.timed(c.send, c, big)
    assert.are.equal(false, ok)
    assert.is_truthy(e:find("stalled"), e)
    assert.is_true(elapsed < 5, "send took " .. elapsed .. " s with a 1e-7 ms send timeout")
  end)
end)

describe("peer disconnect seen by receive", function()
  after_each(H.cleanup)

  it("returns nil, \"disconnected\" on a reset; is_open false; receive then raises", function()
    local c = H.connect(H.peer({ "accept", "sleep:100", "reset" }))
    local s, e = c:receive("*line", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
    H.assert_closed_error(c.receive, c, "*line", 0)
    H.assert_closed_error(c.send, c, "x")
  end)

  it("wakes a waiting receive when the peer resets during the wait", function()
    local c = H.connect(H.peer({ "sleep:200", "reset" }))
    local elapsed, s, e = H.timed(c.receive, c, 10, 3000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.is_true(elapsed < 2, "noticed the reset after " .. elapsed)
  end)

  it("wakes a waiting receive when the peer closes during the wait", function()
    local c = H.connect(H.peer({ "sleep:200", "close" }))
    local elapsed, s, e = H.timed(c.receive, c, "*all", 3000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.is_true(elapsed < 2)
  end)

  it("is seen with timeout 0 polling too", function()
    local c = H.connect(H.peer({ "close" }))
    local e
    for _ = 1, 100 do
      local s, err = c:receive("*all", 0)
      assert.is_nil(s)
      if err ~= "timeout" then e = err break end
      H.sleep(10)
    end
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
  end)
end)
