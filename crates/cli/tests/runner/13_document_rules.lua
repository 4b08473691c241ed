-- renoise.Document's rules as Renoise's own document test pins them:
-- names, duplicates and untyped lists refused; observables read as their
-- value and take part in arithmetic; list positions checked and list
-- notifiers told what changed.
local D = renoise.Document
local function raises(f, text)
  local ok, e = pcall(f)
  assert(not ok, "expected an error")
  if text then assert(tostring(e):find(text, 1, true), e) end
end

local doc = D.create("Rules") { n = 1, names = { "a" } }
raises(function() doc:add_property("n", 2) end, "already")
raises(function() doc:add_property("names", 2) end, "already")
raises(function() doc:add_property("mixed", { false, 1 }) end, "one type")
raises(function() doc:add_property("empty", {}) end, "empty table")
for _, bad in ipairs({ "<x>", "two words", "1st", "x!", "" }) do
  raises(function() doc:add_property(bad, 1) end, "invalid name")
end
raises(function() D.create("2Bad") end, "invalid name")
raises(function() D.create("Fine") { ["bad key!"] = 1 } end, "invalid name")
raises(function() D.create("Fine") { nested = { empty = {} } } end, "empty table")
assert(doc.n.value == 1 and #doc.names == 1)
-- the error names the caller's line
local ok, e = pcall(function() doc:add_property("n", 3) end)
assert(not ok and e:find("13_document_rules.lua", 1, true), e)

-- observables read as their value
local num = D.ObservableNumber(123)
assert(tostring(num) == "123" and num:to_string() == "123")
assert(num:from_string("124") == true and num.value == 124)
assert(num:from_string("x") == false and num.value == 124)
assert(tostring(D.ObservableString("s")) == "s" and tostring(D.ObservableBoolean(true)) == "true")
local flag = D.ObservableBoolean(false)
assert(flag:from_string("true") and flag.value == true)
num.value = 12
assert(num + 12 == 24 and 12 + num == 24 and num - 2 == 10 and num * 2 == 24)
assert(num / 2 == 6 and num % 5 == 2 and num ^ 2 == 144 and -num == -12)
assert(type(num + 1) == "number")

-- list positions and notifications
local list = D.ObservableNumberList()
local told = {}
list:add_notifier(function(n) told[#told + 1] = n end)
list:insert(10)
assert(list:insert(1, 5).value == 5)
list:insert(3, 20)
assert(list[1].value == 5 and list[2].value == 10 and list[3].value == 20)
list:swap(1, 3)
list:remove()
list:remove(1)
local seen = {}
for _, n in ipairs(told) do
  seen[#seen + 1] = n.type .. (n.index or (n.index1 .. "," .. n.index2))
end
assert(table.concat(seen, " ") == "insert1 insert1 insert3 swap1,3 remove3 remove1", table.concat(seen, " "))
assert(#list == 1 and list[1].value == 10)
for _, bad in ipairs({
  function() list:insert(0, 1) end, function() list:insert(3, 1) end,
  function() list:remove(0) end, function() list:remove(2) end,
  function() list:swap(1, 2) end, function() list:swap(0, 1) end,
  function() list:insert(1.5, 1) end, function() list:insert("x") end,
}) do
  raises(bad)
end
assert(#list == 1 and #told == 6, "a refused change changes nothing and tells nobody")
list:remove()
raises(function() list:remove() end, "empty")

-- notifiers as (fn), (obj, fn) and (fn, obj)
local hits = {}
local obj = {}
local function on(o) hits[#hits + 1] = o == obj and "obj" or "plain" end
local o1 = D.ObservableNumber(0)
o1:add_notifier(on)
o1.value = 1
o1:remove_notifier(on)
o1:add_notifier(on, obj)
assert(o1:has_notifier(on, obj) and o1:has_notifier(obj, on))
o1.value = 2
o1:remove_notifier(obj, on)
o1:add_notifier(obj, on)
o1.value = 3
assert(table.concat(hits, " ") == "plain obj obj", table.concat(hits, " "))

-- Document.instantiate and DocumentList: lists of nodes, saved inside a
-- document and loaded back as nodes of the type they were saved as.
D.create("Point") { x = 1, tags = { "a" } }
local p1 = D.instantiate("Point")
local p2 = D.instantiate("Point")
assert(type(p1) == "DocumentNode" and p1.x.value == 1 and p1.tags[1].value == "a")
p1.x.value = 5
assert(p2.x.value == 1, "instances do not share their observables")
raises(function() D.instantiate("NoSuchModel") end, "NoSuchModel")
class "Marker" (D.DocumentNode)
function Marker:__init()
  D.DocumentNode.__init(self)
  self:add_property("label", "m")
end
local shape = D.create("Shape") { name = "s", points = D.DocumentList() }
local list_told = {}
shape.points:add_notifier(function(n) list_told[#list_told + 1] = n.type end)
shape.points:insert(p1)
shape.points:insert(1, p2)
local m = Marker()
m.label.value = "here"
shape.points:insert(m)
assert(#shape.points == 3 and shape.points[1] == p2 and shape.points:find(m) == 3)
shape.points:swap(1, 2)
raises(function() shape.points:insert(42) end, "document nodes")
raises(function() shape.points:swap(0, 1) end)
raises(function() shape.points:save_as("x.xml") end, "part of a document")
assert(type(shape.points) == "DocumentList")
local xml = shape:to_string()
assert(xml:find('<Item type="Point">', 1, true) and xml:find('<Item type="Marker">', 1, true), xml)
-- instantiate makes a list with new nodes of the types the model's list
-- holds (defaults), which loading then replaces
local back = D.instantiate("Shape")
assert(#back.points == 3 and back.points[1].x.value == 1 and back.points[3].label.value == "m")
assert(back:from_string(xml))
assert(#back.points == 3, #back.points)
assert(back.points[1].x.value == 5 and back.points[2].x.value == 1)
assert(type(back.points[3]) == "Marker" and back.points[3].label.value == "here")
-- a type nobody registered: refused, nothing changed
local unknown = xml:gsub('type="Marker"', 'type="Gone"')
local again = D.instantiate("Shape")
again.points:insert(D.instantiate("Point"))
local ok2, why2 = again:from_string(unknown)
assert(ok2 == false and why2:find("'Gone' was not registered", 1, true), tostring(why2))
assert(#again.points == 4)
shape.points:remove(2)
assert(table.concat(list_told, " ") == "insert insert insert swap remove", table.concat(list_told, " "))

-- A DocumentNode subclass is a document of its class's type; one with
-- __len (a userdata instance in Lua 5.1 / LuaJIT) works as any other.
class "Coll" (D.DocumentNode)
function Coll:__init()
  D.DocumentNode.__init(self)
  self:add_property("items", { "a" })
end
function Coll:__len() return #self.items end
local coll = Coll()
assert(#coll == 1 and coll:has_property("items"))
coll.items:insert("b")
local ctext = coll:to_string()
assert(ctext:find("<Coll doc_version", 1, true), ctext)
local coll2 = Coll()
assert(coll2:from_string(ctext) and #coll2 == 2 and coll2.items[2].value == "b")
local fine, fwhy = coll2:from_string(D.create("Other") { items = { "z" } }:to_string())
assert(fine == false and fwhy:find("'Other' document, not a 'Coll'", 1, true), tostring(fwhy))
-- reserved names and values that are no property
for _, bad in ipairs({ "_names", "_doc_name", "save_as", "property" }) do
  raises(function() D.create("R2") {}:add_property(bad, 1) end, "DocumentNode's own")
end
raises(function() D.create("R3") {}:add_property("x", nil) end, "got nil")
raises(function() D.create("R4") { f = print } end, "got function")
-- loading tells list notifiers what it removed and inserted
local nl = D.create("NL") { values = { 1, 2 } }
local heard = {}
nl.values:add_notifier(function(n) heard[#heard + 1] = n.type .. n.index end)
assert(nl:from_string(D.create("NL") { values = { 7, 8, 9 } }:to_string()))
assert(table.concat(heard, " ") == "remove2 remove1 insert1 insert2 insert3", table.concat(heard, " "))
-- numbers read back equal, infinities and big integers too
local nums = D.create("Nums") { big = 2 ^ 60, inf = math.huge, ninf = -math.huge, third = 1 / 3 }
local back2 = D.create("Nums") { big = 0, inf = 0, ninf = 0, third = 0 }
assert(back2:from_string(nums:to_string()))
assert(back2.big.value == 2 ^ 60 and back2.inf.value == math.huge and back2.ninf.value == -math.huge)
assert(back2.third.value == 1 / 3)
local inf_obs = D.ObservableNumber(0)
assert(inf_obs:from_string("inf") and inf_obs.value == math.huge)
if math.type then
  local int = D.create("Int") { n = 123456789012345678 }
  local int2 = D.create("Int") { n = 0 }
  assert(int2:from_string(int:to_string()) and int2.n.value == 123456789012345678)
end
print("ok")
