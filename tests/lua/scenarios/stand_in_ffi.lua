-- Run by module_shape_spec.lua under LuaJIT in a child interpreter (the
-- module must be loaded fresh): loads renoise_socket after the program
-- has touched the `ffi` library, then reads 2000 lines from
-- 127.0.0.1:PORT with a collection step after each.
--   stand_in_ffi.lua PORT fake|typedef
-- "fake": `ffi` is a stand-in whose `new` makes tables (a mock, a
-- sandbox's), as the module loads. "typedef": the program declared a
-- struct under the name the fast path once used.
-- Prints: lines=<n> fast=<true|false> (fast: receive is the Lua shim).
local port, how = tonumber(arg[1]), arg[2]
local real = require("ffi")
if how == "fake" then
  local fake = setmetatable({}, { __index = real })
  fake.new = function() local t = {} for i = 1, 64 do t[i] = {} end return t end
  fake.cast = function() return function() return 3 end end
  fake.typeof = function() return function() return {} end end
  package.loaded.ffi = fake
else
  real.cdef("typedef struct { char tag; } renoise_socket_jit_io;")
end
local rs = require("renoise_socket")
package.loaded.ffi = real
local c = assert(rs.Socket.create_client("127.0.0.1", port, rs.Socket.PROTOCOL_TCP, 2000))
local n = 0
for _ = 1, 2000 do
  local l = c:receive("*l", 2000)
  if l then n = n + 1 end
  collectgarbage("step", 0)
end
print(("lines=%d fast=%s"):format(n, tostring(debug.getinfo(c.receive, "S").what == "Lua")))
