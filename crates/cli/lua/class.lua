-- luabind-style classes as Renoise has them: class, property, type().
-- (RUNNER.md items 1-3.)
local host = ...
local rawtype, setmetatable, getmetatable, rawget, rawset, error =
  type, setmetatable, getmetatable, rawget, rawset, error
-- Classes are registered here whatever environment declares them.
local globals = _G
host.rawtype = rawtype

-- Raises `msg` at the line of the tool that called into the runner's API:
-- the first frame up the stack that is not the runner's own code. (A
-- level given to error() counts frames, and the runner's own calls and
-- tail calls between the tool and the check would move it into the
-- runner's files.) A C caller, such as pcall, gives no position, as it
-- does for Lua's own argument errors.
local getinfo = debug.getinfo
local function fail(msg)
  local level = 2
  while true do
    local info = getinfo(level, "S")
    if info == nil then error(msg, 0) end
    local source = info.source
    if not (source:find("=[renoise-socket ", 1, true) == 1 or info.what == "tail") then
      error(msg, level) -- (not a tail call: that would take this frame away)
    end
    level = level + 1
  end
end
host.fail = fail

-- Makes each method of `methods` check its `self` first: one called with
-- '.' instead of ':' (or on another object) gets Lua's own message for a
-- bad self, at the tool's line, instead of failing somewhere inside the
-- runner. Names starting with '_' (metamethods, the runner's own) are
-- left alone.
function host.check_self(methods, what, is_self)
  local wrapped = {}
  for name, f in pairs(methods) do
    if rawtype(f) == "function" and rawtype(name) == "string" and name:sub(1, 1) ~= "_" then
      wrapped[name] = function(self, ...)
        if not is_self(self) then
          fail(("calling '%s' on bad self (%s expected, got %s)"):format(name, what, type(self)))
        end
        return f(self, ...)
      end
    end
  end
  for name, f in pairs(wrapped) do methods[name] = f end
end
-- Instances are tables, but Lua 5.1 and LuaJIT ignore `__len` on tables,
-- and luabind's instances are userdata: there, an instance of a class
-- with `__len` is a userdata whose fields are its environment table.
local newproxy, getfenv_of, setfenv_of = rawget(_G, "newproxy"), debug.getfenv, debug.setfenv
local len_on_tables = #setmetatable({}, { __len = function() return 1 end }) == 1

local class_info = setmetatable({}, { __mode = "k" })    -- class -> info
local instance_info = setmetatable({}, { __mode = "k" }) -- metatable -> info

-- The table that holds an instance's fields: the instance itself, or the
-- environment of a userdata instance; nil for anything else.
local function fields(v)
  local t = rawtype(v)
  if t == "table" then return v end
  if t == "userdata" then
    local mt = getmetatable(v)
    if mt ~= nil and instance_info[mt] ~= nil then return getfenv_of(v) end
  end
  return nil
end
host.raw = fields
-- Renoise's own API objects (observables, the tool, ...) are class
-- instances there too: metatable -> name, or a function of the object
-- giving it.
local api_names = setmetatable({}, { __mode = "k" })
host.api_names = api_names
-- For objinfo: metatable -> a function of the object giving its members
-- (name -> a function for methods, anything else for properties), for
-- API objects whose metatable's __index is a function.
local api_members = setmetatable({}, { __mode = "k" })
host.api_members = api_members
-- For api_members: the members of several tables, merged when asked (so
-- later additions count).
function host.members_of(...)
  local tables = { ... }
  return function()
    local members = {}
    for _, t in ipairs(tables) do
      for k, v in pairs(t) do members[k] = v end
    end
    return members
  end
end
local property_mark = {}

-- property(getter [, setter]): assigned to an instance field, reads and
-- writes of that field go through the functions. A nil getter is taken,
-- as luabind takes it (xLib's xMessage makes one from methods it never
-- defined, and is built in Renoise all the same): only reading that field
-- fails.
function property(getter, setter)
  if getter ~= nil and rawtype(getter) ~= "function" then
    fail("property: the getter must be a function or nil")
  end
  if setter ~= nil and rawtype(setter) ~= "function" then
    fail("property: the setter must be a function or nil")
  end
  return setmetatable({ get = getter, set = setter }, property_mark)
end

-- The value of the property `p`, the field `key` of `self`, of class `name`.
local function read_property(p, self, key, name)
  if not p.get then
    fail("property '" .. tostring(key) .. "' of " .. name .. " has no getter (property(nil, ...))")
  end
  return p.get(self)
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

local sentinel_key = {}

-- __finalize(self), luabind's hook for a collected instance (a class that
-- counts its instances). An error there cannot go anywhere useful: it is
-- printed, and collection goes on.
local function finalize(self)
  local mt = getmetatable(self)
  local info = mt and instance_info[mt]
  local f = info and lookup(info.cls, "__finalize")
  -- The prototype of a class with __len (Lua 5.1, LuaJIT) shares the
  -- instances' metatable, __gc too, but is no instance: never built.
  if f and not rawequal(self, info.proto) then
    local ok, err = pcall(f, self)
    if not ok then io.stderr:write("renoise-socket: error in __finalize: ", tostring(err), "\n") end
  end
