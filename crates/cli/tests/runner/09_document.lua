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
renoise.tool().preferences = prefs
print("ok")
