-- renoise.Document: observables, create, DocumentNode, XML save/load
local b = renoise.Document.ObservableBoolean(false)
local seen
b:add_notifier(function() seen = b.value end)
b.value = true
assert(seen == true)
local num = renoise.Document.ObservableNumber(1)
local str = renoise.Document.ObservableString("x")
local bang = renoise.Document.ObservableBang()
local banged = false
bang:add_notifier(function() banged = true end)
bang:bang()
assert(banged and num.value == 1 and str.value == "x")

local prefs = renoise.Document.create("Prefs") {
  host = "127.0.0.1", port = 8000, enabled = true, nested = { depth = 2 },
}
assert(prefs.host.value == "127.0.0.1" and prefs.port.value == 8000 and prefs.enabled.value)
assert(prefs.nested.depth.value == 2)
prefs.port.value = 9000
assert(prefs:save_as("prefs_test.xml"))
local again = renoise.Document.create("Prefs") {
  host = "", port = 0, enabled = false, nested = { depth = 0 },
}
assert(again:load_from("prefs_test.xml"))
os.remove("prefs_test.xml")
assert(again.port.value == 9000 and again.host.value == "127.0.0.1" and again.enabled.value == true)
assert(again.nested.depth.value == 2)

class "Settings" (renoise.Document.DocumentNode)
function Settings:__init()
  renoise.Document.DocumentNode.__init(self)
  self:add_property("volume", 0.5)
