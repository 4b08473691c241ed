-- Run by close_and_gc_spec.lua in a child interpreter: a coroutine reads
-- 2000 lines while __gc finalizers raise, until one error comes out of a
-- receive (Lua 5.1 and LuaJIT pass a finalizer's error on to whatever
-- allocated; Lua 5.4 only warns, so there it never does). Then, with
-- "receive", the coroutine reads on; with "close", it closes the client
-- at once. The classic functions: the JIT, and with it LuaJIT's fast
-- path, is off (see the Lua README for the fast path), unless the second
-- argument is "jit", "jit-other" or "jit-gc" (see `other`), which read on
-- the main thread. With "main-first" the classic functions read on the
-- main thread until the error, then the rest in a coroutine.
--   finalizer_error_in_coroutine.lua receive|close [jit|jit-other|jit-gc|main-first]
-- Prints: hit=<receive # the error came out of, 0: none> refused=<later
-- receives that raised> got=<lines> wrong=<lines that were not the next
-- one sent> peer=<what the server's connection read after the loop:
-- "disconnected" once the client is closed>
local fast = arg[2] == "jit" or arg[2] == "jit-other" or arg[2] == "jit-gc"
if jit and not fast then jit.off() end
local act = arg[1]
local rs = require("renoise_socket")
local S = rs.Socket
local srv = assert(S.create_server("127.0.0.1", 0))
local c = assert(S.create_client("127.0.0.1", srv.local_port, S.PROTOCOL_TCP, 2000))
local conn
srv:run({ socket_accepted = function(x) conn = conn or x end })
for _ = 1, 100 do
  srv:wait(10)
  if conn then break end
end
-- With "jit-other", a receive on this second client comes first after the
-- error (it clears the mark the failure left); with "jit-gc", after the
-- first client was collected, and the loop ends there.
local other = assert(S.create_client("127.0.0.1", srv.local_port, S.PROTOCOL_TCP, 2000))
local lines = {}
for i = 1, 2000 do lines[i] = ("line %d"):format(i) end
assert(conn:send(table.concat(lines, "\n") .. "\n"))

local raising_receive = dofile((arg[0]:match("^(.*)/") or ".") .. "/raising_receive.lua")
local hit, refused, got, wrong = 0, 0, 0, 0
local function read_all(from)
  -- More turns than lines: the receive that raised gives its line to the
  -- next one.
  for i = from or 1, 4000 do
    if got == 2000 then break end
    -- Finalizers raise until one error came out of a receive.
    local ok, line
    if hit == 0 then
      ok, line = raising_receive(c, "*l", 100)
    else
      ok, line = pcall(c.receive, c, "*l", 100)
    end
    if not ok and tostring(line):find("boom", 1, true) then
      hit = i
      if arg[2] == "main-first" then
        -- The rest from a coroutine, where the main thread's mark must be
        -- found stale.
        coroutine.wrap(read_all)(i + 1)
        return
      end
      if arg[2] == "jit-other" then assert(other:receive("*all", 0) == nil) end
      if arg[2] == "jit-gc" then
        -- The client the mark names is collected first: the call on the
        -- other one must not reach it.
        c = nil
        collectgarbage()
        collectgarbage()
        assert(other:receive("*all", 0) == nil)
        break
      end
      if act == "close" then
        c:close()
        break
      end
    elseif not ok then
      refused = refused + 1
    elseif line then
      got = got + 1
      if line ~= lines[got] then wrong = wrong + 1 end
    else
      break
    end
  end
  if c then c:close() end
end
-- LuaJIT's fast path cannot tell which thread its mark is of: in a
-- coroutine a stale one is taken as live (the Lua README's "Known
-- limits"), so its test reads on the main thread.
if fast or arg[2] == "main-first" then read_all() else coroutine.wrap(read_all)() end
local peer
for _ = 1, 50 do
  srv:wait(10)
  local d, e = conn:receive("*all", 20)
  if not d and e ~= "timeout" then
    peer = e
    break
  end
end
print(("hit=%d refused=%d got=%d wrong=%d peer=%s"):format(hit, refused, got, wrong, tostring(peer)))