end

local function new_class(name)
  local cls = {}
  local info = { name = name, cls = cls }
  class_info[cls] = info
  local props_key = {} -- per-instance property table, stored under this key
  local imt = {}
  info.imt = imt
  instance_info[imt] = info
  imt.__index = function(self, key)
    local t = fields(self)
    if t ~= self then
      local v = rawget(t, key)
      if v ~= nil then return v end
    end
    local props = rawget(t, props_key)
    local p = props and props[key]
    if p then return read_property(p, self, key, name) end
    local v = lookup(cls, key)
    -- A property of the class (`A.x = property(A.get_x)`), as luabind has.
    if getmetatable(v) == property_mark then return read_property(v, self, key, name) end
    return v
  end
  imt.__newindex = function(self, key, value)
    local t = fields(self)
    if getmetatable(value) == property_mark then
      local props = rawget(t, props_key)
      if not props then
        props = {}
        rawset(t, props_key, props)
      end
      props[key] = value
      return
    end
    local props = rawget(t, props_key)
    local p = props and props[key]
    if not p then
      p = lookup(cls, key)
      if getmetatable(p) ~= property_mark then p = nil end
    end
    if p then
      if not p.set then
        fail("property '" .. tostring(key) .. "' of " .. name .. " is read-only")
      end
      return p.set(self, value)
    end
    rawset(t, key, value)
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
        -- Without __eq, two instances are equal when they are the same
        -- one (tools keep instances in tables and compare them).
        if op == "__eq" then return rawequal(...) end
        fail("attempt to use operator '" .. op .. "' on a " .. name .. " object")
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
      local obj
      local finalized = lookup(cls, "__finalize") ~= nil
      -- Lua 5.2+ finalizes tables whose metatable had __gc when set.
      if finalized and len_on_tables then imt.__gc = imt.__gc or finalize end
      if newproxy and not len_on_tables and lookup(cls, "__len") then
        if not info.proto then
          -- Every instance shares the metatable of the first one.
          info.proto = newproxy(true)
          local pmt = getmetatable(info.proto)
          for k, v in pairs(imt) do pmt[k] = v end
          instance_info[pmt] = info
        end
        if finalized then getmetatable(info.proto).__gc = finalize end
        obj = newproxy(info.proto)
        setfenv_of(obj, {})
      else
        obj = setmetatable({}, imt)
        if finalized and not len_on_tables then
          -- Lua 5.1 and LuaJIT finalize userdata only: a sentinel that
          -- goes with the instance calls __finalize for it.
          local sentinel = newproxy(true)
          getmetatable(sentinel).__gc = function() finalize(obj) end
          rawset(obj, sentinel_key, sentinel)
        end
      end
      local init = lookup(cls, "__init")
      if init then init(obj, ...) end
      return obj
    end,
    __tostring = function() return name .. " class" end,
  })
  return cls, info
