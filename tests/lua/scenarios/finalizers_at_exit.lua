-- Run by close_and_gc_spec.lua in a child interpreter: objects whose
-- finalizers run while the interpreter closes (lua_close at exit) and make
-- new objects of the module there: a server, a client to it and an OSC
-- message. LuaJIT unloads C modules before it runs those objects'
-- finalizers; the module must stay loaded for them. Prints "exit" and must
-- end with status 0.
local rs = require("renoise_socket")
local S = rs.Socket

local function finalizer(f)
  if rawget(_G, "newproxy") then
    local p = newproxy(true)
    getmetatable(p).__gc = f
    return p
  end
  return setmetatable({}, { __gc = f })
end

local server = assert(S.create_server("127.0.0.1", 0))
local port = server.local_port
KEEP = {
  finalizer(function()
    local s = S.create_server("127.0.0.1", 0)
    if s then s:close() end
  end),
  finalizer(function()
    local c = S.create_client("127.0.0.1", port, S.PROTOCOL_TCP, 500)
    if c then c:send("x") end
  end),
  finalizer(function() LEFT = rs.Osc.Message("/left", { { tag = "i", value = 1 } }) end),
  finalizer(function() LEFT_SERVER = S.create_server("127.0.0.1", 0) end),
}
print("exit")
