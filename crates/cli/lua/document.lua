-- A small renoise.Document (RUNNER.md item 9): observables, documents
-- created from a model, DocumentNode with add_property, XML load_from /
-- save_as (Renoise-like: one element per field, nested nodes nested).
local host = ...
local Document = {}
renoise.Document = Document

local function observable(kind, check, default)
  local mt = {}
  mt.__index = function(self, key)
    if key == "value" then return rawget(self, "_value") end
    return mt[key]
  end
  mt.__newindex = function(self, key, v)
    if key ~= "value" then error(kind .. ": no field '" .. tostring(key) .. "'", 2) end
    if not check(v) then error(kind .. ": wrong value type " .. type(v), 2) end
    local old = rawget(self, "_value")
    rawset(self, "_value", v)
    if old ~= v then rawget(self, "_obs"):_fire() end
  end
  mt.__tostring = function(self) return kind .. "(" .. tostring(rawget(self, "_value")) .. ")" end
  for _, m in ipairs({ "add_notifier", "has_notifier", "remove_notifier" }) do
    mt[m] = function(self, ...) local o = rawget(self, "_obs") return o[m](o, ...) end
  end
  mt.observable = function(self) return rawget(self, "_obs") end
  mt._kind = kind
  return function(v)
    if v == nil then v = default end
    if not check(v) then error(kind .. ": wrong value type " .. type(v), 2) end
    return setmetatable({ _value = v, _obs = host.Observable() }, mt)
  end
end

Document.ObservableBoolean = observable("ObservableBoolean",
  function(v) return type(v) == "boolean" end, false)
Document.ObservableNumber = observable("ObservableNumber",
  function(v) return type(v) == "number" end, 0)
Document.ObservableString = observable("ObservableString",
  function(v) return type(v) == "string" end, "")
function Document.ObservableBang()
  local o = host.Observable()
  return {
    bang = function() o:_fire() end,
    add_notifier = function(_, ...) return o:add_notifier(...) end,
    has_notifier = function(_, ...) return o:has_notifier(...) end,
    remove_notifier = function(_, ...) return o:remove_notifier(...) end,
  }
end

local function wrap(v)
  local t = type(v)
  if t == "boolean" then return Document.ObservableBoolean(v) end
  if t == "number" then return Document.ObservableNumber(v) end
  if t == "string" then return Document.ObservableString(v) end
  return v -- already an observable or node
end

-- DocumentNode: a class whose properties are observables (or nodes).
class "DocumentNode"
local env = host.env_of(0)
local DocumentNode = rawget(env, "DocumentNode")
rawset(env, "DocumentNode", nil)
Document.DocumentNode = DocumentNode

function DocumentNode:__init()
  self._names = {}
end

function DocumentNode:add_property(name, value)
  if rawget(self, "_names") == nil then self._names = {} end
  if type(value) == "table" and getmetatable(value) == nil then
    local child = DocumentNode()
    for _, k in ipairs(table.keys(value)) do child:add_property(k, value[k]) end
    value = child
  end
  local p = wrap(value)
  table.insert(self._names, name)
  rawset(self, name, p)
  return p
end

function DocumentNode:property(name) return rawget(self, name) end

local function escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end
local function unescape(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&amp;", "&"))
end

local function to_xml(node, indent, out)
  local names = table.copy(rawget(node, "_names") or {})
  table.sort(names)
  for _, name in ipairs(names) do
    local p = rawget(node, name)
    if type(p) == "DocumentNode" or (type(p) == "table" and rawget(p, "_names")) then
      out[#out + 1] = indent .. "<" .. name .. ">"
      to_xml(p, indent .. "  ", out)
      out[#out + 1] = indent .. "</" .. name .. ">"
    elseif type(p) == "table" and rawget(p, "_value") ~= nil then
      out[#out + 1] = indent .. "<" .. name .. ">" .. escape(tostring(p.value)) .. "</" .. name .. ">"
    end
  end
end

function DocumentNode:save_as(path)
  local out = { '<?xml version="1.0" encoding="UTF-8"?>',
    "<" .. (rawget(self, "_doc_name") or "Document") .. ' doc_version="0">' }
  to_xml(self, "  ", out)
  out[#out + 1] = "</" .. (rawget(self, "_doc_name") or "Document") .. ">"
  local f, err = io.open(path, "wb")
  if not f then return false, err end
  f:write(table.concat(out, "\n"), "\n")
  f:close()
  return true
end

local function from_xml(node, text)
  for name, inner in text:gmatch("<([%w_]+)>(.-)</%1>") do
    local p = rawget(node, name)
    if host.is_instance(p) and rawget(p, "_names") then
      from_xml(p, inner)
    elseif type(p) == "table" and rawget(p, "_value") ~= nil then
      local old = p.value
      local v = unescape(inner)
      if type(old) == "number" then p.value = tonumber(v) or old
      elseif type(old) == "boolean" then p.value = (v == "true")
      else p.value = v end
    end
  end
end

function DocumentNode:load_from(path)
  local f, err = io.open(path, "rb")
  if not f then return false, err end
  local text = f:read("*a")
  f:close()
  local body = text:match("<[%w_]+ doc_version=\"%d+\">(.*)</[%w_]+>") or text
  from_xml(self, body)
  return true
end

-- Document.create("Name") { field = default, nested = { ... } }
function Document.create(name)
  return function(model)
    local doc = DocumentNode()
    rawset(doc, "_doc_name", name)
    for _, k in ipairs(table.keys(model)) do doc:add_property(k, model[k]) end
    return doc
  end
end
