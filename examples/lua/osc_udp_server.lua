-- A UDP OSC server answering a client, in one script. From the repository root:
--   scripts/build-lua.sh lua54 && LUA_CPATH='target/lua/lua54/?.so;;' lua5.4 examples/lua/osc_udp_server.lua
require("renoise_socket").install()
local Osc, Socket = renoise.Osc, renoise.Socket
local server = assert(Socket.create_server("127.0.0.1", 0, Socket.PROTOCOL_UDP))
server:run({ socket_message = function(sender, data)  -- replies go out from the server's port
  local msg = Osc.from_binary_data(data)
  sender:send(Osc.Message("/reply", { { tag = "s", value = "got " .. msg.pattern } }))
end })
local client = assert(Socket.create_client("127.0.0.1", server.local_port, Socket.PROTOCOL_UDP))
client:send(Osc.Message("/renoise/transport/start"))
server:wait(100)  -- callbacks run only inside wait
print(Osc.from_binary_data(assert(client:receive("*all", 1000))))  --> /reply ,s "got /renoise/transport/start"
server:close()
