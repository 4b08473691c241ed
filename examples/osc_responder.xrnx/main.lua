-- A UDP OSC responder: decodes each datagram with from_binary_data and
-- replies from the server's port, as Renoise's OSC snippets do.
--
--   renoise-socket run examples/osc_responder.xrnx -- PORT [COUNT]
--
-- /ping i:N is answered with /pong i:N+1; any other message with /ack and
-- its address. After COUNT messages (default: never) the server closes
-- and the tool ends.

local port, count = ...
port = tonumber(port or 8000)
count = tonumber(count)

class "OscResponder"

function OscResponder:__init()
  self.handled = 0
  self.server = assert(renoise.Socket.create_server("127.0.0.1", port,
    renoise.Socket.PROTOCOL_UDP))
  self.server:run(self)
  print("[osc] listening on udp port " .. self.server.local_port)
end

function OscResponder:socket_message(socket, data)
  local msg, err = renoise.Osc.from_binary_data(data)
  if not msg then
    print("[osc] not OSC: " .. err)
    return
  end
  if type(msg) == "Bundle" then msg = msg.elements[1] end
  print("[osc] got " .. tostring(msg) .. " from " .. socket.peer_address .. ":" .. socket.peer_port)
  local reply
  if msg.pattern == "/ping" and msg.arguments[1] and msg.arguments[1].tag == "i" then
    reply = renoise.Osc.Message("/pong", { { tag = "i", value = msg.arguments[1].value + 1 } })
  else
    reply = renoise.Osc.Message("/ack", { { tag = "s", value = msg.pattern } })
  end
  socket:send(reply) -- from the server's own port
  self.handled = self.handled + 1
  if count and self.handled >= count then
    self.server:stop()
    self.server:close()
    print("[osc] answered " .. self.handled .. " messages, bye")
  end
end

OscResponder()
