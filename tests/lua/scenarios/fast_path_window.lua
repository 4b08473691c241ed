-- Run by close_and_gc_spec.lua under LuaJIT in a child interpreter: Lua
-- code run inside the fast path's window (between its C call and the
-- string it makes of the result: here a count hook, as a finalizer could
-- be) must never get at the bytes being copied. The hook receives on A
-- (classic receive, whose copy is marked); a finalizer run while A's
-- string is made resumes a coroutine whose receive on B raises out of its
-- own string creation (leaving B's mark), then, back on the main thread,
-- receives on B and on A again. A's copy must come out intact.
--   fast_path_window.lua PORT_X PORT_A PORT_B JIT_LUA
-- (the peers send 'x' bytes, bytes i % 256, 'b' bytes; JIT_LUA: the path
-- of jit.lua, to find the window's line). Prints: tries=<n>
-- result=<bytes of A's copy, or none> intact=<true|false>
local px, pa, pb, shim = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3]), arg[4]
local window
local n = 0
for line in io.lines(shim) do
  n = n + 1
  if line:find("local s = str(out.ptr, out.len)", 1, true) then window = n break end
end
assert(window, "no window line in " .. shim)
local rs = require("renoise_socket")
local S = rs.Socket
local function connect(port) return assert(S.create_client("127.0.0.1", port, S.PROTOCOL_TCP, 2000)) end
local X, A, B = connect(px), connect(pa), connect(pb)
jit.off() -- the fast path stays installed; all interpreted, so hooks run
local N = 300000
local phase, done, tries, offA, resultA, startA = nil, false, 0, 0, nil, nil
local function fin()
  if phase == "inA" then
    phase = "F"
    local co = coroutine.create(function()
      phase = "inB"
      return B:receive(100, 0)
    end)
    collectgarbage("restart")
    coroutine.resume(co) -- raises out of B's string creation (below)
    phase = "F2"
    pcall(B.receive, B, 100, 0)
    pcall(A.receive, A, "*all", 0) -- must be refused: A's copy is live
    done = true
  elseif phase == "inB" then
    phase = "G"
    error("boom from a finalizer")
  end
end
local function hook()
  if phase or done then return end
  local info = debug.getinfo(2, "Sl")
  if info.source == "=renoise_socket.jit" and info.currentline == window then
    tries = tries + 1
    for _ = 1, 200 do
      getmetatable(newproxy(true)).__gc = fin
    end
    phase = "inA"
    local ok, s = pcall(A.receive, A, N, 20000)
    if done and ok then resultA, startA = s, offA end
    if ok and s then offA = offA + #s end
    phase = nil
  end
end
collectgarbage("setpause", 0)
collectgarbage("setstepmul", 1000)
for _ = 1, 2000 do
  debug.sethook(hook, "", 1)
  X:receive(1000, 2000)
  debug.sethook()
  if done then break end
end
local intact = false
if resultA then
  intact = true
  for i = 1, #resultA, 997 do
    if resultA:byte(i) ~= (startA + i - 1) % 256 then intact = false break end
  end
end
print(("tries=%d result=%s intact=%s"):format(tries, resultA and #resultA or "none", tostring(intact)))
