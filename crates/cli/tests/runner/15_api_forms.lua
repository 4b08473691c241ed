-- Renoise's other ways of naming a notifier or timer with a context
-- ({context, fn} and {fn, context}), renoise.Midi without devices, and
-- preferences loaded from the tool's preferences.xml when assigned.
local calls = {}
local ctx = { name = "ctx" }
local function f(self, ...) calls[#calls + 1] = { self, ... } end

-- Notifiers: {ctx, fn} and {fn, ctx} are (ctx, fn), whichever way given.
local n = renoise.Document.ObservableNumber(1)
n:add_notifier({ ctx, f })
assert(n:has_notifier({ ctx, f }) and n:has_notifier(ctx, f) and n:has_notifier({ f, ctx }))
local ok, e = pcall(n.add_notifier, n, { f, ctx })
assert(not ok and e:find("already added"), e)
n.value = 2
assert(#calls == 1 and calls[1][1] == ctx, "the context is the first argument")
n:remove_notifier({ f, ctx })
assert(not n:has_notifier(ctx, f))
n.value = 3
assert(#calls == 1)
ok, e = pcall(n.add_notifier, n, { 1, 2 })
assert(not ok and e:find("expected a function"), e)
local idle = renoise.tool().app_idle_observable
idle:add_notifier({ f, ctx })
assert(idle:has_notifier(ctx, f))
idle:remove_notifier(ctx)
assert(not idle:has_notifier({ ctx, f }))

-- Timers: {fn, ctx} as well as {ctx, fn}.
local tool = renoise.tool()
tool:add_timer({ f, ctx }, 50)
assert(tool:has_timer({ ctx, f }) and tool:has_timer({ f, ctx }))
tool:remove_timer({ ctx, f })
assert(not tool:has_timer({ f, ctx }))
-- An interval must be > 0, as Renoise requires, and finite: an infinite
-- one would never fire and keep the run alive.
for _, bad in ipairs({ 0, -5, 0 / 0, math.huge }) do
  ok, e = pcall(tool.add_timer, tool, f, bad)
  assert(not ok and e:find("milliseconds > 0", 1, true), e)
end

-- renoise.Midi: no devices, a change observable, opening fails clearly.
assert(#renoise.Midi.available_input_devices() == 0)
assert(#renoise.Midi.available_output_devices() == 0)
local changed = renoise.Midi.devices_changed_observable()
changed:add_notifier(f)
assert(changed:has_notifier(f))
changed:remove_notifier(f)
ok, e = pcall(renoise.Midi.create_output_device, "Some Synth")
assert(not ok and e:find("MIDI device 'Some Synth' not found", 1, true), e)
ok, e = pcall(renoise.Midi.create_input_device, "Keys", f)
assert(not ok and e:find("no MIDI devices outside Renoise", 1, true), e)

-- Preferences: assigning loads preferences.xml from the tool's folder
-- (the command's test preferences_xml_in_the_tool_folder_is_loaded); it
-- holds a document node or nil, as in Renoise (05_tool.lua).
tool.preferences = nil
assert(tool.preferences == nil)

-- File import hooks: recorded per category and set of extensions.
local hook = { category = "sample", extensions = { "wav", "AIFF" }, invoke = function() return true end }
assert(not tool:has_file_import_hook("sample", { "aiff", "wav" }))
tool:add_file_import_hook(hook)
assert(tool:has_file_import_hook("sample", { "aiff", "wav" }))
assert(not tool:has_file_import_hook("instrument", { "aiff", "wav" }))
ok, e = pcall(tool.add_file_import_hook, tool, hook)
assert(not ok and e:find("already added"), e)
tool:remove_file_import_hook("sample", { "wav", "aiff" })
assert(not tool:has_file_import_hook("sample", { "aiff", "wav" }))

-- renoise.app().window: view settings as values, their observables fire
-- when set; renoise.ApplicationWindow's constants.
local AW = renoise.ApplicationWindow
assert(AW.MIDDLE_FRAME_MIXER == 2 and AW.LOWER_FRAME_TRACK_AUTOMATION == 2 and AW.MIXER_FADER_TYPE_LINEAR == 4)
local w = renoise.app().window
assert(type(w) == "ApplicationWindow" and w.active_middle_frame == AW.MIDDLE_FRAME_PATTERN_EDITOR)
local seen
w.active_middle_frame_observable:add_notifier(function() seen = w.active_middle_frame end)
w.active_middle_frame = AW.MIDDLE_FRAME_MIXER
assert(seen == AW.MIDDLE_FRAME_MIXER and w.active_middle_frame == AW.MIDDLE_FRAME_MIXER)
w.lower_frame_is_visible = false
assert(w.lower_frame_is_visible == false)
ok, e = pcall(function() return w.no_such_view end)
assert(not ok and e:find("has no property 'no_such_view'", 1, true), e)
ok, e = pcall(function() w.is_maximized = true end)
assert(not ok and e:find("cannot be set", 1, true), e)
ok, e = pcall(function() w.active_middle_frame = "mixer" end)
assert(not ok and e:find("expected a number", 1, true), e)
w:maximize() w:restore() w:select_preset(1)

-- objinfo: a string of an object's properties and methods, a class's
-- bases included.
class "Animal"
function Animal:__init(name) self.name = name self.legs = property(function() return 4 end) end
function Animal:speak() end
class "Dog" (Animal)
function Dog:__init(name) Animal.__init(self, name) self.tricks = 0 end
function Dog:fetch() end
local info = objinfo(Dog("rex"))
assert(info == "class: Dog\n properties:\n  legs\n  name\n  tricks\n methods:\n  fetch\n  speak", info)
info = objinfo(renoise.app())
assert(info:find("^class: Application\n") and info:find("\n  show_message\n", 1, true), info)
-- The socket module's objects, whose metatables are guarded.
local server = renoise.Socket.create_server("127.0.0.1", 0)
info = objinfo(server)
assert(info == "class: SocketServer\n properties:\n  is_open\n  is_running\n  local_address\n  local_port\n"
  .. " methods:\n  close\n  run\n  stop\n  wait", info)
server:close()
-- A string with both headings, even with no methods, as tools parse it
-- (cLib's cReflection.get_object_info, as it is written there).
class "Plain"
function Plain:__init() self.a = 1 self.b_c = 2 end
info = objinfo(Plain())
assert(type(info) == "string", type(info))
assert(info == "class: Plain\n properties:\n  a\n  b_c\n methods:", info)
local begin1, begin2 = info:find("properties:")
local end1 = info:find("methods:")
local names = {}
for prop in info:sub(begin2 + 1, end1 - 1):gmatch("([%a_]+)") do names[#names + 1] = prop end
assert(table.concat(names, ",") == "a,b_c", table.concat(names, ","))
info = objinfo(renoise.Osc.Message("/a"))
assert(info:find("^class: Message\n properties:\n  arguments\n  binary_data\n  pattern\n"), info)
print("ok")
