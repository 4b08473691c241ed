-- Run by close_and_gc_spec.lua in a child interpreter: two loads of the
-- module in one Lua state. The first load's client fails every receive
-- ("line too long") while finalizers make a UDP client of the second load
-- fail sends ("connection refused"): under LuaJIT both take the fast path,
-- whose error messages must not overwrite each other.
--   two_loads_messages.lua TCP_PORT FREE_UDP_PORT RUNS [joff]
-- Prints: runs=<n> ran=<finalizers run> fails=<sends refused>
--   wrong=<receives whose message was not "line too long"> sample=<one>
local port_a, port_b, runs = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local A = require("renoise_socket")
package.loaded.renoise_socket = nil
local B = require("renoise_socket")
assert(A.Socket ~= B.Socket, "one load only")
-- Interpreted, reading `out.ptr` in the fast path allocates: a collector
-- step (and finalizers) may run between that and the copy.
if arg[4] == "joff" and rawget(_G, "jit") then jit.off() end
local finalizer = dofile((arg[0]:match("^(.*)/") or ".") .. "/finalizer.lua")
local ca = assert(A.Socket.create_client("127.0.0.1", port_a, A.Socket.PROTOCOL_TCP, 2000,
  { max_line_length = 50 }))
-- A UDP client of the other load, sending to a port nobody listens on:
-- every other send fails ("connection refused", from the ICMP answer).
local cb = assert(B.Socket.create_client("127.0.0.1", port_b, B.Socket.PROTOCOL_UDP))
-- Both peers send 80000 bytes without a line end: a's line is too long at
-- once, b's once all has come.
local _, ma = ca:receive("*line", 2000)
assert(ma and ma ~= "timeout", tostring(ma))
local ran, wrong, fails, sample = 0, 0, 0, nil
collectgarbage("setpause", 100)
collectgarbage("setstepmul", 1000)
for i = 1, runs do
  for _ = 1, 4 do
    finalizer(function()
      ran = ran + 1
      local ok, m = cb:send("x")
      if not ok then fails = fails + 1 end
    end)
  end
  local _, m = ca:receive("*line", 0)
  if m ~= ma then wrong = wrong + 1; sample = sample or m end
end
print(("runs=%d ran=%d fails=%d wrong=%d sample=%q"):format(runs, ran, fails, wrong, tostring(sample)))
