-- Servers and clients stay alive while the script runs, even with no
-- reference left to them, until they are closed; then they can go.
local weak = setmetatable({}, { __mode = "v" })
do
  local server = assert(renoise.Socket.create_server("127.0.0.1", 0))
  weak.server = server
  weak.client = assert(renoise.Socket.create_client("127.0.0.1", server.local_port))
end
local function collect()
  collectgarbage("collect")
  collectgarbage("collect")
end
collect()
assert(weak.server and weak.server.is_open, "an unreferenced server was collected")
assert(weak.client and weak.client.is_open, "an unreferenced client was collected")
assert(weak.client:send("still here"))

local tool = renoise.tool()
local step = 0
local function tick()
  step = step + 1
  if step == 1 then
    collect()
    assert(weak.client and weak.client.is_open, "collected while the loop runs")
    weak.client:close()
    weak.server:close()
  else
    -- the loop has run since the close: nothing holds them any more
    collect()
    assert(weak.client == nil, "a closed client is kept forever")
    assert(weak.server == nil, "a closed server is kept forever")
    tool:remove_timer(tick)
    print("ok")
  end
end
tool:add_timer(tick, 10)
