-- A timer-driven OSC sender: every INTERVAL ms, one /tick message to
-- HOST:PORT over UDP; after COUNT messages the timer removes itself and the
-- tool ends.
--
--   renoise-socket run examples/timer_sender.lua -- PORT [COUNT [INTERVAL [HOST]]]
--   renoise-socket osc dump PORT     # in another terminal, to watch

local port, count, interval, host = ...
port = tonumber(port or 8000)
count = tonumber(count or 5)
interval = tonumber(interval or 100)
host = host or "127.0.0.1"

local client = assert(renoise.Socket.create_client(host, port, renoise.Socket.PROTOCOL_UDP))
local sent = 0

local function tick()
  sent = sent + 1
  client:send(renoise.Osc.Message("/tick", {
    { tag = "i", value = sent },
    { tag = "f", value = os.clock() },
    { tag = "s", value = "timer" },
  }))
  if sent >= count then
    renoise.tool():remove_timer(tick)
    client:close()
    print("[sender] sent " .. sent .. " messages to " .. host .. ":" .. port)
  end
end

renoise.tool():add_timer(tick, interval)
