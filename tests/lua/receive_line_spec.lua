-- receive("*line") / "*l": terminators, empty lines, binary bytes, data kept
-- across timeouts, end of stream mid-line, "line too long".
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

describe("receive *line", function()
  after_each(H.cleanup)

  local function lines_of(c, n, mode)
    local got = {}
    for i = 1, n do
      local s, e = c:receive(mode or "*line", 2000)
      got[i] = s == nil and ("<nil:" .. tostring(e) .. ">") or s
    end
    return got
  end

  it("splits on \\n", function()
    local c = H.connect(H.peer({ "send:one\\ntwo\\nthree\\n", "hold" }))
    assert.are.same({ "one", "two", "three" }, lines_of(c, 3))
    c:close()
  end)

  it("accepts the alias *l", function()
    local c = H.connect(H.peer({ "send:alpha\\nbeta\\n", "hold" }))
    assert.are.same({ "alpha", "beta" }, lines_of(c, 2, "*l"))
    c:close()
  end)

  it("splits on \\r\\n without leaving \\r in the line", function()
    local c = H.connect(H.peer({ "send:one\\r\\ntwo\\r\\n", "hold" }))
    assert.are.same({ "one", "two" }, lines_of(c, 2))
    c:close()
  end)

  it("splits on a lone \\r", function()
    local c = H.connect(H.peer({ "send:one\\rtwo\\rthree\\n", "hold" }))
    assert.are.same({ "one", "two", "three" }, lines_of(c, 3))
    c:close()
  end)

  it("treats \\r\\r as two terminators (an empty line between)", function()
    local c = H.connect(H.peer({ "send:a\\r\\rb\\n", "hold" }))
    assert.are.same({ "a", "", "b" }, lines_of(c, 3))
    c:close()
  end)

  it("treats \\n\\r as two terminators", function()
    local c = H.connect(H.peer({ "send:a\\n\\rb\\n", "hold" }))
    assert.are.same({ "a", "", "b" }, lines_of(c, 3))
    c:close()
  end)

  it("returns empty lines as \"\"", function()
    local c = H.connect(H.peer({ "send:\\n\\r\\n\\nx\\n", "hold" }))
    assert.are.same({ "", "", "", "x" }, lines_of(c, 4))
    c:close()
  end)

  it("does not make an extra empty line of \\r\\n split across two sends", function()
    local c = H.connect(H.peer({ "send:first\\r", "sleep:300", "send:\\nsecond\\r\\n", "hold" }))
    assert.are.same({ "first", "second" }, lines_of(c, 2))
    c:close()
  end)

  it("drops the \\n of a split \\r\\n whichever mode reads next", function()
    for _, mode in ipairs({ "*all", 1 }) do
      local c = H.connect(H.peer({ "send:first\\r", "sleep:300", "send:\\nZ", "hold" }))
      assert.are.equal("first", c:receive("*line", 2000))
      assert.are.equal("Z", c:receive(mode, 2000))
      c:close()
    end
  end)

  it("does not make an extra empty line of \\r\\n split across a polling timeout", function()
    local c = H.connect(H.peer({ "send:first\\r", "sleep:300", "send:\\nsecond\\n", "hold" }))
    local got = {}
    local deadline = H.now() + 3
    while #got < 2 and H.now() < deadline do
      local s, e = c:receive("*line", 0)
      if s then got[#got + 1] = s else
        assert.are.equal("timeout", e)
        H.sleep(20)
      end
    end
    assert.are.same({ "first", "second" }, got)
    c:close()
  end)

  it("returns bytes as they are: NUL and bytes >= 0x80, no UTF-8 check", function()
    local c = H.connect(H.peer({ "sendhex:00ff80c3287f410a" .. "e282ac0d0a", "hold" }))
    assert.are.equal("\0\255\128\195\40\127\65", c:receive("*line", 2000))
    assert.are.equal("\226\130\172", c:receive("*line", 2000))
    c:close()
  end)

  it("returns nil, \"timeout\" at once with timeout 0 on an empty socket", function()
    local c = H.connect(H.peer({ "hold" }))
    local elapsed, s, e = H.timed(c.receive, c, "*line", 0)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(elapsed < 0.05, "timeout 0 waited " .. elapsed .. " s")
    assert.is_true(c.is_open)
    c:close()
  end)

  it("waits about timeout_ms before returning nil, \"timeout\"", function()
    local c = H.connect(H.peer({ "hold" }))
    local elapsed, s, e = H.timed(c.receive, c, "*line", 300)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(elapsed >= 0.28, "returned after " .. elapsed .. " s")
    assert.is_true(elapsed < 1.0, "returned after " .. elapsed .. " s")
    assert.is_true(c.is_open)
    c:close()
  end)

  it("returns a line that arrives before the timeout", function()
    local c = H.connect(H.peer({ "sleep:150", "send:late\\n", "hold" }))
    local elapsed, s = H.timed(c.receive, c, "*line", 2000)
    assert.are.equal("late", s)
    assert.is_true(elapsed < 1.5)
    c:close()
  end)

  it("waits without a deadline with timeout math.huge; a later timeout still holds", function()
    -- The peer's lifetime bounds the wait: a broken one ends in "disconnected".
    -- The peer's pause starts once it has accepted, so after t0: a pause
    -- before the accept would run while this process is still connecting.
    local peer = H.peer({ "accept", "sleep:150", "send:late\\n", "hold" })
    local t0 = H.now()
    local c = H.connect(peer)
    local s = c:receive("*line", math.huge)
    local elapsed = H.now() - t0
    assert.are.equal("late", s)
    assert.is_true(elapsed >= 0.14, "returned after " .. elapsed .. " s")
    local t, s2, e = H.timed(c.receive, c, "*line", 200)
    assert.is_nil(s2)
    assert.are.equal("timeout", e)
    assert.is_true(t >= 0.19 and t < 1.5, "returned after " .. t .. " s")
    c:close()
  end)

  it("keeps a partial line across a timeout (\"hel\", pause, \"lo\\n\")", function()
    local c = H.connect(H.peer({ "send:hel", "sleep:400", "send:lo\\n", "hold" }))
    local s, e = c:receive("*line", 100)
    assert.is_nil(s)
    assert.are.equal("timeout", e)
    assert.is_true(c.is_open)
    assert.are.equal("hello", c:receive("*line", 2000))
    c:close()
  end)

  it("keeps a partial line across many timeout-0 polls", function()
    local c = H.connect(H.peer({ "drip:abc\\n:60", "hold" }))
    local line
    for _ = 1, 200 do
      local s, e = c:receive("*l", 0)
      if s then line = s break end
      assert.are.equal("timeout", e)
      H.sleep(10)
    end
    assert.are.equal("abc", line)
    c:close()
  end)

  it("returns an unterminated last line at end of stream, then nil, \"disconnected\"", function()
    local c = H.connect(H.peer({ "send:full\\npartial", "close" }))
    assert.are.equal("full", c:receive("*line", 2000))
    assert.are.equal("partial", c:receive("*line", 2000))
    local s, e = c:receive("*line", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
    H.assert_closed_error(c.receive, c, "*line", 0)
  end)

  it("returns nil, \"disconnected\" at once when the stream ended on a terminator", function()
    local c = H.connect(H.peer({ "send:only\\n", "close" }))
    assert.are.equal("only", c:receive("*line", 2000))
    local s, e = c:receive("*line", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
  end)

  it("delivers everything before \"disconnected\" even when polled with timeout 0", function()
    local p = H.peer({ "send:a\\nb\\r\\nc", "close", "print:closed" })
    local c = H.connect(p)
    p:expect("closed")
    H.sleep(100) -- data and FIN are both pending now
    local got, e = {}, nil
    for _ = 1, 10 do
      local s, err = c:receive("*l", 0)
      if s then got[#got + 1] = s elseif err ~= "timeout" then e = err break end
    end
    assert.are.same({ "a", "b", "c" }, got)
    assert.are.equal("disconnected", e)
  end)

  it("mixes with n-bytes and *all on the same buffer", function()
    local c = H.connect(H.peer({ "send:head\\nXYZrest", "hold" }))
    assert.are.equal("head", c:receive("*line", 2000))
    assert.are.equal("XYZ", c:receive(3, 2000))
    assert.are.equal("rest", c:receive("*all", 2000))
    c:close()
  end)

  -- 16 MiB is the documented default maximum line length.
  it("returns nil, \"line too long\" past 16 MiB without a terminator; data stays buffered", function()
    local n = 16 * 1024 * 1024 + 100
    local c = H.connect(H.peer({ "sendfill:" .. n .. ":x", "hold" }, { lifetime = 30 }))
    local s, e = c:receive("*line", 10000)
    assert.is_nil(s)
    assert.are.equal("line too long", e)
    assert.is_true(c.is_open)
    local total, calls = 0, 0
    while total < n and calls < 10000 do
      local chunk, err = c:receive("*all", 2000)
      assert.is_not_nil(chunk, err)
      assert.is_nil(chunk:find("[^x]"))
      total = total + #chunk
      calls = calls + 1
    end
    assert.are.equal(n, total)
    c:close()
  end)

  it("returns nil, \"out of memory: ...\" when the buffer cannot grow (ulimit -v); socket and data stay", function()
    -- 400 MB without a terminator, to a process that may map 200 MB.
    local peer = H.peer({ "sendfill:400000000:x", "hold" }, { lifetime = 30 })
    local out, status = H.scenario("out_of_memory.lua", peer.port, "ulimit -v 200000 &&")
    assert.are.equal(0, status, out)
    local err, open, all, x = out:match("err=(.-) open=(%a+) all=(%d+) x=(%a+)")
    assert.is_truthy(err, out)
    assert.is_truthy(err:find("^out of memory: cannot grow the receive buffer to %d+ bytes$"), out)
    assert.are.equal("true", open, out)
    assert.are.equal(65536, tonumber(all), out)
    assert.are.equal("true", x, out)
  end)
end)
