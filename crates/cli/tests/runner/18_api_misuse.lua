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

raises(function() vb:popup { items = "Fast" } end, "Popup.items: a table of strings expected, got string")
raises(function() vb:slider { min = 0, max = 1, value = 7 } end, "Slider.value: a number from 0 to 1 expected, got 7")
local slider = vb:slider { min = 0, max = 1 }
raises(function() slider.value = "loud" end, "Slider.value: a number expected, got string")
raises(function() vb:checkbox {}.value = "yes" end, "CheckBox.value: a boolean expected, got string")
raises(function() vb:popup { items = { "a", "b" } }.value = 9 end,
  "Popup.value: an item's position from 1 to 2 expected, got 9")
raises(function() vb:xypad { value = 3 } end, "XYPad.value: a table {x = number, y = number} expected")
raises(function() slider.add_notifier(print) end, "calling 'add_notifier' on bad self (a view expected, got function)")
raises(function() vb:multiline_textfield {}.add_line("x") end, "calling 'add_line' on bad self (a view expected, got string)")

-- renoise.app()'s functions take text where Renoise does.
raises(function() renoise.app():show_status(nil) end, "bad argument #1 to 'show_status' (string expected, got nil)")
raises(function() renoise.app():show_message({}) end, "bad argument #1 to 'show_message' (string expected, got table)")
-- One text, not pieces to join: Renoise's bindings have no overload for more.
raises(function() renoise.app():show_warning("Warning: ", "Tool", " failed") end,
  "'show_warning' takes one text, got 3 arguments (join them with ..)")
raises(function() renoise.app():open_url("http://a", "b") end,
  "'open_url' takes one text, got 2 arguments (join them with ..)")
raises(function() renoise.app():show_prompt("Quit?", "Sure", "Yes") end,
  "bad argument #3 to 'show_prompt' (a table of strings expected, got string)")
raises(function() renoise.app():prompt_for_filename_to_read("wav", "Open") end,
  "bad argument #1 to 'prompt_for_filename_to_read' (a table of strings expected, got string)")
raises(function() os.exit("x") end, "bad argument #1 to 'exit' (number expected, got string)")
local dialog = renoise.app():show_custom_dialog("D", vb:column {})
raises(function() dialog.close() end, "calling 'close' on bad self (Dialog expected, got nil)")
dialog:close()

-- A multiline text field bound to a list of strings: its text becomes the
-- list's lines, with one notification for the view.
local lines = Document.ObservableStringList({ "old" })
local notes = vb:multiline_textfield { bind = lines }
local heard = 0
notes:add_notifier(function() heard = heard + 1 end)
notes.text = "A\nB"
assert(#lines == 2 and lines[1].value == "A" and lines[2].value == "B" and notes.text == "A\nB")
assert(heard == 1, heard)
notes.paragraphs = { "x" }
assert(#lines == 1 and lines[1].value == "x")
notes.text = ""
assert(#lines == 0 and notes.text == "")

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
-- Line ends: a file saved with "\r\n" reads as "\n" (XML 1.0, 2.11),
-- and a value's own carriage returns survive a save and a load.
do
  local path = folder .. "/crlf.xml"
  local f = assert(io.open(path, "wb"))
  f:write("<?xml version=\"1.0\"?>\r\n<MisusePrefs doc_version=\"0\">\r\n",
    "  <host>two\r\nlines\rthree</host>\r\n</MisusePrefs>\r\n")
  f:close()
  ok, why = doc:load_from(path)
  assert(ok == true and doc.host.value == "two\nlines\nthree", tostring(why) .. " " .. doc.host.value)
  doc.host.value = "cr\r crlf\r\n lf\n"
  assert(doc:save_as(path))
  doc.host.value = "h"
  ok, why = doc:load_from(path)
  assert(ok == true and doc.host.value == "cr\r crlf\r\n lf\n", tostring(why))
  os.remove(path)
end
-- Entities the DOCTYPE declares are expanded (nested too, and a ']>' in
-- a quoted literal or a comment does not end the subset); ones that
-- refer to each other, or expand to too much, are a failed load.
do
  local path = folder .. "/entities.xml"
  local function load(subset, text)
    local f = assert(io.open(path, "wb"))
    f:write("<!DOCTYPE MisusePrefs [", subset, "]>\n<MisusePrefs><host>", text, "</host></MisusePrefs>\n")
    f:close()
    doc.host.value = "h"
    return doc:load_from(path)
  end
  ok, why = load('<!ENTITY who "wor&#108;d"> <!ENTITY hi \'&amp;&who;\'>', "hi &hi;")
  assert(ok == true and doc.host.value == "hi &world", tostring(why) .. " " .. doc.host.value)
  ok, why = load('<!ATTLIST MisusePrefs a CDATA "]>"> <!-- ]> --> <!ENTITY x "y">', "&x;")
  assert(ok == true and doc.host.value == "y", tostring(why))
  ok, why = load('<!ENTITY a "&b;"> <!ENTITY b "&a;">', "&a;")
  assert(not ok and why:find("nests too deep", 1, true) and doc.host.value == "h", tostring(why))
  local lol = '<!ENTITY l0 "lollollollollollollollollollol">'
  for i = 1, 9 do lol = lol .. ('<!ENTITY l%d "%s">'):format(i, ("&l" .. (i - 1) .. ";"):rep(10)) end
  ok, why = load(lol, "&l9;")
  assert(not ok and why:find("too much text", 1, true) and doc.host.value == "h", tostring(why))
  os.remove(path)
end
os.remove(folder)
print("ok")
