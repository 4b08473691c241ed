-- Run by properties_spec.lua in a child interpreter, perhaps in a private
-- network namespace made for it: a TCP and a UDP server bound to the
-- link-local address HOST ("fe80::...%dev"), and a client of each, must
-- name the address with its zone. Prints "ok tcp" and "ok udp"; a failed
-- check raises (exit status 1).
--   link_local_zone.lua HOST
local host = assert(arg[1], "usage: link_local_zone.lua HOST")
local S = require("renoise_socket").Socket
local function check(cond, what)
  if not cond then error(what, 2) end
end
for _, proto in ipairs({ S.PROTOCOL_TCP, S.PROTOCOL_UDP }) do
  local server = assert(S.create_server(host, 0, proto))
  local zone = "%" .. host:match("%%(.*)$")
  check(server.local_address:sub(-#zone) == zone, server.local_address)
  local named = "[" .. server.local_address .. "]:" .. server.local_port
  check(tostring(server):find(named, 1, true), tostring(server))
  local c = assert(S.create_client(server.local_address, server.local_port, proto, 2000))
  check(c.peer_address == server.local_address, c.peer_address)
  check(tostring(c):find("-> " .. named, 1, true), tostring(c))
  c:close()
  check(tostring(c):find("-> " .. named, 1, true), tostring(c))
  server:close()
  print("ok " .. (proto == S.PROTOCOL_TCP and "tcp" or "udp"))
end
