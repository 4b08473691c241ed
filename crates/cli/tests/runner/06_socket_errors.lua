-- The runner keeps every socket alive by wrapping create_client and
-- create_server; their argument errors must still name them and point at
-- the script's line, as without the wrapper.
local function raised(f)
  local ok, e = pcall(f)
  assert(not ok)
  return e
end
local line = debug.getinfo(1, "l").currentline
local e1 = raised(function() renoise.Socket.create_client() end)
local e2 = raised(function() renoise.Socket.create_server("127.0.0.1", 70000) end)
local where = debug.getinfo(1, "S").short_src .. ":"
assert(e1:find(where .. (line + 1) .. ": bad argument #1 to 'create_client'", 1, true), e1)
assert(e2:find(where .. (line + 2) .. ": bad argument #2 to 'create_server'", 1, true), e2)
-- expected failures are still returned, not raised
local c, err = renoise.Socket.create_client("unknown.invalid", 80)
assert(c == nil and type(err) == "string", tostring(err))
print("ok")
