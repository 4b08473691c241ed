-- An idle-loop HTTP poller, as Renoise HTTP tools do it: the request is
-- sent once, then every idle tick reads whatever lines have arrived with
-- receive("*l", 0), never blocking Renoise's UI thread.
--
--   renoise-socket run examples/http_poller.xrnx            # own local server
--   renoise-socket run examples/http_poller.xrnx -- HOST PORT
--
-- Without arguments the tool starts a tiny HTTP server of its own (with
-- renoise.Socket.create_server) and polls that.

local host, port = ...
local server

if not host then
  server = assert(renoise.Socket.create_server("127.0.0.1", 0))
  server:run {
    socket_message = function(socket, request)
      local body = "hello from the local HTTP server\nsecond line of the body\n"
      socket:send("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
        .. #body .. "\r\n\r\n" .. body)
      socket:close()
    end,
  }
  host, port = "127.0.0.1", server.local_port
end

local client = assert(renoise.Socket.create_client(host, tonumber(port)))
client:send("GET / HTTP/1.0\r\nHost: " .. host .. "\r\n\r\n")
print("[poller] GET http://" .. host .. ":" .. port .. "/")

local ticks, lines = 0, 0

local function finish()
  renoise.tool().app_idle_observable:remove_notifier(poll)
  client:close()
  if server then
    server:stop()
    server:close()
  end
  print(("[poller] done: %d lines in %d idle ticks"):format(lines, ticks))
end

function poll()
  ticks = ticks + 1
  while true do
    local line, err = client:receive("*l", 0)
    if line then
      lines = lines + 1
      print("[poller] " .. line)
    elseif err == "timeout" then
      return -- nothing more yet: try again on the next idle tick
    else
      print("[poller] " .. err)
      return finish()
    end
  end
end

renoise.tool().app_idle_observable:add_notifier(poll)
