-- close(), is_open after close, garbage collection closes the socket, and
-- Lua 5.4 <close> variables.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

-- Overwrite stale stack slots so a dead client is really unreachable.
local function scrub()
  local a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z
  return a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z
end

describe("close()", function()
  after_each(H.cleanup)

  it("closes the connection: the peer sees end of stream", function()
    local peer = H.peer({ "wait_eof" }, { lifetime = 5 })
    local c = H.connect(peer)
    assert.is_true(c:send("abc"))
    c:close()
    assert.are.equal("3", peer:expect("eof"))
  end)

  it("with bytes never read, still ends the stream (no reset): what was sent arrives whole", function()
    -- A socket closed with unread bytes would be reset, and what the
    -- system had yet to send (most of this 4 MiB, queued when send
    -- returned) would be dropped.
    local size = 4 * 1024 * 1024
    local peer = H.peer({ "send:never read", "sleep:300", "wait_end" }, { lifetime = 10 })
    local c = H.connect(peer)
    H.sleep(100)
    assert.is_true(c:send(string.rep("x", size)))
    c:close()
    assert.are.equal("eof " .. size, peer:expect("end"))
  end)

  it("releases the socket descriptor at once", function()
    local peer = H.peer({ "hold" })
    local before = H.sockets()
    local c = H.connect(peer)
    local mine = H.new_sockets(before, H.sockets())
    assert.are.equal(1, #mine, "expected exactly one new socket while connected")
    c:close()
    assert.is_nil(H.sockets()[mine[1]], "the client's socket is still open after close()")
  end)

  it("can be called any number of times", function()
    local c = H.connect(H.peer({ "hold" }))
    c:close()
    c:close()
    c:close()
    assert.are.equal(false, c.is_open)
  end)

  it("leaves is_open readable (false)", function()
    local c = H.connect(H.peer({ "hold" }))
    assert.are.equal(true, c.is_open)
    c:close()
    assert.are.equal(false, c.is_open)
  end)

  -- Renoise's own socket test (UnitTests/TestSocket.lua): read a whole
  -- HTTP/1.0 reply from a server that has closed, with receive(1024), then
  -- is_open is still true; the next receive ("*all") fails and only then
  -- is the client closed. The other order too.
  for _, order in ipairs({ { 1024, "*all" }, { "*all", 1024 } }) do
    it("is_open stays true after the peer closed, until a receive reports it ("
      .. order[1] .. " then " .. order[2] .. ")", function()
      local peer = H.peer({ "send:HTTP/1.0 200 OK\\r\\n\\r\\nbody", "print:sent", "close" })
      local c = H.connect(peer)
      peer:expect("sent")
      H.sleep(100) -- the close has arrived
      local m = c:receive(order[1], 500)
      assert.are.equal("HTTP/1.0 200 OK\r\n\r\nbody", m)
      assert.is_true(c.is_open)
      local none, e = c:receive(order[2], 500)
      assert.is_nil(none)
      assert.are.equal("disconnected", e)
      assert.is_false(c.is_open)
    end)
  end

  it("works after the peer disconnected", function()
    local c = H.connect(H.peer({ "close" }))
    local _, e = c:receive("*all", 2000)
    assert.are.equal("disconnected", e)
    c:close()
    c:close()
    assert.are.equal(false, c.is_open)
  end)

  it("drops buffered data: receive raises afterwards", function()
    local c = H.connect(H.peer({ "send:a\\nb\\n", "hold" }))
    assert.are.equal("a", c:receive("*l", 2000))
    c:close()
    H.assert_closed_error(function() return c:receive("*l", 0) end)
  end)
end)

describe("garbage collection", function()
  after_each(H.cleanup)

  it("keeps pace with sockets dropped without close: their descriptors do not pile up", function()
    -- The collector sees only the small userdata; each new socket tells it
    -- about what lies outside the Lua heap. Without that, 5000 dropped
    -- sockets left 2000 and more open at a time in this suite's heap
    -- (Lua 5.4, with full collections between: thousands, and hundreds of
    -- MB); with it, under 50 (how many depends on the heap's size).
    local S = H.rs().Socket
    local function count()
      local n = 0
      for _ in pairs(H.sockets()) do n = n + 1 end
      return n
    end
    collectgarbage("collect")
    local before = count()
    for _, make in ipairs({
      function() S.create_server("127.0.0.1", 0, S.PROTOCOL_UDP) end,
      function() S.create_client("127.0.0.1", 9, S.PROTOCOL_UDP) end,
    }) do
      local most = 0
      for i = 1, 5000 do
        make()
        if i % 250 == 0 then most = math.max(most, count() - before) end
      end
      assert.is_true(most <= 200, most .. " dropped sockets open at once")
    end
  end)

  it("frees all of a collected server's memory: none stays per server", function()
    -- Each server once left its event queue behind (56 bytes): 30,000
    -- servers, closed and collected, held 1.9 MB more than before.
    local S = H.rs().Socket
    local function rss_kib()
      local f = assert(io.open("/proc/self/statm"))
      local pages = f:read("*a"):match("^%d+ (%d+)")
      f:close()
      return tonumber(pages) * 4
    end
    local function round(n)
      for i = 1, n do
        assert(S.create_server("127.0.0.1", 0, S.PROTOCOL_UDP)):close()
        if i % 100 == 0 then collectgarbage("collect") end
      end
      collectgarbage("collect")
      collectgarbage("collect")
    end
    round(5000) -- the heap and the allocator settle first
    local before = rss_kib()
    round(30000)
    local grown = rss_kib() - before
    assert.is_true(grown < 512, grown .. " KiB more after 30,000 servers")
  end)

  it("closes an unreferenced client: the peer sees end of stream", function()
    local peer = H.peer({ "wait_eof" }, { lifetime = 5 })
    local c = H.connect(peer)
    assert.is_true(c:send("gc"))
    c = nil
    scrub()
    collectgarbage()
    collectgarbage()
    assert.are.equal("2", peer:expect("eof"))
  end)

  it("collects many clients without leaking descriptors", function()
    local peer = H.peer({ "accept_all" }, { lifetime = 60 })
    local before = H.sockets()
    for _ = 1, 200 do
      local c = H.connect(peer)
      c = nil
    end
    scrub()
    collectgarbage()
    collectgarbage()
    local leaked = H.new_sockets(before, H.sockets())
    assert.is_true(#leaked <= 2, #leaked .. " of 200 collected clients still hold a socket")
    local c = H.connect(peer)
    assert.is_true(c.is_open)
    c:close()
  end)

  it("does not break a client that was closed before being collected", function()
    local c = H.connect(H.peer({ "hold" }))
    c:close()
    c = nil
    scrub()
    collectgarbage()
    collectgarbage()
    assert.is_nil(c)
  end)
end)

describe("finalizers that use the client while it receives", function()
  after_each(H.cleanup)
  -- In Lua 5.1 and LuaJIT, making the string of a receive's result can run
  -- any finalizer, which may use the very client whose bytes are being
  -- copied. Run in a child interpreter (scenarios/), whose small heap makes
  -- the collector run often.
  local function scenario(act, read_ahead)
    local data = act == "slip-send" and "sendslip:400:600" or "sendlines:3000:2008"
    local peer = H.peer({ data, "sleep:5000" }, { lifetime = 30 })
    local out = H.scenario("finalizer_during_receive.lua",
      ("%d %s %d"):format(peer.port, act, read_ahead), nil, 60)
    local r = {}
    for k, v in out:gmatch("(%a+)=(%S+)") do r[k] = v end
    assert(r.intact, "the scenario failed: " .. out)
    return r, out
  end

  it("a receive from a finalizer runs before the line is taken or raises; the stream stays whole", function()
    for _, case in ipairs({ { "receive", 4194304 }, { "receive", 0 }, { "coroutine", 0 } }) do
      local r, out = scenario(case[1], case[2])
      assert.are.equal("true", r.intact, out)
      assert.are.equal("end", r.stop, out)
      assert.are.equal(tostring(3000 * 2009), r.bytes, out)
      assert.is_true(tonumber(r.nested) > 0, "no finalizer ran inside a receive: " .. out)
    end
  end)

  it("a finalizer's error out of a receive in a coroutine leaves the client usable there, loses no line, and close() closes at once", function()
    -- Lua 5.4 passes no finalizer error on (hit=0): there it reads all.
    -- Also with the error on the main thread and the rest read in a
    -- coroutine ("main-first"). Under LuaJIT, with the JIT off (the
    -- classic functions) and on (its fast path, read on the main thread),
    -- where the error's mark may be cleared by a call on another client
    -- ("jit-other").
    local hows = H.is_jit and { "", "main-first", "jit", "jit-other" } or { "", "main-first" }
    for _, how in ipairs(hows) do
      local out = H.scenario("finalizer_error_in_coroutine.lua", "receive " .. how, nil, 60)
      local hit, refused, got, wrong, peer =
        out:match("hit=(%d+) refused=(%d+) got=(%d+) wrong=(%d+) peer=(%S+)")
      assert.is_truthy(hit, out)
      if _VERSION ~= "Lua 5.4" then
        assert.are_not.equal("0", hit, "no finalizer error came out of a receive: " .. out)
      end
      assert.are.equal("0", refused, out)
      -- The line whose receive raised comes with the next receive: every
      -- line, in order.
      assert.are.equal(2000, tonumber(got), out)
      assert.are.equal("0", wrong, out)
      assert.are.equal("disconnected", peer, out)
    end
    if H.is_jit then
      -- The client the mark names is collected before that other call.
      local out, status = H.scenario("finalizer_error_in_coroutine.lua", "receive jit-gc", nil, 60)
      assert.are.equal(0, status, out)
      local hit, got, peer = out:match("hit=(%d+) refused=0 got=(%d+) wrong=0 peer=(%S+)")
      assert.is_truthy(hit, out)
      assert.are.equal(tonumber(hit) - 1, tonumber(got), out)
      assert.are.equal("disconnected", peer, out)
    end
    local out = H.scenario("finalizer_error_in_coroutine.lua", "close", nil, 60)
    local hit, refused, got, peer = out:match("hit=(%d+) refused=(%d+) got=(%d+) wrong=%d+ peer=(%S+)")
    assert.is_truthy(hit, out)
    if _VERSION ~= "Lua 5.4" then
      assert.are_not.equal("0", hit, "no finalizer error came out of a receive: " .. out)
    end
    assert.are.equal("disconnected", peer, out)
  end)

  it("a finalizer's error out of the receive that found the end leaves the end to be told by the next receive", function()
    -- Lua 5.4 passes no finalizer error on (hits=0).
    for _, how in ipairs(H.is_jit and { "", "jit" } or { "" }) do
      local out, status = H.scenario("finalizer_error_at_the_end.lua", how, nil, 60)
      assert.are.equal(0, status, out)
      local hits, bad = out:match("clients=200 hits=(%d+) bad=(%d+)")
      assert.is_truthy(hits, out)
      if _VERSION ~= "Lua 5.4" then
        assert.are_not.equal("0", hits, "no finalizer error came out of a receive: " .. out)
      end
      assert.are.equal("0", bad, how .. ": " .. out)
    end
  end)

  if H.is_jit then
    it("code run in the fast path's window cannot free or move the bytes a classic receive is copying", function()
      local x = H.peer({ "sendfill:20000000:x" }, { lifetime = 60 })
      local a = H.peer({ "sendrange:20000000" }, { lifetime = 60 })
      local b = H.peer({ "sendfill:20000000:b" }, { lifetime = 60 })
      local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
      local out = H.scenario("fast_path_window.lua", ("%d %d %d %s"):format(x.port, a.port, b.port,
        H.shell_quote(here .. "/../../crates/lua/src/jit.lua")), nil, 60)
      local result, intact = out:match("result=(%S+) intact=(%a+)")
      assert.is_truthy(result, out)
      assert.are_not.equal("none", result, "the window was never reached: " .. out)
      assert.are.equal("true", intact, out)
    end)
  end

  it("two loads of the module in one state: a finalizer's failure in one leaves the other's error message intact", function()
    -- Under LuaJIT each load has its own fast path; with the compiler off
    -- after loading, the shim runs interpreted, where reading the
    -- message's address allocates and so may run the finalizers first.
    local a = H.peer({ "sendfill:80000:x", "sleep:30000" }, { lifetime = 40 })
    local out = H.scenario("two_loads_messages.lua",
      ("%d %d 20000 joff"):format(a.port, H.free_port(true)), nil, 60)
    local ran, fails, wrong = out:match("ran=(%d+) fails=(%d+) wrong=(%d+)")
    assert.is_truthy(ran, out)
    assert.is_true(tonumber(fails) > 0, "no send of the other load failed: " .. out)
    assert.are.equal("0", wrong, out)
  end)

  it("a send from a finalizer leaves the SLIP packet being returned intact", function()
    local r, out = scenario("slip-send", 0)
    assert.are.equal("true", r.intact, out)
    assert.is_true(tonumber(r.sends) > 0, out)
  end)

  it("a send from a finalizer that closes the client leaves the result being returned whole", function()
    -- TCP: the peer is gone; UDP: a message too large for a datagram.
    -- (Only Lua 5.1 and LuaJIT can run a finalizer before the copy: under
    -- 5.4 this passes either way.)
    for _, proto in ipairs({ "tcp", "udp" }) do
      local out, status = H.scenario("finalizer_send_that_closes.lua", proto .. " 20", nil, 60)
      assert.are.equal(0, status, proto .. ": " .. out)
      local hits, bad = out:match("hits=(%d+) bad=(%d+)")
      assert.is_truthy(hits, proto .. ": " .. out)
      assert.is_true(tonumber(hits) > 0, "no finalizer ran inside a receive: " .. out)
      assert.are.equal("0", bad, proto .. ": " .. out)
    end
  end)

  it("close from a finalizer in the middle of a receive leaves the lines returned intact", function()
    local r, out = scenario("close", 0)
    assert.are.equal("true", r.intact, out)
    assert.is_true(tonumber(r.closes) > 0, out)
    assert.is_truthy(r.stop:find("socket_is_closed", 1, true), out)
  end)
end)

describe("finalizers at exit", function()
  it("may make servers, clients and OSC messages while the interpreter closes", function()
    -- LuaJIT unloads C modules in lua_close before it runs the finalizers
    -- of objects that other finalizers made there (a crash in code no
    -- longer mapped, before the module was linked "nodelete").
    local out, status = H.scenario("finalizers_at_exit.lua")
    assert.is_truthy(out:find("^exit\n"), out)
    assert.are.equal(0, status, out)
  end)
end)

describe("to-be-closed clients (__close)", function()
  after_each(H.cleanup)

  -- What Lua 5.4 calls for `local c <close>`, called by hand: the same
  -- metamethod exists under every interpreter, so this runs under all three.
  it("__close closes the client and never raises, called once or twice", function()
    local peer = H.peer({ "wait_eof" }, { lifetime = 5 })
    local c = H.connect(peer)
    assert(c:send("x"))
    local close = debug.getmetatable(c).__close
    assert.are.equal("function", type(close))
    close(c, nil)
    assert.are.equal(false, c.is_open)
    assert.are.equal("1", peer:expect("eof"))
    close(c, "an error value")
    assert.are.equal(false, c.is_open)
  end)

  -- The `<close>` syntax itself only parses under Lua 5.4.
  if not H.is54 then return end

  it("closes the client when the variable goes out of scope", function()
    local rs = H.rs()
    local peer = H.peer({ "wait_eof" }, { lifetime = 5 })
    -- load() so that this file still parses under Lua 5.1 / LuaJIT
    local chunk = assert(load([[
      local rs, port = ...
      local kept
      do
        local c <close> = assert(rs.Socket.create_client("127.0.0.1", port, 1, 2000))
        kept = c
        assert(c.is_open)
        assert(c:send("x"))
      end
      return kept
    ]]))
    local c = chunk(rs, peer.port)
    assert.are.equal(false, c.is_open)
    assert.are.equal("1", peer:expect("eof"))
    c:close() -- still fine
  end)

  it("closes the client when an error leaves the scope", function()
    local rs = H.rs()
    local peer = H.peer({ "wait_eof" }, { lifetime = 5 })
    local chunk = assert(load([[
      local rs, port, box = ...
      local c <close> = assert(rs.Socket.create_client("127.0.0.1", port, 1, 2000))
      box.c = c
      error("leaving by error")
    ]]))
    local box = {}
    local ok = pcall(chunk, rs, peer.port, box)
    assert.is_false(ok)
    assert.are.equal(false, box.c.is_open)
    assert.are.equal("0", peer:expect("eof"))
  end)
end)