end

-- class "X" or class "X" (Base): defines the global X. As luabind's
-- lua_setglobal in Renoise ("class defs are always global"), X goes into
-- the global table even when the caller runs in another environment (a
-- `module(...)` file, a chunk under setfenv or with its own _ENV): a class
-- declared in a module is used from main.lua by its bare name.
function class(name)
  if rawtype(name) ~= "string" then
    fail("class: the name must be a string")
  end
  local cls, info = new_class(name)
  rawset(globals, name, cls)
  return function(base)
    if base == cls then return cls end -- class "X" (X): ignored
    if not class_info[base] then
      fail("class '" .. name .. "': the base is not a class")
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
    fail("bad argument #1 to 'type' (value expected)")
  end
  if t == "table" then
    local info = class_info[v]
    if info then return info.name .. " class" end
    local mt = getmetatable(v)
    info = mt and instance_info[mt]
    if info then return info.name end
    local name = mt and api_names[mt]
    if rawtype(name) == "function" then name = name(v) end
    if name then return name end
  elseif t == "userdata" then
    local mt = getmetatable(v)
    if rawtype(mt) == "string" then return mt end
    local info = mt and instance_info[mt]
    if info then return info.name end
  end
  return t
end

-- The socket module's objects guard their metatables (getmetatable gives
-- their type's name): their members as the module's README lists them.
local method = function() end
for name, members in pairs({
  SocketClient = { is_open = true, local_address = true, local_port = true, peer_address = true,
    peer_port = true, receive = method, send = method, close = method },
  SocketServer = { is_open = true, is_running = true, local_address = true, local_port = true,
    run = method, stop = method, wait = method, close = method },
  Message = { pattern = true, arguments = true, binary_data = true, to_binary_data = method },
  Bundle = { timetag = true, elements = true, binary_data = true, to_binary_data = method },
}) do
  api_members[name] = host.members_of(members)
end

-- objinfo(object): Renoise's list of an object's properties and methods,
-- a string (tools parse it: cLib's cReflection reads the names between
-- "properties:" and "methods:", so both headings are always there). For
-- a class instance its fields and properties, and the methods of its
-- class and bases; for another table (an API object) its fields and the
-- functions its metatable's __index table offers.
function objinfo(object)
  local props, methods, seen = {}, {}, {}
  local function add(key, value)
    if rawtype(key) ~= "string" or key:sub(1, 2) == "__" or key:sub(1, 1) == "_" or seen[key] then
      return
    end
    seen[key] = true
    if rawtype(value) == "function" then
      methods[#methods + 1] = key
    else
      props[#props + 1] = key
    end
  end
  local t = fields(object)
  if t ~= nil then
    for k, v in pairs(t) do
      if rawtype(k) == "table" and rawtype(v) == "table" then
        -- The instance's properties, stored under a private key.
        for name in pairs(v) do add(name, true) end
      else
        add(k, v)
      end
    end
  end
  local mt = getmetatable(object)
  local info = mt and instance_info[mt]
  if info then
    local cls = info.cls
    while cls do
      for k, v in pairs(cls) do
        if getmetatable(v) == property_mark then add(k, true) else add(k, v) end
      end
      local ci = class_info[cls]
      cls = ci and ci.base
    end
  elseif mt ~= nil and api_members[mt] then
    for k, v in pairs(api_members[mt](object)) do add(k, v) end
  elseif rawtype(mt) == "table" and rawtype(mt.__index) == "table" then
    for k, v in pairs(mt.__index) do add(k, v) end
  end
  table.sort(props)
  table.sort(methods)
  local lines = { "class: " .. type(object), " properties:" }
  for _, k in ipairs(props) do lines[#lines + 1] = "  " .. k end
  lines[#lines + 1] = " methods:"
  for _, k in ipairs(methods) do lines[#lines + 1] = "  " .. k end
  return table.concat(lines, "\n")
end

