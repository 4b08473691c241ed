-- A class-based TCP echo server, the way Renoise tools write them, with a
-- client in the same tool that talks to it on a timer.
--
--   renoise-socket run examples/echo_server.xrnx
--
-- The server echoes every line back in upper case; the client sends one
-- line every 200 ms and polls for replies on idle; when all replies are in,
-- both are closed and the tool ends (nothing is left that can fire).

class "EchoServer"

function EchoServer:__init(port)
  local server, err = renoise.Socket.create_server("127.0.0.1", port or 0)
  if not server then error("could not start the server: " .. err) end
  self.server = server
  self.clients = 0
  server:run(self) -- callbacks are called as methods of this object
  print(("[server] listening on %s:%d"):format(server.local_address, server.local_port))
end

function EchoServer:socket_accepted(socket)
  self.clients = self.clients + 1
  print(("[server] client %d connected from %s"):format(self.clients, socket.peer_address))
end

function EchoServer:socket_message(socket, message)
  socket:send(message:upper())
end

function EchoServer:socket_error(message)
  print("[server] error: " .. message)
end

function EchoServer:stop()
  if self.server.is_running then self.server:stop() end
  self.server:close()
  print("[server] closed")
end

local echo = EchoServer()
local client, err = renoise.Socket.create_client("127.0.0.1", echo.server.local_port)
if not client then error(err) end

local lines = { "hello from a renoise tool", "sockets work outside renoise", "bye" }
local sent, received = 0, 0

-- Every 200 ms the client sends the next line...
local function send_next()
  sent = sent + 1
  client:send(lines[sent] .. "\n")
  print(("[client] sent %q"):format(lines[sent]))
  if sent == #lines then renoise.tool():remove_timer(send_next) end
end

-- ...and on idle it picks up replies without blocking (timeout 0), as a
-- tool must: the server's callbacks run on the same thread.
local function poll()
  local reply = client:receive("*line", 0)
  if reply then
    received = received + 1
    print(("[client] got  %q"):format(reply))
    if received == #lines then
      renoise.tool().app_idle_observable:remove_notifier(poll)
      client:close()
      echo:stop()
    end
  end
end

renoise.tool():add_timer(send_next, 200)
renoise.tool().app_idle_observable:add_notifier(poll)
