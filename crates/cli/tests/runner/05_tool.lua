local tool = renoise.tool()
-- Renoise's observables are there before the tool reads one: objinfo
-- lists them at once.
local listed = "\n" .. objinfo(tool) .. "\n"
for _, name in ipairs { "app_idle_observable", "app_new_document_observable",
    "app_release_document_observable", "app_saved_document_observable",
    "app_became_active_observable", "app_resigned_active_observable",
    "tool_finished_loading_observable", "tool_will_unload_observable" } do
  assert(listed:find("\n  " .. name .. "\n", 1, true), name .. " not listed:" .. listed)
end
-- Everything but `preferences` is read-only, as in Renoise: a write raises
-- where it is made and changes nothing.
for _, key in ipairs { "bundle_path", "app_idle_observable", "name", "add_timer", "no_such_field" } do
  local read = function() return tool[key] end
  local had, before = pcall(read)
  local ok, err = pcall(function() tool[key] = "x" end)
  assert(not ok and err:find("05_tool.lua:%d+: renoise.tool%(%): '" .. key .. "' cannot be set"),
    key .. ": " .. tostring(err))
  local has, after = pcall(read)
  assert(had == has and (not had or rawequal(after, before)), key)
end
-- preferences holds a DocumentNode (or nil), as Renoise's property does.
do
  for _, bad in ipairs({ 5, {}, "prefs" }) do
    local ok, err = pcall(function() tool.preferences = bad end)
    assert(not ok and err:find("05_tool.lua:%d+: renoise.tool%(%).preferences: a renoise.Document.DocumentNode expected, got "
      .. type(bad)), tostring(err))
  end
  local prefs = renoise.Document.create("ToolPrefs") { n = 1 }
  tool.preferences = prefs
  assert(rawequal(tool.preferences, prefs))
  tool.preferences = nil
  assert(tool.preferences == nil)
end
-- Reading a name ScriptingTool does not have raises where it is read, as
-- in Renoise (and renoise.app()), instead of giving a nil that fails later.
do
  local ok, err = pcall(function() return tool.bundel_path end)
  assert(not ok and err:find("05_tool.lua:%d+: renoise.tool%(%) has no property or function 'bundel_path'"),
    tostring(err))
end
local idle = tool.app_idle_observable
local n, obj_calls = 0, 0
local function f() n = n + 1 end
idle:add_notifier(f)
assert(idle:has_notifier(f))
local obj = { hit = function(self) obj_calls = obj_calls + 1 end }
idle:add_notifier(obj, obj.hit)
assert(idle:has_notifier(obj, obj.hit))
local timer_calls, tobj_calls = 0, 0
local function t() timer_calls = timer_calls + 1 end
tool:add_timer(t, 30)
assert(tool:has_timer(t))
local tobj = { fire = function(self) tobj_calls = tobj_calls + 1; assert(self.fire) end }
tool:add_timer({ tobj, tobj.fire }, 30)
assert(tool:has_timer({ tobj, tobj.fire }))
tool:add_menu_entry { name = "Main Menu:Tools:Test...", invoke = function() end }
assert(tool:has_menu_entry("Main Menu:Tools:Test..."))
tool:add_keybinding { name = "Global:Tools:Test", invoke = function() end }
tool:add_midi_mapping { name = "Tools:Test", invoke = function() end }
-- an entry without its invoke function is refused when it is added
for _, add in ipairs { "add_menu_entry", "add_keybinding", "add_midi_mapping" } do
  local ok, err = pcall(tool[add], tool, { name = "Main Menu:Tools:No invoke" })
  assert(not ok and err:find("'invoke' must be a function, got nil", 1, true), err)
end
assert(not tool:has_menu_entry("Main Menu:Tools:No invoke"))
assert(tool.bundle_path:sub(-1) == "/")
tool.preferences = renoise.Document.create("ToolTestPrefs") { x = 1 }
assert(tool.preferences.x.value == 1)
-- Two instances of one class as notifier and timer contexts (compared by
-- identity, not by a class's ==), and remove_notifier(object)
class "Watcher"
function Watcher:__init() end
function Watcher:tick() end
local wa, wb = Watcher(), Watcher()
local bang = renoise.Document.ObservableBang()
bang:add_notifier(wa, Watcher.tick)
bang:add_notifier(Watcher.tick, wb)
assert(bang:has_notifier(wa, Watcher.tick) and bang:has_notifier(wb, Watcher.tick))
bang:remove_notifier(wa)
assert(not bang:has_notifier(wa, Watcher.tick) and bang:has_notifier(wb, Watcher.tick))
bang:remove_notifier({}) -- nothing attached: no error
tool:add_timer({ wa, Watcher.tick }, 1000)
tool:add_timer({ wb, Watcher.tick }, 1000)
assert(tool:has_timer({ wb, Watcher.tick }))
tool:remove_timer({ wa, Watcher.tick })
tool:remove_timer({ wb, Watcher.tick })
local new_doc = 0
-- The lifecycle, in Renoise's order: loaded, a document, the document
-- released at the end, the tool unloaded.
local lifecycle = {}
tool.tool_finished_loading_observable:add_notifier(function() lifecycle[#lifecycle + 1] = "loaded" end)
tool.app_new_document_observable:add_notifier(function()
  new_doc = new_doc + 1
  lifecycle[#lifecycle + 1] = "new"
end)
tool.tool_will_unload_observable:add_notifier(function()
  lifecycle[#lifecycle + 1] = "unload"
  assert(table.concat(lifecycle, " ") == "loaded new release unload", table.concat(lifecycle, " "))
  print("ok")
end)
tool.app_release_document_observable:add_notifier(function()
  lifecycle[#lifecycle + 1] = "release"
  -- idle ~10/s: in 0.5 s about 5 ticks
  assert(n >= 3 and n <= 8, "idle ticks: " .. n)
  assert(obj_calls == n, "notifier (obj, method)")
  assert(timer_calls >= 5, "timer calls: " .. timer_calls)
  assert(tobj_calls >= 5, "{obj, fn} timer calls: " .. tobj_calls)
  assert(new_doc == 1)
end)
local function stop_all()
  idle:remove_notifier(f)
  idle:remove_notifier(obj, obj.hit)
  assert(not idle:has_notifier(f))
  tool:remove_timer(t)
  tool:remove_timer({ tobj, tobj.fire })
  assert(not tool:has_timer(t))
  tool:remove_timer(stop_all) -- nothing left: the loop ends
end
tool:add_timer(stop_all, 500)
