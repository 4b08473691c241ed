-- For the scenarios (loaded with dofile): finalizer(f) makes an object
-- whose __gc calls f and drops it: newproxy in Lua 5.1 and LuaJIT, a
-- table with __gc in 5.4.
return function(f)
  if newproxy then
    getmetatable(newproxy(true)).__gc = f
  else
    setmetatable({}, { __gc = f })
  end
end
