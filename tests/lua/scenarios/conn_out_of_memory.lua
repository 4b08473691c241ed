-- Run by server_spec.lua in a child interpreter started under a low
-- `ulimit -v`: receive(n) on an accepted connection, with n more than the
-- process may map, then the bytes that were there.
--   conn_out_of_memory.lua N
-- Prints: err=<message> open=<is_open> got=<what receive(6) gave>
local rs = require("renoise_socket")
local S = rs.Socket
local n = tonumber(arg[1])
local server = assert(S.create_server("127.0.0.1", 0, S.PROTOCOL_TCP, { max_receive_size = 2 ^ 30 }))
local conn
server:run({ socket_accepted = function(c) conn = c end })
local client = assert(S.create_client("127.0.0.1", server.local_port))
assert(client:send("abcdef"))
for _ = 1, 100 do
  if conn then break end
  server:wait(50)
end
local none, err = conn:receive(n, 0)
local got, e2 = conn:receive(6, 2000)
print(("err=%s open=%s got=%s"):format(tostring(none or err), tostring(conn.is_open), tostring(got or e2)))
