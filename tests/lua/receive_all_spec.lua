-- receive("*all") / "*a": buffer plus pending, never "", bounded per call,
-- end of stream.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

describe("receive *all", function()
  after_each(H.cleanup)

  it("returns what is pending", function()
    local c = H.connect(H.peer({ "send:some data", "hold" }))
    H.sleep(100)
    assert.are.equal("some data", c:receive("*all", 1000))
    c:close()
  end)

  it("accepts the alias *a", function()
    local c = H.connect(H.peer({ "send:abc", "hold" }))
    assert.are.equal("abc", c:receive("*a", 2000))
    c:close()
  end)

  it("returns the internal buffer plus what the kernel has pending", function()
    local p = H.peer({ "send:line\\nbuffered", "sleep:100", "send:+pending", "print:sent", "hold" })
    local c = H.connect(p)
    assert.are.equal("line", c:receive("*line", 2000)) -- "buffered" is now in our buffer
    p:expect("sent")
    H.sleep(100)                                        -- "+pending" is in the kernel
    local got = c:receive("*all", 0)
    assert.are.equal("buffered+pending", got)
    c:close()
  end)

  it("returns buffered data with timeout 0 without waiting", function()
    local c = H.connect(H.peer({ "send:x\\nrest", "hold" }))
    assert.are.equal("x", c:receive("*line", 2000))
    local elapsed, s = H.timed(c.receive, c, "*all", 0)
    assert.are.equal("rest", s)
    assert.is_true(elapsed < 0.05)
    c:close()
  end)

  it("never returns \"\": nil, \"timeout\" at once when nothing is there (timeout 0)", function()
    local c = H.connect(H.peer({ "hold" }))
    local elapsed, s, e = H.timed(c.receive, c, "*all", 0)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(elapsed < 0.05, "timeout 0 waited " .. elapsed)
    assert.is_true(c.is_open)
    c:close()
  end)

  it("never returns \"\" after a line consumed the whole buffer", function()
    local c = H.connect(H.peer({ "send:only\\n", "hold" }))
    assert.are.equal("only", c:receive("*line", 2000))
    local s, e = c:receive("*all", 100)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    c:close()
  end)

  it("waits up to timeout_ms for the first bytes, then returns those", function()
    -- The peer's pause starts once it has accepted, so after t0.
    local peer = H.peer({ "accept", "sleep:200", "send:first", "sleep:1000", "send:second", "hold" })
    local t0 = H.now()
    local c = H.connect(peer)
    local s = c:receive("*all", 3000)
    local elapsed = H.now() - t0
    assert.are.equal("first", s)
    assert.is_true(elapsed >= 0.15 and elapsed < 1.0, "returned after " .. elapsed)
    c:close()
  end)

  it("waits about timeout_ms and returns nil, \"timeout\" when nothing comes", function()
    local c = H.connect(H.peer({ "hold" }))
    local elapsed, s, e = H.timed(c.receive, c, "*all", 250)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(elapsed >= 0.23 and elapsed < 1.0, "returned after " .. elapsed)
    c:close()
  end)

  it("returns binary data unchanged", function()
    local c = H.connect(H.peer({ "sendrange:512", "hold" }))
    local got = ""
    for _ = 1, 50 do
      if #got >= 512 then break end
      got = got .. assert(c:receive("*all", 2000))
    end
    assert.are.equal(H.range_bytes(512), got)
    c:close()
  end)

  it("returns what is left at end of stream, then nil, \"disconnected\"", function()
    local c = H.connect(H.peer({ "send:tail", "close" }))
    H.sleep(200)
    assert.are.equal("tail", c:receive("*all", 2000))
    local s, e = c:receive("*all", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
    H.assert_closed_error(c.receive, c, "*all", 0)
  end)

  it("returns nil, \"disconnected\" for a peer that closed without sending", function()
    local c = H.connect(H.peer({ "close" }))
    local s, e = c:receive("*all", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
  end)

  -- SEMANTICS: one call returns at most a bounded amount, documented, at
  -- least 64 KiB and at most "a few MiB"; asserted here as <= 8 MiB.
  it("returns a bounded amount per call (>= 64 KiB when more is there, <= 8 MiB)", function()
    local n = 12 * 1024 * 1024
    local c = H.connect(H.peer({ "sendfill:" .. n .. ":y", "hold" }, { lifetime = 30 }))
    -- let the line reader pull everything into the client's buffer
    assert.is_nil(c:receive("*line", 300))
    local total, calls, biggest = 0, 0, 0
    while total < n and calls < 10000 do
      local s, e = c:receive("*all", 2000)
      assert.is_not_nil(s, e)
      assert.is_true(#s <= 8 * 1024 * 1024, "one *all call returned " .. #s .. " bytes")
      biggest = math.max(biggest, #s)
      total, calls = total + #s, calls + 1
    end
    assert.are.equal(n, total)
    assert.is_true(biggest >= 64 * 1024, "largest *all was only " .. biggest .. " bytes")
    c:close()
  end)
  -- Renoise's "*all" reads "all pending data"; a tool polls it once per
  -- idle tick (Renoise's HTTP library does), so 64 KiB a call would hold a
  -- download to 64 KiB a tick. A zero-timeout poll 5 ms or more after the
  -- last one reads all that is pending, up to all_chunk_size (1 MiB by
  -- default).
  -- Polls c with receive("*all", 0) every 10 ms until the end of the
  -- stream of y's; returns the bytes and the largest call.
  local function poll_every_10_ms(c)
    local total, polls, biggest = 0, 0, 0
    while polls < 5000 do
      polls = polls + 1
      H.sleep(10)
      local s, e = c:receive("*all", 0)
      if not s then
        if e == "disconnected" then break end
        assert.are.equal("timeout", e)
      else
        assert.is_nil(s:find("[^y]"))
        biggest = math.max(biggest, #s)
        total = total + #s
      end
    end
    return total, biggest
  end

  it("gives a poller that falls behind its sender chunks up to 1 MiB", function()
    local n = 16 * 1024 * 1024
    local c = H.connect(H.peer({ "sendfill:" .. n .. ":y", "close" }, { lifetime = 30 }))
    local total, biggest = poll_every_10_ms(c)
    assert.are.equal(n, total)
    assert.is_true(biggest > 64 * 1024, "largest *all was only " .. biggest .. " bytes")
    assert.is_true(biggest <= 1024 * 1024, "one *all call returned " .. biggest .. " bytes")
  end)

  it("keeps to the all_chunk_size option when polling behind its sender", function()
    local n = 4 * 1024 * 1024
    local c = H.connect(H.peer({ "sendfill:" .. n .. ":y", "close" }, { lifetime = 30 }),
      { options = { all_chunk_size = 65536 } })
    local total, biggest = poll_every_10_ms(c)
    assert.are.equal(n, total)
    assert.are.equal(65536, biggest)
  end)
end)
