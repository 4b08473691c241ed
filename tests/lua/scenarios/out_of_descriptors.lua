-- Run by create_client_spec.lua in a child interpreter started under a low
-- `ulimit -n`: uses up the file descriptors, then connects by name and by
-- address. Prints one line per attempt: "<host>|<client or nil>|<error>".
local rs = require("renoise_socket")
local held = {}
while true do
  local f = io.open("/dev/null")
  if not f then break end
  held[#held + 1] = f
end
for _, host in ipairs({ "localhost", "127.0.0.1" }) do
  for _, proto in ipairs({ rs.Socket.PROTOCOL_TCP, rs.Socket.PROTOCOL_UDP }) do
    local c, e = rs.Socket.create_client(host, 9, proto, 500)
    print(("%s|%s|%s"):format(host, tostring(c), tostring(e)))
  end
end
