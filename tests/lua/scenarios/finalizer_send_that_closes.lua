-- Run by close_and_gc_spec.lua in a child interpreter: a finalizer that
-- runs while a receive makes its result into a string sends on the same
-- client, and that send closes the client (TCP: the peer is gone; UDP: a
-- message too large for a datagram). The result must come out whole (a
-- close that freed the receive buffer made Lua 5.1 and LuaJIT copy freed
-- memory: blocks this large are unmapped, so that crashed).
--   finalizer_send_that_closes.lua tcp|udp ROUNDS
-- Prints: rounds=<n> hits=<finalizers run inside a receive> bad=<results not whole>
local proto, rounds = arg[1], tonumber(arg[2])
local rs = require("renoise_socket")
local S = rs.Socket

local finalizer = dofile((arg[0]:match("^(.*)/") or ".") .. "/finalizer.lua")

local c, in_receive, hits, bad = nil, false, 0, 0
local payload, connect, expected, send_closing, mode
if proto == "tcp" then
  -- One line of 600,000 bytes, then the server closes: the finalizer's
  -- sends find the peer gone.
  payload = string.rep("L", 600000)
  local srv = assert(S.create_server("127.0.0.1", 0))
  srv:run({ socket_accepted = function(conn) conn:send(payload .. "\n"); conn:close() end })
  connect = function()
    c = assert(S.create_client("127.0.0.1", srv.local_port))
    srv:wait(50)
    local t = os.clock() + 0.02 -- the line and the FIN arrive meanwhile
    while os.clock() < t do end
  end
  send_closing = function()
    for _ = 1, 3 do
      if not c.is_open then break end
      c:send("ping\n")
    end
  end
  mode = "*line"
else
  -- A 60,000-byte datagram read into a 1 MiB chunk; the finalizer sends
  -- 70,000 bytes, which no datagram holds.
  payload = string.rep("D", 60000)
  local srv = assert(S.create_server("127.0.0.1", 0, S.PROTOCOL_UDP))
  srv:run({ socket_message = function(sock) sock:send(payload) end })
  connect = function()
    c = assert(S.create_client("127.0.0.1", srv.local_port, S.PROTOCOL_UDP, 1000,
      { all_chunk_size = 1048576 }))
    c:send("go")
    srv:wait(30)
  end
  local big = string.rep("x", 70000)
  send_closing = function()
    if c.is_open then c:send(big) end
  end
  mode = "*all"
end
expected = payload

-- Every collection step runs a whole cycle, finalizers included, so the
-- object made just before the receive is finalized at its first
-- allocation: the string of the result.
collectgarbage("setpause", 100)
collectgarbage("setstepmul", 1000000)
for _ = 1, rounds do
  connect()
  finalizer(function()
    if in_receive then hits = hits + 1 end
    send_closing()
  end)
  local receive = c.receive
  in_receive = true
  local ok, data = pcall(receive, c, mode, 1000)
  in_receive = false
  if not (ok and data == expected) then bad = bad + 1 end
  c:close()
end
print(("rounds=%d hits=%d bad=%d"):format(rounds, hits, bad))
