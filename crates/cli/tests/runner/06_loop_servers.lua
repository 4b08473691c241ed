-- The loop dispatches running servers; it ends when nothing can fire.
local got = {}
local server = assert(renoise.Socket.create_server("127.0.0.1", 0))
server:run {
  socket_message = function(socket, msg)
    got[#got + 1] = msg
    socket:send("ack:" .. msg)
  end,
}
local client = assert(renoise.Socket.create_client("127.0.0.1", server.local_port))
client:send("one")
local function check()
  local reply = client:receive("*all", 0)
  if reply then
    assert(reply == "ack:one", reply)
    renoise.tool().app_idle_observable:remove_notifier(check)
    client:close()
    server:stop()
    server:close()
    print("ok") -- the loop then ends by itself: no notifiers, timers, servers
  end
end
renoise.tool().app_idle_observable:add_notifier(check)
