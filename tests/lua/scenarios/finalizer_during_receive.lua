-- Run by close_and_gc_spec.lua in a child interpreter (a small heap, so the
-- collector runs often): reads N numbered lines from 127.0.0.1:PORT while
-- finalizers use the same client, and prints what it saw.
--   finalizer_during_receive.lua PORT receive|coroutine|close|slip-send READ_AHEAD
-- "receive": finalizers call receive("*all", 0) on the client; the bytes
-- they get are kept in the order they were read. "coroutine": the same
-- from a coroutine the finalizer resumes. "close": finalizers close the
-- client. "slip-send": the client reads SLIP packets (peer step sendslip)
-- and finalizers send on it. Prints one line:
--   nested=<receives refused> closes=<n> stop=<why the loop ended>
--   intact=<true|false> bytes=<n>
local port, act, read_ahead = tonumber(arg[1]), arg[2], tonumber(arg[3])
local N, LEN = 3000, 2008
local rs = require("renoise_socket")
local c = assert(rs.Socket.create_client("127.0.0.1", port, rs.Socket.PROTOCOL_TCP, 2000,
  { read_ahead = read_ahead, framing = act == "slip-send" and "slip" or nil }))

local finalizer = dofile((arg[0]:match("^(.*)/") or ".") .. "/finalizer.lua")

local pieces, bytes, nested, closes, active = {}, 0, 0, 0, true
-- Called before anything returns through a pcall (where Lua 5.1 may run
-- the next finalizer), so pieces stay in the order they were read.
local function keep(data)
  if data then
    pieces[#pieces + 1] = data
    bytes = bytes + #data
  end
end
local sends = 0
local function use(cl)
  if not active then return end
  if act == "coroutine" then
    local co = coroutine.create(function()
      act = "receive"
      use(cl)
      act = "coroutine"
    end)
    assert(coroutine.resume(co))
    return
  end
  if act == "slip-send" then
    -- A send builds its frame in a buffer of its own: the packet being
    -- copied (unescaped, so not in the receive buffer) stays as it is.
    sends = sends + 1
    cl:send(string.rep("z", 2000 + sends * 50))
    return
  end
  if act == "close" then
    cl:close()
    closes = closes + 1
    return
  end
  local ok, e = pcall(function() keep(cl:receive("*all", 0)) end)
  if not ok then
    assert(e:find("has not returned yet", 1, true), e)
    nested = nested + 1
  end
end

collectgarbage("setpause", 100)
collectgarbage("setstepmul", 1000)
if act == "slip-send" then
  local packet, bad, n = string.rep("A", 600) .. "\192" .. string.rep("B", 600), 0, 0
  local receive = c.receive
  for i = 1, 400 do
    if i % 3 == 0 then finalizer(function() use(c) end) end
    -- 400 packets are few: LuaJIT's collector may let them all pass
    -- without finishing a cycle. A full one half way makes sure some
    -- finalizers send (between receives; the others may run inside one).
    if i == 200 then collectgarbage() end
    local p = receive(c, "*all", 2000)
    if not p then break end
    n = n + 1
    if p ~= packet then bad = bad + 1 end
  end
  active = false
  print(("nested=0 closes=0 stop=end intact=%s bytes=%d sends=%d"):format(
    tostring(bad == 0 and n == 400), n, sends))
  return
end
local i = 0
-- Looked up once: in Lua 5.1 a method lookup through __index may collect.
local receive = c.receive
local ok, stop = pcall(function()
  while true do
    i = i + 1
    if i % 50 == 0 then finalizer(function() use(c) end) end
    -- Checked after making the closure, which may run finalizers.
    if bytes >= N * (LEN + 1) then return "end" end
    -- Called directly, not through pcall: see keep.
    local line, err = receive(c, "*line", 2000)
    if not line then return err end
    -- Stored before any allocation (which could run a finalizer).
    pieces[#pieces + 1] = line
    pieces[#pieces + 1] = "\n"
    bytes = bytes + #line + 1
  end
end)
active = false
if not ok then stop = "raised " .. tostring(stop) end

local exp = {}
for k = 0, N - 1 do exp[#exp + 1] = string.format("%07d:", k) .. string.rep("y", LEN - 8) .. "\n" end
exp = table.concat(exp)
local got = table.concat(pieces)
-- Whatever ended the loop, what was delivered is the stream's beginning.
local intact = exp:sub(1, #got) == got
print(("nested=%d closes=%d stop=%s intact=%s bytes=%d"):format(
  nested, closes, stop:gsub("%s", "_"), tostring(intact), #got))