end
local s = Settings()
assert(s.volume.value == 0.5)
assert(s:property("volume").value == 0.5)
-- Saved in the order the properties were added (Renoise's); a table
-- literal's fields, which have no order, by name.
local ordered = renoise.Document.DocumentNode()
for _, name in ipairs({ "zeta", "alpha", "mid" }) do ordered:add_property(name, name) end
ordered:add_property("sub", { y = 1, b = 2 })
assert(ordered:save_as("doc_order_test.xml"))
local of = assert(io.open("doc_order_test.xml"))
local ox = of:read("*a")
of:close()
os.remove("doc_order_test.xml")
local z, a, m, sb = ox:find("<zeta>", 1, true), ox:find("<alpha>", 1, true), ox:find("<mid>", 1, true),
  ox:find("<sub>", 1, true)
assert(z and a and m and sb and z < a and a < m and m < sb, ox)
assert(ox:find("<b>2</b>", 1, true) < ox:find("<y>1</y>", 1, true), ox)
-- Arrays of one type become observable lists, saved item by item.
local lists = renoise.Document.create("Lists") { ports = { 8000, 8001 }, names = { "a<b", "c" } }
assert(#lists.ports == 2 and lists.ports:size() == 2 and lists.ports[2].value == 8001)
assert(lists.names:property(1).value == "a<b")
local changed = 0
lists.ports:add_notifier(function() changed = changed + 1 end)
lists.ports:insert(9000)
lists.ports:remove(1)
assert(changed == 2 and #lists.ports == 2 and lists.ports[1].value == 8001)
assert(lists.ports:find(9000) == 2)
assert(lists:save_as("lists_test.xml"))
local f = assert(io.open("lists_test.xml"))
local xml = f:read("*a")
f:close()
assert(not xml:find("<%d"), xml) -- every element name is a valid XML name
local back = renoise.Document.create("Lists") { ports = { 1 }, names = { "z" } }
assert(back:load_from("lists_test.xml"))
os.remove("lists_test.xml")
assert(#back.ports == 2 and back.ports[1].value == 8001 and back.ports[2].value == 9000)
assert(#back.names == 2 and back.names[1].value == "a<b" and back.names[2].value == "c")
local l = renoise.Document.ObservableStringList()
l:insert("x")
assert(#l == 1 and l[1].value == "x")

-- load_from reads any well-formed XML (entities, character references,
-- CDATA, comments, empty elements), refuses the rest with false, message
-- and changes nothing; numbers are saved so that they read back the same.
local function write(name, text) local f = assert(io.open(name, "wb")) f:write(text) f:close() end
write("doc_ent_test.xml", [==[<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<R doc_version="0" note='a > b' other="/>"><name>a &apos;q&apos; &quot;dq&quot; &#65;&#x42;&#233;</name><cd><![CDATA[<x>&amp;]]> and &lt;</cd><count>3</count><empty/></R>]==])
local d = renoise.Document.create("R") { name = "", cd = "", count = 0, empty = "z" }
local ok, err = d:load_from("doc_ent_test.xml")
assert(ok, err)
assert(rawget(_G, "_") == nil, "load_from set the global _")
assert(d.name.value == "a 'q' \"dq\" AB\195\169", d.name.value)
assert(d.cd.value == "<x>&amp; and <", d.cd.value)
assert(d.count.value == 3 and d.empty.value == "")
for _, bad in ipairs({
  '<?xml version="1.0"?>\n<R><count>1</count>',
  '<R><count>1</R></count>',
  '<R><count>1 & 2</count></R>',
  '<R><count>1</count></R><S/>',
  '<R a="1 > 0><count>1</count></R>',
  'text',
  '',
}) do
  write("doc_bad_test.xml", bad)
  local d2 = renoise.Document.create("R") { count = 7 }
  local ok2, e2 = d2:load_from("doc_bad_test.xml")
  assert(ok2 == false and type(e2) == "string" and e2:find("doc_bad_test.xml", 1, true), bad)
  assert(d2.count.value == 7, bad)
end
local n = renoise.Document.create("N") { third = 1 / 3, big = 2 ^ 53, small = 0.1, list = { 1 / 3, 1e300 } }
assert(n:save_as("doc_num_test.xml"))
local m = renoise.Document.create("N") { third = 0, big = 0, small = 0, list = { 0 } }
assert(m:load_from("doc_num_test.xml"))
assert(m.third.value == 1 / 3 and m.big.value == 2 ^ 53 and m.small.value == 0.1)
assert(m.list[1].value == 1 / 3 and m.list[2].value == 1e300)
local f = io.open("doc_num_test.xml") local x = f:read("*a") f:close()
assert(x:find("<small>0.1</small>", 1, true), x)
os.remove("doc_ent_test.xml") os.remove("doc_bad_test.xml") os.remove("doc_num_test.xml")

-- A document loads only what a document of its own type saved.
local a = renoise.Document.create("ModelA") { x = 1 }
assert(a:save_as("doc_type_test.xml"))
local other = renoise.Document.create("ModelB") { x = 2 }
local loaded, why = other:load_from("doc_type_test.xml")
os.remove("doc_type_test.xml")
assert(loaded == false and why:find("'ModelA' document, not a 'ModelB'", 1, true), tostring(why))
assert(other.x.value == 2)

-- has_property, add_properties, remove_property, to_string / from_string
local dyn = renoise.Document.create("Dyn") { keep = 1 }
dyn:add_properties { b = "two", a = true }
assert(dyn:has_property("a") and dyn:has_property("b") and dyn:has_property("keep"))
assert(not dyn:has_property("nope"))
dyn:remove_property(dyn.b)
assert(not dyn:has_property("b") and dyn.b == nil)
dyn:remove_property("a")
assert(not dyn:has_property("a"))
local removed, rwhy = pcall(dyn.remove_property, dyn, renoise.Document.ObservableNumber(1))
assert(not removed and rwhy:find("not a property", 1, true), rwhy)
dyn.keep.value = 5
local text = dyn:to_string()
assert(text:find("<keep>5</keep>", 1, true) and not text:find("<b>", 1, true), text)
local copy = renoise.Document.create("Dyn") { keep = 0 }
assert(copy:from_string(text) == true and copy.keep.value == 5)
local bad_ok, bad_why = copy:from_string("<Dyn><keep>")
assert(bad_ok == false and type(bad_why) == "string")
assert(copy:from_string(other:to_string()) == false)

renoise.tool().preferences = prefs
print("ok")
