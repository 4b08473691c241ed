-- Renoise's table extensions and the extras (RUNNER.md items 8, 10, 11).
local host = ...

renoise = renoise or {}
renoise.RENOISE_VERSION = "3.4.4"
renoise.API_VERSION = 6.1

-- Lua 5.1 dialect helpers some builds leave out.
math.mod = math.mod or math.fmod
table.getn = table.getn or function(t) return #t end
unpack = unpack or table.unpack
loadstring = loadstring or load

-- bit (LuaBitOp), as a global and as require("bit").
bit = host.bit
package.loaded.bit = host.bit

-- os / io extras
function os.platform() return host.platform() end
function os.currentdir() return host.cwd() end
function io.exists(path)
  return host.stat(path) ~= nil
end
function io.stat(path)
  return host.stat(path)
end

-- table extensions
local function is_empty(t) return next(t) == nil end
function table.is_empty(t) return next(t) == nil end
function table.count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end
function table.find(t, value, start_index)
  for i = start_index or 1, #t do
    if t[i] == value then return i end
  end
  return nil
end
function table.keys(t)
  local r = {}
  for k in pairs(t) do r[#r + 1] = k end
  return r
end
function table.values(t)
  local r = {}
  for _, v in pairs(t) do r[#r + 1] = v end
  return r
end
function table.copy(t)
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  return r
end
function table.rcopy(t, seen)
  seen = seen or {}
  if type(t) ~= "table" then return t end
  if seen[t] then return seen[t] end
  local r = {}
  seen[t] = r
  for k, v in pairs(t) do r[table.rcopy(k, seen)] = table.rcopy(v, seen) end
  return setmetatable(r, getmetatable(t))
end
function table.clear(t)
  for k in pairs(t) do t[k] = nil end
end
function table.create(t)
  return setmetatable(t or {}, { __index = table })
end
table.is_empty = table.is_empty or is_empty

-- rprint / oprint
local function rprint_inner(value, indent, seen)
  if type(value) ~= "table" or seen[value] then
    return
  end
  seen[value] = true
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v = value[k]
    print(indent .. "[" .. tostring(k) .. "] => " .. tostring(v))
    if type(v) == "table" then rprint_inner(v, indent .. "  ", seen) end
  end
end
function rprint(value)
  if type(value) == "table" then
    rprint_inner(value, "", {})
  else
    print(tostring(value))
  end
end
function oprint(value)
  print(tostring(value))
  if host.is_instance(value) or type(value) == "table" then
    rprint(value)
  end
end
