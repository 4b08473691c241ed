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

renoise.tool().preferences = prefs
print("ok")
