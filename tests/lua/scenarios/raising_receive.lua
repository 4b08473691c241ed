-- For the scenarios (loaded with dofile, which from then on makes the
-- collector run at nearly every allocation): raising_receive(c, mode,
-- timeout) calls c:receive(mode, timeout) in pcall, with twenty more
-- __gc finalizers pending that raise "boom from __gc", once, and only
-- inside such a call (Lua 5.1 may collect on the way into pcall, where
-- the error would not be the receive's). Lua 5.1 and LuaJIT pass such an
-- error on to whatever allocated; Lua 5.4 only warns. Returns pcall's
-- results.
local finalizer = dofile((arg[0]:match("^(.*)/") or ".") .. "/finalizer.lua")

local armed, inside = false, false
local function bomb()
  if armed and inside then
    armed = false
    error("boom from __gc")
  end
end

collectgarbage("setpause", 1)
collectgarbage("setstepmul", 1000)

return function(c, mode, timeout)
  armed = true
  for _ = 1, 20 do finalizer(bomb) end
  local ok, r, e = pcall(function()
    inside = true
    local a, b = c:receive(mode, timeout)
    inside = false
    return a, b
  end)
  inside = false
  return ok, r, e
end
