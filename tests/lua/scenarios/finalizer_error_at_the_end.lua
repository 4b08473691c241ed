-- Run by close_and_gc_spec.lua in a child interpreter: __gc finalizers
-- raise while a receive finds the end of the stream and makes its
-- "disconnected" (Lua 5.1 and LuaJIT pass such an error on to whatever
-- allocated; Lua 5.4 only warns, so there it never does). A client whose
-- receive raised so must still tell the end at its next receive, once,
-- and only then raise "socket is closed". 200 clients, each sent "abc"
-- and then the end. The classic functions, or with "jit" LuaJIT's fast
-- path.
--   finalizer_error_at_the_end.lua [jit]
-- Prints: clients=<n> hits=<receives the error came out of> bad=<clients
-- that broke the rule>
if jit and arg[1] ~= "jit" then jit.off() end
local rs = require("renoise_socket")
local S = rs.Socket

local N = 200
local srv = assert(S.create_server("127.0.0.1", 0))
local accepted = 0
srv:run({ socket_accepted = function(conn)
  accepted = accepted + 1
  assert(conn:send("abc"))
  conn:close()
end })
local clients = {}
for i = 1, N do
  clients[i] = assert(S.create_client("127.0.0.1", srv.local_port, S.PROTOCOL_TCP, 2000))
  srv:wait(0)
end
for _ = 1, 200 do
  if accepted == N then break end
  srv:wait(10)
end
assert(accepted == N, "accepted " .. accepted)
for _, c in ipairs(clients) do
  assert(c:receive(3, 2000) == "abc")
end

local raising_receive = dofile((arg[0]:match("^(.*)/") or ".") .. "/raising_receive.lua")
local hits, bad = 0, 0
for _, c in ipairs(clients) do
  local ok, r, e = raising_receive(c, "*all", 2000)
  if not ok then
    if tostring(r):find("boom", 1, true) then
      hits = hits + 1
      -- The end was found, and not told: the next receive tells it.
      local ok2, r2, e2 = pcall(c.receive, c, "*all", 2000)
      if not (ok2 and r2 == nil and e2 == "disconnected") then bad = bad + 1 end
    else
      bad = bad + 1
    end
  elseif not (r == nil and e == "disconnected") then
    bad = bad + 1
  end
  -- Told once: from now on the client is closed.
  local ok3, e3 = pcall(c.receive, c, "*all", 0)
  if ok3 or not tostring(e3):find("socket is closed", 1, true) then bad = bad + 1 end
end
srv:close()
print(("clients=%d hits=%d bad=%d"):format(N, hits, bad))
