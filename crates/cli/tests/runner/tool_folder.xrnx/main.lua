-- run as a tool folder: cwd, bundle_path and package.path are the folder
local helper = require("helper")
assert(helper.name == "helper")
assert(io.exists("main.lua"))
assert(renoise.tool().bundle_path:find("tool_folder.xrnx/$"))
assert(select("#", ...) == 2 and select(1, ...) == "a" and arg[2] == "b")
renoise.tool():add_menu_entry { name = "Main Menu:Tools:Say ok...", invoke = function() print("ok") end }
-- A MIDI mapping invoked by --menu gets what Renoise's own mapping helpers
-- read (GlobalMidiActions scales by value_min_scaling / value_max_scaling).
renoise.tool():add_midi_mapping { name = "Tools:Volume [Set]", invoke = function(m)
  assert(type(m) == "MidiMessage", type(m))
  assert(m:is_abs_value() and m.int_value == 127, tostring(m.int_value))
  assert(m:is_trigger() and not m:is_switch() and not m:is_rel_value())
  assert(m.value_min_scaling == 0 and m.value_max_scaling == 1)
  local volume = m.value_min_scaling + m.int_value / 127 * (m.value_max_scaling - m.value_min_scaling)
  print(("volume %g"):format(volume))
end }
