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

local scalar = {
  boolean = Document.ObservableBoolean,
  number = Document.ObservableNumber,
  string = Document.ObservableString,
}

-- Observable lists (ObservableBooleanList, ...NumberList, ...StringList):
-- the items are observables at 1..n of the list itself, so `#list` and
-- `list[i]` work in every Lua (5.1 has no __len for tables).
local List = {}
List.__index = List
local function list(kind)
  local make = scalar[kind]
  return function(values)
    local l = setmetatable({ _kind = kind, _make = make, _obs = host.Observable() }, List)
    for _, v in ipairs(values or {}) do l[#l + 1] = make(v) end
    return l
  end
end
function List:size() return #self end
function List:property(i) return self[i] end
function List:insert(pos, value)
  if value == nil then pos, value = #self + 1, pos end
  table.insert(self, pos, self._make(value))
  self._obs:_fire()
  return self[pos]
end
function List:remove(pos)
  table.remove(self, pos or #self)
  self._obs:_fire()
end
function List:swap(a, b)
  self[a], self[b] = self[b], self[a]
  self._obs:_fire()
end
function List:find(start, value)
  if value == nil then start, value = 1, start end
  for i = start, #self do if self[i].value == value then return i end end
end
for _, m in ipairs({ "add_notifier", "has_notifier", "remove_notifier" }) do
  List[m] = function(self, ...) return self._obs[m](self._obs, ...) end
end
function List:_replace(texts)
  for i = #self, 1, -1 do self[i] = nil end
  for _, t in ipairs(texts) do self[#self + 1] = self._make(t) end
  self._obs:_fire()
end
local lists = { boolean = list("boolean"), number = list("number"), string = list("string") }
Document.ObservableBooleanList = lists.boolean
Document.ObservableNumberList = lists.number
Document.ObservableStringList = lists.string

-- A non-empty array of one scalar type becomes an observable list.
local function as_list(t)
  local kind = type(t[1])
  if not lists[kind] then return nil end
  local n = 0
  for k, v in pairs(t) do
    if type(k) ~= "number" or type(v) ~= kind then return nil end
    n = n + 1
  end
  if n ~= #t then return nil end
  return lists[kind](t)
end

local function wrap(v)
  local make = scalar[type(v)]
  if make then return make(v) end
  return v -- already an observable, a list or a node
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
    local child = as_list(value)
    if not child then
      child = DocumentNode()
      for _, k in ipairs(table.keys(value)) do child:add_property(k, value[k]) end
    end
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
    elseif getmetatable(p) == List then
      -- one <Item> per entry (our choice: Renoise's own element name for
      -- list items is not documented)
      out[#out + 1] = indent .. "<" .. name .. ">"
      for i = 1, #p do
        out[#out + 1] = indent .. "  <Item>" .. escape(tostring(p[i].value)) .. "</Item>"
      end
      out[#out + 1] = indent .. "</" .. name .. ">"
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

-- The text of an element as a value of `kind` (nil: not one).
local function parse(kind, text)
  local v = unescape(text)
  if kind == "number" then return tonumber(v) end
  if kind == "boolean" then return v == "true" end
  return v
end

local function from_xml(node, text)
  for name, inner in text:gmatch("<([%w_]+)>(.-)</%1>") do
    local p = rawget(node, name)
    if host.is_instance(p) and rawget(p, "_names") then
      from_xml(p, inner)
    elseif type(p) == "table" and rawget(p, "_value") ~= nil then
      local v = parse(type(p.value), inner)
      if v ~= nil then p.value = v end
    elseif getmetatable(p) == List then
      local values = {}
      for item in inner:gmatch("<Item>(.-)</Item>") do
        values[#values + 1] = parse(p._kind, item)
      end
      p:_replace(values)
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
