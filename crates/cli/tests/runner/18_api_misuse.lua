-- A tool's mistakes with the runner's API raise a clear error at the
-- tool's own line (never one in the runner's files), or return false and a
-- message where Renoise does.
local function raises(f, message)
  local ok, err = pcall(f)
  assert(not ok, "no error for: " .. message)
  err = tostring(err)
  assert(err:find("18_api_misuse.lua:%d+: ") and err:find(message, 1, true), err)
  assert(not err:find("[renoise-socket", 1, true), err)
end

-- A method called with '.' instead of ':'.
local Document = renoise.Document
local doc = Document.create("MisusePrefs") { host = "h", port = 1, flags = { 1, 2 } }
raises(function() doc.save_as("x.xml") end,
  "calling 'save_as' on bad self (DocumentNode expected, got string)")
raises(function() doc.add_property("q", 1) end, "calling 'add_property' on bad self")
raises(function() doc.port.add_notifier(print) end,
  "calling 'add_notifier' on bad self (ObservableNumber expected, got function)")
raises(function() doc.flags.insert(3) end, "calling 'insert' on bad self (an observable list expected, got number)")
raises(function() Document.DocumentList().insert(doc) end, "calling 'insert' on bad self (DocumentList expected")
local bang = Document.ObservableBang()
raises(function() bang.add_notifier(print) end, "calling 'add_notifier' on bad self (ObservableBang expected")
raises(function() renoise.tool().add_timer(print, 10) end,
  "calling 'add_timer' on bad self (ScriptingTool expected, got function)")
raises(function() renoise.app().show_message("hi") end, "calling 'show_message' on bad self (Application expected")
raises(function() renoise.tool().app_idle_observable.add_notifier(print) end,
  "calling 'add_notifier' on bad self (Observable expected")

-- Wrong arguments.
raises(function() doc:save_as(nil) end, "bad argument #1 to 'save_as' (string expected, got nil)")
raises(function() doc:load_from({}) end, "bad argument #1 to 'load_from' (string expected, got table)")
raises(function() Document.create("Empty")() end, "Document.create('Empty'): the model must be a table")
raises(function() doc.port:add_notifier(5) end, "add_notifier: expected a function")
raises(function() doc.flags:insert(9, 1) end, "insert: index 9 out of range 1..3")
local vb = renoise.ViewBuilder()
raises(function() vb:button { notifier = 5 } end,
  "bad argument #1 to 'button' (notifier: a function expected, got number)")

-- A view inside itself, directly or through another.
local outer, inner = vb:column {}, vb:row {}
raises(function() outer:add_child(outer) end, "add_child: a view cannot be added inside itself")
outer:add_child(inner)
raises(function() inner:add_child(outer) end, "add_child: a view cannot be added inside itself")

-- load_from: a folder is a failed load, not an error.
local folder = os.tmpname("")
os.remove(folder)
assert(os.mkdir(folder))
local ok, why = doc:load_from(folder)
assert(ok == false and tostring(why):find("Is a directory", 1, true), tostring(why))

-- Well-formed XML that editors and other tools write: a byte order mark, a
-- DOCTYPE with an internal subset.
for _, head in ipairs({
  "\239\187\191<?xml version=\"1.0\"?>\n",
  "<?xml version=\"1.0\"?>\n<!DOCTYPE MisusePrefs [\n  <!ELEMENT host (#PCDATA)>\n]>\n",
}) do
  local path = folder .. "/prefs.xml"
  local f = assert(io.open(path, "wb"))
  f:write(head, "<MisusePrefs doc_version=\"0\">\n  <host>from file</host>\n</MisusePrefs>\n")
  f:close()
  doc.host.value = "h"
  ok, why = doc:load_from(path)
  assert(ok == true and doc.host.value == "from file", tostring(why))
  os.remove(path)
end
os.remove(folder)
print("ok")
