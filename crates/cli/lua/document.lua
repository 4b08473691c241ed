-- A small renoise.Document (RUNNER.md item 9): observables, documents
-- created from a model, DocumentNode with add_property, XML load_from /
-- save_as (Renoise-like: one element per field, nested nodes nested).
local host = ...
local fail = host.fail -- raises at the tool's line (class.lua)
local rawtype = host.rawtype -- observables and lists are tables here
-- A node's own fields (a DocumentNode subclass with __len is a userdata in
-- Lua 5.1 / LuaJIT, its fields in its environment).
local function nget(node, k)
  local t = host.raw(node)
  return t and rawget(t, k)
end
local function nset(node, k, v) rawset(host.raw(node), k, v) end
local Document = {}
renoise.Document = Document

-- Numbers as text that reads back as the same number (to_string, XML).
local function number_text(v)
  if math.type and math.type(v) == "integer" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  local s = string.format("%.14g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

local function text_of_value(v)
  if type(v) == "number" then return number_text(v) end
  return tostring(v)
end

-- The text of an element as a value of `kind` (nil: not one).
local function parse(kind, text)
  if kind == "number" then
    local t = text:match("^%s*(.-)%s*$")
    if t == "inf" then return math.huge end
    if t == "-inf" then return -math.huge end
    if t == "nan" or t == "-nan" then return 0 / 0 end
    return tonumber(t)
  end
  if kind == "boolean" then
    if text == "true" then return true end
    if text == "false" then return false end
    return nil
  end
  return text
end

-- Metatables of the observables (ObservableBoolean/Number/String).
local observable_mts = {}
local function is_observable(v) return observable_mts[getmetatable(v)] ~= nil end

-- The notifier methods of an object that keeps its Observable in `_obs`.
local function forward_notifiers(methods)
  for _, m in ipairs({ "add_notifier", "has_notifier", "remove_notifier" }) do
    methods[m] = function(self, ...) local o = rawget(self, "_obs") return o[m](o, ...) end
  end
end

-- The observable of one Lua type: "number" -> ObservableNumber.
local function observable(value_kind, default)
  local kind = "Observable" .. value_kind:sub(1, 1):upper() .. value_kind:sub(2)
  local function check(v) return type(v) == value_kind end
  local mt = {}
  observable_mts[mt] = true
  mt.__index = function(self, key)
    if key == "value" then return rawget(self, "_value") end
    return mt[key]
  end
  mt.__newindex = function(self, key, v)
    if key ~= "value" then fail(kind .. ": no field '" .. tostring(key) .. "'") end
    if not check(v) then fail(kind .. ": wrong value type " .. type(v)) end
    local old = rawget(self, "_value")
    rawset(self, "_value", v)
    if old ~= v then rawget(self, "_obs"):_fire() end
  end
  -- As Renoise's: the value's text (tostring(number) == "123").
  mt.__tostring = function(self) return text_of_value(rawget(self, "_value")) end
  mt.to_string = function(self) return text_of_value(rawget(self, "_value")) end
  mt.from_string = function(self, text)
    local v = type(text) == "string" and parse(value_kind, text)
    if v == nil then return false, kind .. ": cannot read '" .. tostring(text) .. "' as a " .. value_kind end
    self.value = v
    return true
  end
  if value_kind == "number" then
    -- `number + 12`: an ObservableNumber takes part in arithmetic as its value.
    local function num(x)
      if getmetatable(x) == mt then return rawget(x, "_value") end
      return x
    end
    mt.__add = function(a, b) return num(a) + num(b) end
    mt.__sub = function(a, b) return num(a) - num(b) end
    mt.__mul = function(a, b) return num(a) * num(b) end
    mt.__div = function(a, b) return num(a) / num(b) end
    mt.__mod = function(a, b) return num(a) % num(b) end
    mt.__pow = function(a, b) return num(a) ^ num(b) end
    mt.__unm = function(a) return -num(a) end
  end
  forward_notifiers(mt)
  mt.observable = function(self) return rawget(self, "_obs") end
  host.check_self(mt, kind, function(o) return getmetatable(o) == mt end)
  mt._kind = kind
  host.api_names[mt] = kind
  host.api_members[mt] = host.members_of(mt, { value = true })
  return function(v)
    if v == nil then v = default end
    if not check(v) then fail(kind .. ": wrong value type " .. type(v)) end
    return setmetatable({ _value = v, _obs = host.Observable() }, mt)
  end
end

Document.ObservableBoolean = observable("boolean", false)
Document.ObservableNumber = observable("number", 0)
Document.ObservableString = observable("string", "")
local Bang = {}
Bang.__index = Bang
host.api_names[Bang] = "ObservableBang"
function Bang:bang() rawget(self, "_obs"):_fire() end
forward_notifiers(Bang)
host.check_self(Bang, "ObservableBang", function(o) return getmetatable(o) == Bang end)
function Document.ObservableBang()
  return setmetatable({ _obs = host.Observable() }, Bang)
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
local list_names = {
  boolean = "ObservableBooleanList", number = "ObservableNumberList", string = "ObservableStringList",
}
host.api_names[List] = function(l) return list_names[rawget(l, "_kind")] end
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
-- Positions are whole numbers in 1..last; out of range raises and changes
-- nothing, as in Renoise. Notifiers get what changed:
-- {type = "insert" | "remove", index = i} or {type = "swap", index1, index2}.
local function check_index(fname, i, last)
  if type(i) ~= "number" or i % 1 ~= 0 or i < 1 or i > last then
    fail(("%s: index %s out of range 1..%d"):format(fname, tostring(i), last))
  end
end
function List:insert(pos, value)
  if value == nil then pos, value = #self + 1, pos end
  check_index("insert", pos, #self + 1)
  if type(value) ~= self._kind then
    fail(("insert: a %s expected, got %s"):format(self._kind, type(value)))
  end
  local item = self._make(value)
  table.insert(self, pos, item)
  self._obs:_fire({ type = "insert", index = pos })
  return item
end
function List:remove(pos)
  if #self == 0 then fail("remove: the list is empty") end
  if pos == nil then pos = #self end
  check_index("remove", pos, #self)
  table.remove(self, pos)
  self._obs:_fire({ type = "remove", index = pos })
end
function List:swap(a, b)
  check_index("swap", a, #self)
  check_index("swap", b, #self)
  self[a], self[b] = self[b], self[a]
  self._obs:_fire({ type = "swap", index1 = a, index2 = b })
end
function List:find(start, value)
  if value == nil then start, value = 1, start end
  check_index("find", start, math.max(#self, 1))
  for i = start, #self do if self[i].value == value then return i end end
end
forward_notifiers(List)
-- Loading replaces the items: notifiers hear each removal and insertion.
local function replace_items(list, items)
  for i = #list, 1, -1 do
    list[i] = nil
    list._obs:_fire({ type = "remove", index = i })
  end
  for i, item in ipairs(items) do
    list[i] = item
    list._obs:_fire({ type = "insert", index = i })
  end
end
local lists = { boolean = list("boolean"), number = list("number"), string = list("string") }
Document.ObservableBooleanList = lists.boolean
Document.ObservableNumberList = lists.number
Document.ObservableStringList = lists.string

-- DocumentList: a list of document nodes (model documents or DocumentNode
-- classes), with the observable lists' positions and notifications; saved
-- inside a document, one <Item type="ModelOrClassName"> per node.
local DocList = {}
DocList.__index = DocList
host.api_names[DocList] = "DocumentList"
local function is_node(v)
  return nget(v, "_names") ~= nil
end
host.is_node = is_node
function Document.DocumentList()
  return setmetatable({ _obs = host.Observable() }, DocList)
end
function DocList:size() return #self end
function DocList:property(i) return self[i] end
function DocList:insert(pos, node)
  if node == nil then pos, node = #self + 1, pos end
  check_index("insert", pos, #self + 1)
  if not is_node(node) then fail("insert: a DocumentList holds document nodes, got " .. type(node)) end
  table.insert(self, pos, node)
  self._obs:_fire({ type = "insert", index = pos })
  return node
end
DocList.remove = List.remove
DocList.swap = List.swap
function DocList:find(start, node)
  if node == nil then start, node = 1, start end
  check_index("find", start, math.max(#self, 1))
  for i = start, #self do if rawequal(self[i], node) then return i end end
end
for _, m in ipairs({ "add_notifier", "has_notifier", "remove_notifier" }) do
  DocList[m] = List[m]
end
for _, m in ipairs({ "save_as", "load_from", "to_string", "from_string" }) do
  DocList[m] = function()
    fail(m .. ": a DocumentList is saved and loaded as part of a document, not on its own")
  end
end

-- (After DocList took List's functions: each checks for its own kind.)
host.check_self(List, "an observable list", function(l) return getmetatable(l) == List end)
host.check_self(DocList, "DocumentList", function(l) return getmetatable(l) == DocList end)

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
local DocumentNode = rawget(_G, "DocumentNode")
rawset(_G, "DocumentNode", nil)
Document.DocumentNode = DocumentNode

-- A document's type, its XML root: a model's name, a DocumentNode
-- subclass's name, "Document" for a plain node.
local function doc_type(node)
  local name = nget(node, "_doc_name")
  if name then return name end
  local t = type(node)
  if t ~= "DocumentNode" and t ~= "table" and t ~= "userdata" then return t end
  return "Document"
end

function DocumentNode:__init()
  self._names = {}
end

-- A table literal's keys have no order: its fields are taken (and saved)
-- in the order of their names; add_property's in the order of the calls.
local function sorted_keys(t)
  local keys = table.keys(t)
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function index_of(names, name)
  for i, n in ipairs(names) do
    if n == name then return i end
  end
end

-- Names become XML element names: letters, digits and '_', not starting
-- with a digit (Renoise refuses the rest).
local function check_name(what, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    fail(("%s: invalid name '%s' (letters, digits and '_', not starting with a digit)")
      :format(what, tostring(name)))
  end
end

-- A table literal as a property: an array of one type is a list, a table
-- with names a node; an empty one or a mixed one says nothing of its
-- type and is refused, as Renoise does.
local function from_literal(t)
  if next(t) == nil then
    fail("add_property: an empty table is neither a list (of which type?) nor a node")
  end
  local list = as_list(t)
  if list then return list end
  if t[1] ~= nil then
    fail("add_property: a list holds values of one type: booleans, numbers or strings")
  end
  local child = DocumentNode()
  for _, k in ipairs(sorted_keys(t)) do child:_add(k, t[k]) end
  return child
end

-- Names a property cannot have: the node's own fields and methods.
local reserved = {
  _names = true, _doc_name = true, _add = true, __init = true, add_property = true,
  add_properties = true, has_property = true, remove_property = true, property = true,
  save_as = true, load_from = true, to_string = true, from_string = true,
}

function DocumentNode:_add(name, value)
  check_name("add_property", name)
  if reserved[name] then
    fail("add_property: '" .. name .. "' is a name of DocumentNode's own")
  end
  local rt = rawtype(value)
  if not (rt == "table" or rt == "userdata" or scalar[rt]) then
    fail("add_property: '" .. name .. "' needs a boolean, number or string, an observable, a list or a node, got "
      .. type(value))
  end
  if nget(self, "_names") == nil then nset(self, "_names", {}) end
  if index_of(nget(self, "_names"), name) then
    fail("add_property: there is a property '" .. name .. "' already")
  end
  if type(value) == "table" and getmetatable(value) == nil then
    value = from_literal(value)
  end
  local p = wrap(value)
  table.insert(nget(self, "_names"), name)
  nset(self, name, p)
  return p
end

function DocumentNode:add_property(name, value)
  return self:_add(name, value)
end

function DocumentNode:property(name) return nget(self, name) end

function DocumentNode:has_property(name)
  return index_of(nget(self, "_names") or {}, name) ~= nil
end

-- add_properties{...}: add_property for each field (by name: a table has
-- no order).
function DocumentNode:add_properties(t)
  for _, k in ipairs(sorted_keys(t)) do self:_add(k, t[k]) end
end

-- remove_property(property): the property object, as Renoise takes it (or
-- its name); it is no longer saved or loaded.
function DocumentNode:remove_property(p)
  local names = nget(self, "_names") or {}
  for i, n in ipairs(names) do
    if rawequal(n, p) or rawequal(nget(self, n), p) then
      table.remove(names, i)
      nset(self, n, nil)
      return
    end
  end
  fail("remove_property: not a property of this document")
end

-- A carriage return is written as a reference: a reader turns every raw
-- line end into "\n" (XML 1.0, 2.11), so only "&#13;" brings one back.
local function escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub("\r", "&#13;"))
end

-- A code point as UTF-8 (for &#NN; references).
local function utf8_of(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
  end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40,
      0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
    0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local entities = { lt = "<", gt = ">", amp = "&", quot = '"', apos = "'" }
-- Entities declared in a DOCTYPE nest at most this deep, and expand to at
-- most this much text: a document of nested declarations ("billion
-- laughs") cannot exhaust memory.
local ENTITY_DEPTH, ENTITY_TEXT = 16, 1024 * 1024
-- XML's five entities, character references and the entities `declared`
-- by the document's DOCTYPE (name -> replacement text); nil, message for
-- anything else.
local function unescape(s, declared, depth)
  local bad
  local r = s:gsub("&([#%w_:%.%-]*)(;?)", function(ref, semi)
    if bad then return end
    if semi == "" then bad = "unknown entity &" .. ref .. " without its ';'" return end
    local cp
    if ref:match("^#x%x+$") then cp = tonumber(ref:sub(3), 16)
    elseif ref:match("^#%d+$") then cp = tonumber(ref:sub(2)) end
    if cp and cp <= 0x10FFFF then return utf8_of(cp) end
    if entities[ref] then return entities[ref] end
    local value = declared and declared[ref]
    if not value then bad = "unknown entity &" .. ref return end
    if (depth or 0) >= ENTITY_DEPTH then bad = "entity &" .. ref .. "; nests too deep" return end
    local text, err = unescape(value, declared, (depth or 0) + 1)
    if not text then bad = err return end
    if #text > ENTITY_TEXT then bad = "entity &" .. ref .. "; expands to too much text" return end
    return text
  end)
  if bad then return nil, bad end
  if #r > ENTITY_TEXT and (depth or 0) > 0 then return nil, "an entity expands to too much text" end
  return r
end

-- Text of element content: entities decoded, CDATA sections taken as they
-- are.
local function text_of(raw, declared)
  local parts, pos = {}, 1
  while true do
    local a, b, cdata = raw:find("<!%[CDATA%[(.-)%]%]>", pos)
    local plain, err = unescape(raw:sub(pos, (a or 0) - 1), declared)
    if not plain then return nil, err end
    parts[#parts + 1] = plain
    if not a then return table.concat(parts) end
    parts[#parts + 1] = cdata
    pos = b + 1
  end
end

-- The `>` that ends the tag opened at `pos`: quoted attribute values may
-- hold a `>` of their own.
local function tag_end(xml, pos)
  local i = pos
  while true do
    local _, q
    i, _, q = xml:find("([>\"'])", i + 1)
    if not i or q == ">" then return i end
    i = xml:find(q, i + 1, true)
    if not i then return nil end
  end
end

-- The `]` that ends a DOCTYPE's internal subset opened by the `[` at
-- `from`, and the `>` after it: `]` and `>` inside quoted literals and
-- comments of the declarations do not count.
local function subset_end(xml, from)
  local i = from + 1
  while true do
    local at, _, c = xml:find("([\"'%]<])", i)
    if not at then return nil end
    if c == "]" then
      local _, close = xml:find("^%]%s*>", at)
      if close then return at, close end
      i = at + 1
    elseif c == "<" then
      local e = xml:find("^<!%-%-", at) and select(2, xml:find("-->", at + 4, true))
      i = (e or at) + 1
    else
      local q = xml:find(c, at + 1, true)
      if not q then return nil end
      i = q + 1
    end
  end
end

-- The general entities an internal subset declares with a literal value
-- (the first declaration of a name binds it; parameter and external
-- entities are not read).
local function declared_entities(subset)
  local found = {}
  for name, _, value in subset:gmatch("<!ENTITY%s+([%a_:][%w_:%.%-]*)%s+([\"'])(.-)%2%s*>") do
    if found[name] == nil then found[name] = value end
  end
  return found
end

-- Parses a whole XML document into { name =, children = {...}, text = }
-- elements (attributes are ignored), or nil, message for text that is not
-- well-formed.
local function parse_xml(xml)
  local root, stack, pos = nil, {}, 1
  local declared
  -- A byte order mark, which editors on Windows often write, is no text.
  if xml:sub(1, 3) == "\239\187\191" then pos = 4 end
  -- Line ends as a Windows editor saves them read as "\n" (XML 1.0, 2.11).
  xml = xml:gsub("\r\n?", "\n")
  local function bad(msg)
    local line = select(2, xml:sub(1, pos):gsub("\n", "")) + 1
    return nil, ("line %d: %s"):format(line, msg)
  end
  while pos <= #xml do
    local lt = xml:find("<", pos, true)
    local top = stack[#stack]
    local chars = xml:sub(pos, (lt or #xml + 1) - 1)
    if top then
      top.raw[#top.raw + 1] = chars
    elseif chars:find("%S") then
      return bad("text outside the root element")
    end
    if not lt then break end
    pos = lt
    if xml:find("^<%?", pos) then
      local e = xml:find("?>", pos, true)
      if not e then return bad("unterminated <?") end
      pos = e + 2
    elseif xml:find("^<!%-%-", pos) then
      local e = xml:find("-->", pos, true)
      if not e then return bad("unterminated comment") end
      pos = e + 3
    elseif xml:find("^<!%[CDATA%[", pos) then
      local e = xml:find("]]>", pos, true)
      if not e or not top then return bad("misplaced CDATA") end
      top.raw[#top.raw + 1] = xml:sub(pos, e + 2)
      pos = e + 3
    elseif xml:find("^<!", pos) then
      -- A DOCTYPE's internal subset holds declarations with '>' of their
      -- own, and the entities the document may use.
      local e = xml:find(">", pos, true)
      local subset = xml:find("[", pos, true)
      if subset and e and subset < e and xml:find("^<!DOCTYPE", pos) then
        local last
        last, e = subset_end(xml, subset)
        if last then declared = declared_entities(xml:sub(subset + 1, last - 1)) end
      end
      if not e then return bad("unterminated <!") end
      pos = e + 1
    else
      local e = tag_end(xml, pos)
      if not e then return bad("unterminated tag") end
      local tag = xml:sub(pos + 1, e - 1)
      local closing, name = tag:match("^(/?)([%a_:][%w_:%.%-]*)")
      if not name then return bad("bad tag <" .. tag .. ">") end
      pos = e + 1
      if closing == "/" then
        if not top or top.name ~= name then
          return bad("</" .. name .. "> does not close " .. (top and "<" .. top.name .. ">" or "anything"))
        end
        stack[#stack] = nil
        local text, err = text_of(table.concat(top.raw), declared)
        if not text then return bad(err) end
        top.text, top.raw = text, nil
      else
        if root and not top then return bad("a second root element <" .. name .. ">") end
        local el = { name = name, children = {}, raw = {}, tag = tag }
        if top then top.children[#top.children + 1] = el else root = el end
        if tag:sub(-1) == "/" then
          el.text, el.raw = "", nil
        else
          stack[#stack + 1] = el
        end
      end
    end
  end
  if #stack > 0 then return bad("<" .. stack[#stack].name .. "> is not closed") end
  if not root then return bad("no root element") end
  return root
end

-- A number as text that reads back as the same number.
local function value_text(v)
  if type(v) == "number" then return number_text(v) end
  return escape(tostring(v))
end

local function to_xml(node, indent, out)
  for _, name in ipairs(nget(node, "_names") or {}) do
    local p = nget(node, name)
    if is_node(p) then
      out[#out + 1] = indent .. "<" .. name .. ">"
      to_xml(p, indent .. "  ", out)
      out[#out + 1] = indent .. "</" .. name .. ">"
    elseif is_observable(p) then
      out[#out + 1] = indent .. "<" .. name .. ">" .. value_text(p.value) .. "</" .. name .. ">"
    elseif getmetatable(p) == DocList then
      out[#out + 1] = indent .. "<" .. name .. ">"
      for i = 1, #p do
        local item = p[i]
        local kind = doc_type(item)
        out[#out + 1] = indent .. '  <Item type="' .. escape(kind) .. '">'
        to_xml(item, indent .. "    ", out)
        out[#out + 1] = indent .. "  </Item>"
      end
      out[#out + 1] = indent .. "</" .. name .. ">"
    elseif getmetatable(p) == List then
      -- one <Item> per entry (our choice: Renoise's own element name for
      -- list items is not documented)
      out[#out + 1] = indent .. "<" .. name .. ">"
      for i = 1, #p do
        out[#out + 1] = indent .. "  <Item>" .. value_text(p[i].value) .. "</Item>"
      end
      out[#out + 1] = indent .. "</" .. name .. ">"
    end
  end
end

-- The XML save_as writes.
function DocumentNode:to_string()
  local out = { '<?xml version="1.0" encoding="UTF-8"?>',
    "<" .. doc_type(self) .. ' doc_version="0">' }
  to_xml(self, "  ", out)
  out[#out + 1] = "</" .. doc_type(self) .. ">"
  return table.concat(out, "\n") .. "\n"
end

function DocumentNode:save_as(path)
  if type(path) ~= "string" then
    fail("bad argument #1 to 'save_as' (string expected, got " .. type(path) .. ")")
  end
  local f, err = io.open(path, "wb")
  if not f then return false, err end
  f:write(self:to_string())
  f:close()
  return true
end

local models = {}

-- What makes a node of a DocumentList item's type: a model of
-- Document.create, or a global class; nil, message if there is none.
local function maker(kind)
  if models[kind] then return function() return Document.instantiate(kind) end end
  local cls = rawget(_G, kind)
  if cls ~= nil and type(cls) == kind .. " class" then return cls end
  return nil, "the document type '" .. tostring(kind) .. "' was not registered"
end

-- A new node of that type (nil, message: none, or the class makes no node).
local function new_node(kind)
  local make, why = maker(kind)
  if not make then return nil, why end
  local node = make()
  if is_node(node) then return node end
  return nil, "the class '" .. kind .. "' makes no DocumentNode"
end

local function item_kind(el)
  local kind = (el.tag or ""):match('%stype%s*=%s*"([^"]*)"') or (el.tag or ""):match("%stype%s*=%s*'([^']*)'")
  return kind and text_of(kind) or nil
end

-- Every DocumentList item of the XML can be made: checked before anything
-- is loaded, so a failed load changes nothing.
local function check_lists(node, el)
  for _, child in ipairs(el.children) do
    local p = nget(node, child.name)
    if is_node(p) then
      local ok, why = check_lists(p, child)
      if not ok then return false, why end
    elseif getmetatable(p) == DocList then
      for _, item in ipairs(child.children) do
        local kind = item_kind(item)
        if not kind then return false, "a DocumentList item without a type" end
        local make, why = maker(kind)
        if not make then return false, why end
      end
    end
  end
  return true
end

local function from_xml(node, el)
  for _, child in ipairs(el.children) do
    local p = nget(node, child.name)
    if getmetatable(p) == DocList then
      local items = {}
      for _, item in ipairs(child.children) do
        local n, why = new_node(item_kind(item))
        if not n then error(why, 0) end
        from_xml(n, item)
        items[#items + 1] = n
      end
      replace_items(p, items)
    elseif is_node(p) then
      from_xml(p, child)
    elseif is_observable(p) then
      local v = parse(type(p.value), child.text)
      if v ~= nil then p.value = v end
    elseif getmetatable(p) == List then
      local items = {}
      for _, item in ipairs(child.children) do
        local v = parse(p._kind, item.text)
        if v ~= nil then items[#items + 1] = p._make(v) end
      end
      replace_items(p, items)
    end
  end
end

-- false, message (nothing changed) for a file that cannot be read or is
-- not well-formed XML, as Renoise's load_from returns for a failed load.
local function load_text(self, text, what)
  local root, perr = parse_xml(text)
  if not root then return false, what .. ": not a valid XML document (" .. perr .. ")" end
  -- Renoise: "the loaded document's type must match the document type
  -- that saved the XML data" (a Document.create(name) document's type is
  -- its name).
  local name = doc_type(self)
  if name ~= "Document" and root.name ~= name then
    return false, what .. ": a '" .. root.name .. "' document, not a '" .. name .. "' one"
  end
  local ok, why = check_lists(self, root)
  if not ok then return false, what .. ": " .. why end
  -- Lists inside list items are checked as they load: such a failure
  -- reports like the others (what loaded before it stays loaded).
  ok, why = pcall(from_xml, self, root)
  if not ok then return false, what .. ": " .. tostring(why) end
  return true
end

function DocumentNode:load_from(path)
  if type(path) ~= "string" then
    fail("bad argument #1 to 'load_from' (string expected, got " .. type(path) .. ")")
  end
  local f, err = io.open(path, "rb")
  if not f then return false, err end
  -- (A folder opens, and then cannot be read.)
  local text, rerr = f:read("*a")
  f:close()
  if not text then return false, path .. ": " .. tostring(rerr or "cannot be read") end
  return load_text(self, text, path)
end

-- The text to_string gives, as load_from reads a file.
function DocumentNode:from_string(text)
  if type(text) ~= "string" then
    fail("bad argument #1 to 'from_string' (string expected, got " .. type(text) .. ")")
  end
  return load_text(self, text, "from_string")
end

-- A fresh copy of a model's value for Document.instantiate: observables
-- and lists with the model's values, nodes of the same type, empty
-- DocumentLists.
local function fresh(v)
  if rawtype(v) ~= "table" then return v end
  local mt = getmetatable(v)
  if mt == nil then
    local t = {}
    for k, x in pairs(v) do t[k] = fresh(x) end
    return t
  end
  if mt == DocList then
    -- Nodes of the same types as the model's list holds now.
    local l = Document.DocumentList()
    for i = 1, #v do
      local kind = doc_type(v[i])
      l[i] = assert(new_node(kind))
    end
    return l
  end
  if mt == List then
    local values = {}
    for i = 1, #v do values[i] = v[i].value end
    return lists[v._kind](values)
  end
  if is_observable(v) then
    return Document[mt._kind](rawget(v, "_value"))
  end
  if nget(v, "_doc_name") and models[v._doc_name] then
    return Document.instantiate(v._doc_name)
  end
  return v
end

-- Document.create("Name") { field = default, nested = { ... } }: a
-- document, and the model Document.instantiate("Name") makes new ones of.
function Document.create(name)
  check_name("Document.create", name)
  return function(model)
    if rawtype(model) ~= "table" then
      fail("Document.create('" .. name .. "'): the model must be a table of properties, got "
        .. type(model))
    end
    local doc = DocumentNode()
    nset(doc, "_doc_name", name)
    for _, k in ipairs(sorted_keys(model)) do doc:_add(k, model[k]) end
    models[name] = model
    return doc
  end
end

function Document.instantiate(name)
  local model = models[name]
  if not model then
    fail("Document.instantiate: no document model '" .. tostring(name) .. "' was created")
  end
  local doc = DocumentNode()
  nset(doc, "_doc_name", name)
  for _, k in ipairs(sorted_keys(model)) do doc:_add(k, fresh(model[k])) end
  return doc
end

-- (Subclasses find these through their base, so they check too.)
host.check_self(DocumentNode, "DocumentNode", function(n) return host.raw(n) ~= nil end)
