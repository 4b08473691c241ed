-- luabind-style classes as Renoise has them: class, property, type().
-- (RUNNER.md items 1-3.)
local host = ...
local rawtype, setmetatable, getmetatable, rawget, rawset, error =
  type, setmetatable, getmetatable, rawget, rawset, error
-- Lua 5.1 and LuaJIT have getfenv; Lua 5.2+ have _ENV instead. Read with
-- rawget: once strict globals are on, reading an absent global raises.
local getfenv = rawget(_G, "getfenv")
local getinfo, getupvalue = debug.getinfo, debug.getupvalue
host.rawtype = rawtype

local class_info = setmetatable({}, { __mode = "k" })    -- class -> info
local instance_info = setmetatable({}, { __mode = "k" }) -- metatable -> info
local property_mark = {}

-- property(getter [, setter]): assigned to an instance field, reads and
-- writes of that field go through the functions.
function property(getter, setter)
  if rawtype(getter) ~= "function" then
    error("property: the getter must be a function", 2)
  end
  if setter ~= nil and rawtype(setter) ~= "function" then
    error("property: the setter must be a function or nil", 2)
  end
  return setmetatable({ get = getter, set = setter }, property_mark)
end

local function lookup(cls, key)
  while cls do
    local v = rawget(cls, key)
    if v ~= nil then return v end
    local info = class_info[cls]
    cls = info and info.base
  end
end

local operators = { "__eq", "__lt", "__le", "__add", "__sub", "__mul", "__div",
  "__mod", "__pow", "__unm", "__concat", "__len", "__call" }

local function new_class(name)
  local cls = {}
  local info = { name = name }
  class_info[cls] = info
  local props_key = {} -- per-instance property table, stored under this key
  local imt = {}
  info.imt = imt
  instance_info[imt] = info
  imt.__index = function(self, key)
    local props = rawget(self, props_key)
    local p = props and props[key]
    if p then return p.get(self) end
    return lookup(cls, key)
  end
  imt.__newindex = function(self, key, value)
    if getmetatable(value) == property_mark then
      local props = rawget(self, props_key)
      if not props then
        props = {}
        rawset(self, props_key, props)
      end
      props[key] = value
      return
    end
    local props = rawget(self, props_key)
    local p = props and props[key]
    if p then
      if not p.set then
        error("property '" .. tostring(key) .. "' of " .. name .. " is read-only", 2)
      end
      return p.set(self, value)
    end
    rawset(self, key, value)
  end
  imt.__tostring = function(self)
    local f = lookup(cls, "__tostring")
    if f then return f(self) end
    return name .. " object"
  end
  for _, op in ipairs(operators) do
    imt[op] = function(...)
      local f = lookup(cls, op)
      if not f then
        error("attempt to use operator '" .. op .. "' on a " .. name .. " object", 2)
      end
      return f(...)
    end
  end
  setmetatable(cls, {
    __index = function(_, key)
      local base = info.base
      return base and base[key]
    end,
    __call = function(_, ...)
      local obj = setmetatable({}, imt)
      local init = lookup(cls, "__init")
      if init then init(obj, ...) end
      return obj
    end,
    __tostring = function() return name .. " class" end,
  })
  return cls, info
end

-- The global environment of the function `level` levels above the caller
-- (1: the caller's caller): its getfenv, or in Lua 5.2+ its _ENV upvalue.
local function env_of(level)
  if getfenv then
    local env = getfenv(level + 2) -- not a tail call: LuaJIT drops the frame
    return env
  end
  local info = getinfo(level + 2, "f")
  local f = info and info.func
  if f then
    local i = 1
    while true do
      local n, v = getupvalue(f, i)
      if n == nil then break end
      if n == "_ENV" then return v end
      i = i + 1
    end
  end
  return _G
end
host.env_of = env_of

-- class "X" or class "X" (Base): defines the global X.
function class(name)
  if rawtype(name) ~= "string" then
    error("class: the name must be a string", 2)
  end
  local env = env_of(1)
  local cls, info = new_class(name)
  rawset(env, name, cls)
  return function(base)
    if base == cls then return cls end -- class "X" (X): ignored
    if not class_info[base] then
      error("class '" .. name .. "': the base is not a class", 2)
    end
    info.base = base
    return cls
  end
end

-- type(): class names, "X class", "Message"/"Bundle" and other objects of
-- the module by their metatable's name.
function type(...)
  local v = ...
  local t = rawtype(v)
  if t == "nil" and select("#", ...) == 0 then
    error("bad argument #1 to 'type' (value expected)", 2)
  end
  if t == "table" then
    local info = class_info[v]
    if info then return info.name .. " class" end
    local mt = getmetatable(v)
    info = mt and instance_info[mt]
    if info then return info.name end
  elseif t == "userdata" then
    local mt = getmetatable(v)
    if rawtype(mt) == "string" then return mt end
  end
  return t
end

-- For the loop and rprint: is this an instance of a class?
host.is_instance = function(v)
  if rawtype(v) ~= "table" then return false end
  local mt = getmetatable(v)
  return mt ~= nil and instance_info[mt] ~= nil
end
