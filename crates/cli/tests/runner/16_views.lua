-- renoise.ViewBuilder without a GUI: views hold their properties, values,
-- children and notifiers; ids are unique per builder; bound views follow
-- their observables; dialogs are "visible" until closed.
local VB = renoise.ViewBuilder
assert(VB.DEFAULT_CONTROL_MARGIN == 4 and VB.DEFAULT_CONTROL_SPACING == 2)
assert(VB.DEFAULT_CONTROL_HEIGHT == 18 and VB.DEFAULT_MINI_CONTROL_HEIGHT == 14)
assert(VB.DEFAULT_DIALOG_MARGIN == 8 and VB.DEFAULT_DIALOG_SPACING == 8)
assert(VB.DEFAULT_DIALOG_BUTTON_HEIGHT == 22)

local vb = renoise.ViewBuilder()
assert(type(vb) == "ViewBuilder")
assert(vb.DEFAULT_DIALOG_MARGIN == 8, "the constants read through an instance too")

-- Construction: properties, children, ids.
local status = vb:text { id = "status", text = "stopped", font = "bold" }
local clicks = {}
local content = vb:column {
  margin = VB.DEFAULT_DIALOG_MARGIN,
  status,
  vb:row {
    vb:button { id = "start", text = "Start", notifier = function() clicks[#clicks + 1] = "click" end,
      pressed = function() clicks[#clicks + 1] = "pressed" end },
    vb:checkbox { id = "verbose", value = false },
  },
}
assert(type(content) == "Rack" and type(status) == "Text" and type(vb.views.start) == "Button")
assert(content.margin == 8 and #content.views == 2 and content.views[1] == status)
assert(vb.views.status == status and vb.views["verbose"].value == false)
assert(vb.views.nothing == nil)
assert(status.text == "stopped" and status.font == "bold" and status.visible == true)
status.text = "running"
status.visible = false
assert(status.text == "running" and not status.visible)
assert(tostring(status) == "Text 'status'")

-- The same id twice in one builder raises; another builder is separate.
local ok, e = pcall(function() return vb:text { id = "status" } end)
assert(not ok and e:find("a view with the id 'status' already exists", 1, true), e)
assert(renoise.ViewBuilder():text { id = "status" }.text == "")

-- Bad arguments.
ok, e = pcall(function() return vb:column { "not a view" } end)
assert(not ok and e:find("a view expected, got string", 1, true), e)
ok, e = pcall(function() return vb:text("x") end)
assert(not ok and e:find("table expected, got string", 1, true), e)
ok, e = pcall(function() return vb.text({}, {}) end)
assert(not ok and e:find("a ViewBuilder expected", 1, true), e)
ok, e = pcall(function() return vb:no_such_view {} end)
assert(not ok, "an unknown view type cannot be called")
ok, e = pcall(function() vb.foo = 1 end)
assert(not ok and e:find("no new fields", 1, true), e)

-- Value notifiers fire on a change, made by the program too.
local got = {}
local slider = vb:slider { min = 0, max = 10, value = 2, notifier = function(v) got[#got + 1] = v end }
assert(slider.value == 2 and slider.min == 0 and slider.max == 10)
slider.value = 5
slider.value = 5
assert(#got == 1 and got[1] == 5)
local function extra(v) got[#got + 1] = -v end
slider:add_notifier(extra)
assert(slider:has_notifier(extra))
slider.value = 7
assert(#got == 3 and got[2] == 7 and got[3] == -7)
slider:remove_notifier(extra)
slider.value = 1
assert(#got == 4)
assert(vb:popup { items = { "a", "b" } }.value == 1 and vb:textfield {}.value == "")

-- A textfield's text and value are the same.
local field = vb:textfield { text = "host" }
assert(field.value == "host")
field.value = "127.0.0.1"
assert(field.text == "127.0.0.1")

-- bind: the view shows the observable's value and sets it.
local port = renoise.Document.ObservableNumber(8000)
local seen = {}
local box = vb:valuebox { bind = port, min = 1, max = 65535, notifier = function(v) seen[#seen + 1] = v end }
assert(box.value == 8000)
port.value = 9000
assert(box.value == 9000 and seen[1] == 9000)
box.value = 9001
assert(port.value == 9001 and seen[2] == 9001)
local name = renoise.Document.ObservableString("x")
local bound = vb:textfield { bind = name, value = "from the view" }
assert(name.value == "from the view" and bound.text == "from the view")
ok, e = pcall(function() return vb:slider { bind = 5 } end)
assert(not ok and e:find("an observable expected", 1, true), e)

-- Children added and removed later (both API names).
local col = vb:column {}
local a, b = vb:text { text = "a" }, vb:text { text = "b" }
col:add_child(a)
col:add_view(b)
col:swap_views(a, b)
assert(col.views[1] == b and col.views[2] == a)
col:remove_child(b)
assert(#col.views == 1 and col.views[1] == a)
ok, e = pcall(col.remove_view, col, b)
assert(not ok and e:find("not a child", 1, true), e)
ok, e = pcall(function() col.views = {} end)
assert(not ok and e:find("read-only", 1, true), e)
col:resize()

-- Multiline text.
local log = vb:multiline_text {}
log:add_line("one")
log:add_line("two")
assert(log.text == "one\ntwo")
log:clear()
assert(log.text == "")

-- Children in a `views` array; one parent per view.
local t1, t2 = vb:text {}, vb:text {}
local listed = vb:row { views = { t1, t2 } }
assert(#listed.views == 2 and listed.views[2] == t2)
ok, e = pcall(function() col:add_child(t1) end)
assert(not ok and e:find("already a child of another view", 1, true), e)
ok, e = pcall(function() return vb:column { t2 } end)
assert(not ok and e:find("already a child of another view", 1, true), e)
listed:remove_view(t1)
col:add_child(t1)
assert(col.views[2] == t1)

-- Sizes read back as numbers, whatever was set.
local sized = vb:text { width = "100%" }
assert(type(sized.width) == "number" and sized.width > 0 and sized.height > 0)
sized.width = 250
assert(sized.width == 250 and sized.size.width == 250)
sized.size = { width = 40, height = 30 }
assert(sized.width == 40 and sized.height == 30)
assert(math.min(content.height, 500) > 0)

-- An XY pad binds two observables.
local x, y = renoise.Document.ObservableNumber(0.1), renoise.Document.ObservableNumber(0.2)
local xy_seen
local pad = vb:xypad { bind = { x = x, y = y }, notifier = function(v) xy_seen = v end }
assert(pad.value.x == 0.1 and pad.value.y == 0.2)
y.value = 0.7
assert(xy_seen and xy_seen.x == 0.1 and xy_seen.y == 0.7)
local fired = 0
pad:add_notifier(function() fired = fired + 1 end)
pad.value = { x = 0.3, y = 0.4 }
assert(x.value == 0.3 and y.value == 0.4)
assert(fired == 1 and xy_seen.x == 0.3 and xy_seen.y == 0.4, "one notification, with both set")

-- A multiline text field bound to a list of strings shows its lines.
local lines = renoise.Document.ObservableStringList()
lines:insert("first")
lines:insert("second")
assert(vb:multiline_textfield { bind = lines }.text == "first\nsecond")
-- paragraphs and text are one.
local para = vb:multiline_text { paragraphs = { "a", "b" } }
assert(para.text == "a\nb" and #para.paragraphs == 2 and para.paragraphs[2] == "b")

-- Notifier errors name the method and point at the caller.
local function f() end
local btn = vb:button {}
btn:add_pressed_notifier(f)
ok, e = pcall(btn.add_pressed_notifier, btn, f)
assert(not ok and e:find("add_pressed_notifier: the given function was already added", 1, true), e)
assert(not e:find("renoise-socket", 1, true), e)
ok, e = pcall(btn.remove_released_notifier, btn, f)
assert(not ok and e:find("^remove_released_notifier: "), e)

-- A dialog is visible until closed; `visible` is read-only; show() only
-- brings it to the front (and gives it the focus).
local dialog = renoise.app():show_custom_dialog("Settings", content)
assert(type(dialog) == "Dialog" and dialog.visible)
ok, e = pcall(function() dialog.visible = false end)
assert(not ok and e:find("read-only", 1, true), e)
-- The newest dialog shown, or brought to the front, has the focus while
-- it is open; `focused` is read-only too.
assert(dialog.focused == true)
local other = renoise.app():show_custom_dialog("Other", renoise.ViewBuilder():text {})
assert(other.focused == true and dialog.focused == false)
ok, e = pcall(function() dialog.focused = true end)
assert(not ok and e:find("read-only", 1, true), e)
dialog:show()
assert(dialog.focused == true and other.focused == false)
other:close()
dialog:close()
assert(not dialog.visible and dialog.focused == false)
dialog:show()
assert(not dialog.visible and dialog.focused == false)
assert(#clicks == 0, "nothing is clicked by itself")

-- objinfo lists what these API objects offer.
local info = objinfo(vb:button { text = "b" })
assert(info:find("^class: Button\n") and info:find("\n  text\n", 1, true)
  and info:find("\n  add_pressed_notifier\n", 1, true), info)
info = objinfo(renoise.Document.ObservableNumber(1))
assert(info:find("^class: ObservableNumber\n properties:\n  value\n methods:\n"), info)
info = objinfo(renoise.app().window)
-- oprint prints that string.
local printed = {}
local real_print = print
print = function(...) printed[#printed + 1] = select("#", ...) .. ":" .. tostring((...)) end
oprint(renoise.Document.ObservableNumber(1))
print = real_print
assert(#printed == 1 and printed[1]:find("^1:class: ObservableNumber\n properties:\n  value\n"),
  table.concat(printed, "|"))
assert(info:find("\n  active_middle_frame\n", 1, true) and info:find("\n  maximize\n", 1, true), info)
print("ok")
