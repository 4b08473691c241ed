-- renoise.tool(), renoise.app() and the observables (RUNNER.md items 5, 7).
local host = ...
local fail = host.fail -- raises at the tool's line (class.lua)

-- An observable: notifiers are a function, or an object and a method.
local Observable = {}
Observable.__index = Observable

-- A table {context, fn} or {fn, context}, Renoise's one-argument form of
-- a notifier with a context: -> context, fn; nil for anything else.
local function pair(t)
  if type(t) ~= "table" then return nil end
  local first, second = rawget(t, 1), rawget(t, 2)
  if type(second) == "function" then return first, second end
  if type(first) == "function" and second ~= nil then return second, first end
  return nil
end

-- (fn), (obj, fn), (fn, obj), {obj, fn} or {fn, obj}, as Renoise takes
-- them: -> obj, fn; (obj) alone (remove_notifier's "every notifier of this
-- object") -> obj, nil.
local function notifier_key(a, b)
  if b == nil then
    if type(a) == "function" then return nil, a end
    local obj, fn = pair(a)
    if fn then return obj, fn end
    return a, nil
  end
  if type(a) == "function" and type(b) ~= "function" then return b, a end
  return a, b
end

-- The message handler of `call`: the traceback is made where the error
-- was raised, and kept with the error's value for the report of a run that
-- ends with it (main.lua's traceback takes it when that value reaches it).
local function capture(err)
  local text = host.traceback(err)
  host.raised = { err = err, text = text }
  return text
end

-- Calls a notifier, timer or menu function (`obj` first when it has a
-- context): true and its first result. Renoise calls these from C++, so
-- `error(msg, 2)` in one names no position; here too, since the function
-- is tail-called from inside xpcall (and not named after a line of the
-- runner's own files). With --keep-going an error is reported and the
-- caller goes on (false), as Renoise shows a tool's error and keeps the
-- tool running; without, the error goes on up with its own value, as an
-- error in a notifier fired by an assignment reaches the assigning code.
local function call(fn, obj, ...)
  local n, args = select("#", ...), { ... }
  host.raised = nil
  local ok, res = xpcall(function()
    if obj ~= nil then return fn(obj, unpack(args, 1, n)) end
    return fn(unpack(args, 1, n))
  end, capture)
  if ok then return true, res end
  local raised = host.raised
  if host.keep_going then
    host.raised = nil
    host.went_on(res)
    return false
  end
  -- (Without `raised`, the handler itself failed: `res` says how.)
  if raised then error(raised.err, 0) end
  error(res, 0)
end
host.call = call

-- A server callback's error gets its traceback where it was raised, as a
-- notifier's does: the report of an error that `wait` re-raises (no
-- socket_error) shows the callback's frames, not only `wait`'s. The value
-- goes on unchanged, to socket_error or out of `wait`.
host.set_callback_handler(function(err)
  capture(err)
  return err
end)

-- By identity: objects of classes without __eq, or with one, are told apart
-- as Renoise does, by what they are.
local function find(self, obj, fn)
  for i, n in ipairs(self._notifiers) do
    if rawequal(n.obj, obj) and rawequal(n.fn, fn) then return i end
  end
end

function Observable:add_notifier(a, b)
  local obj, fn = notifier_key(a, b)
  if type(fn) ~= "function" then
    fail("add_notifier: expected a function, (object, function) or {object, function}")
  end
  if find(self, obj, fn) then
    fail("add_notifier: the given function was already added as notifier")
  end
  table.insert(self._notifiers, { obj = obj, fn = fn })
end

function Observable:has_notifier(a, b)
  local obj, fn = notifier_key(a, b)
  return find(self, obj, fn) ~= nil
end

function Observable:remove_notifier(a, b)
  local obj, fn = notifier_key(a, b)
  if fn == nil and obj ~= nil then
    -- remove_notifier(obj): every notifier of that object
    for i = #self._notifiers, 1, -1 do
      if rawequal(self._notifiers[i].obj, obj) then table.remove(self._notifiers, i).removed = true end
    end
    return
  end
  local i = find(self, obj, fn)
  if not i then
    fail("remove_notifier: the given function was not added as notifier")
  end
  table.remove(self._notifiers, i).removed = true
end

function Observable:_fire(...)
  -- A copy: notifiers may add or remove notifiers. One added meanwhile
  -- waits for the next time; one removed meanwhile is not called.
  for _, n in ipairs({ unpack(self._notifiers) }) do
    if not n.removed then call(n.fn, n.obj, ...) end
  end
end

function Observable:_count() return #self._notifiers end
host.check_self(Observable, "Observable", function(o) return getmetatable(o) == Observable end)

host.api_names[Observable] = "Observable"
host.Observable = function()
  return setmetatable({ _notifiers = {} }, Observable)
end

-- renoise.tool()
local Tool = {}
-- The tool's values are kept out of the tool table, so that every
-- assignment reaches __newindex. Renoise's own observables exist from the
-- start (objinfo lists them before the tool has read one); another name
-- ending in `_observable` is made when first read.
local preferences
local fields = {
  _timers = {}, _menu_entries = {}, _keybindings = {}, _midi_mappings = {},
  name = "renoise-socket run", id = "com.renoise-socket.run",
}
host.tool_fields = fields
for _, name in ipairs({
  "tool_finished_loading_observable", "tool_will_unload_observable",
  "app_became_active_observable", "app_resigned_active_observable", "app_idle_observable",
  "app_release_document_observable", "app_new_document_observable",
  "app_saved_document_observable",
}) do
  fields[name] = host.Observable()
end
local tool_mt = {
  __index = function(t, key)
    if key == "preferences" then return preferences end
    local v = fields[key]
    if v ~= nil then return v end
    v = Tool[key]
    if v ~= nil then return v end
    if type(key) == "string" and key:match("_observable$") then
      local o = host.Observable()
      fields[key] = o
      return o
    end
    -- As in Renoise, and as renoise.app() does: a misspelt name fails
    -- where it is read, not later as a nil.
    fail(("renoise.tool() has no property or function '%s' (renoise-socket run)")
      :format(tostring(key)))
  end,
  -- Assigning `preferences` loads the tool's preferences.xml into the
  -- document, as Renoise does; nothing is saved back (a run leaves the
  -- tool's folder as it was). Everything else is read-only, as in Renoise:
  -- a tool that overwrote `bundle_path` or an observable would otherwise
  -- break later, far from its mistake.
  __newindex = function(t, key, value)
    if key ~= "preferences" then
      fail(("renoise.tool(): '%s' cannot be set"):format(tostring(key)))
    end
    -- Renoise's property holds a DocumentNode (nil too: no preferences).
    if value ~= nil and not host.is_node(value) then
      fail("renoise.tool().preferences: a renoise.Document.DocumentNode expected, got "
        .. type(value))
    end
    preferences = value
    local path = (fields.bundle_path or "") .. "preferences.xml"
    if value ~= nil and io.exists(path) then
      local ok, why = value:load_from(path)
      if not ok and not host.quiet then
        io.stderr:write("[renoise-socket] preferences.xml not loaded: ", tostring(why), "\n")
      end
    end
  end,
}
host.api_names[tool_mt] = "ScriptingTool"
host.api_members[tool_mt] = host.members_of(Tool, fields, { preferences = true })
local tool = setmetatable({}, tool_mt)
host.tool = tool

function renoise.tool() return tool end

local function timer_key(t)
  if type(t) == "function" then return nil, t end
  local obj, fn = pair(t)
  if fn then return obj, fn end
  fail("expected a function or a table {object, function} as timer")
end

local function find_timer(obj, fn)
  for i, t in ipairs(tool._timers) do
    if rawequal(t.obj, obj) and rawequal(t.fn, fn) then return i end
  end
end

function Tool:add_timer(fn, interval_ms)
  local obj, f = timer_key(fn)
  -- Renoise: "must be > 0" (NaN fails the test too). An infinite
  -- interval never fires, yet would keep the run alive until --timeout.
  if type(interval_ms) ~= "number" or not (interval_ms > 0) or interval_ms == math.huge then
    fail("add_timer: the interval must be a finite number of milliseconds > 0")
  end
  if find_timer(obj, f) then
    fail("add_timer: the given timer function was already added")
  end
  table.insert(tool._timers, {
    obj = obj, fn = f, interval = interval_ms / 1000, due = host.now() + interval_ms / 1000,
  })
end

function Tool:has_timer(fn)
  return find_timer(timer_key(fn)) ~= nil
end

function Tool:remove_timer(fn)
  local i = find_timer(timer_key(fn))
  if not i then fail("remove_timer: the given timer function was not added") end
  table.remove(tool._timers, i)
end

local function registrar(list, what)
  return function(self, entry)
    if type(entry) ~= "table" or type(entry.name) ~= "string" then
      fail("add_" .. what .. ": expected a table with a 'name'")
    end
    -- Renoise requires the function at once; a missing one would
    -- otherwise surface only when the entry is invoked.
    if type(entry.invoke) ~= "function" then
      fail("add_" .. what .. " '" .. entry.name .. "': 'invoke' must be a function, got "
        .. type(entry.invoke))
    end
    for _, e in ipairs(list) do
      if e.name == entry.name then
        fail("add_" .. what .. ": '" .. entry.name .. "' was already added")
      end
    end
    table.insert(list, entry)
  end
end
local function checker(list)
  return function(self, name)
    for _, e in ipairs(list) do if e.name == name then return true end end
    return false
  end
end
local function remover(list)
  return function(self, name)
    for i, e in ipairs(list) do
      if e.name == name then table.remove(list, i) return end
    end
  end
end
Tool.add_menu_entry = registrar(tool._menu_entries, "menu_entry")
Tool.has_menu_entry = checker(tool._menu_entries)
Tool.remove_menu_entry = remover(tool._menu_entries)
Tool.add_keybinding = registrar(tool._keybindings, "keybinding")
Tool.has_keybinding = checker(tool._keybindings)
Tool.remove_keybinding = remover(tool._keybindings)
Tool.add_midi_mapping = registrar(tool._midi_mappings, "midi_mapping")
Tool.has_midi_mapping = checker(tool._midi_mappings)
Tool.remove_midi_mapping = remover(tool._midi_mappings)
-- File import hooks: recorded (there is no disk browser to invoke them),
-- one per category and set of extensions, as Renoise tells them apart.
local import_hooks = {}
local function hook_key(category, extensions)
  if type(category) ~= "string" or type(extensions) ~= "table" then
    fail("file import hook: expected a category (string) and a table of extensions")
  end
  local exts = {}
  for i, e in ipairs(extensions) do exts[i] = tostring(e):lower() end
  table.sort(exts)
  return category .. "|" .. table.concat(exts, "|")
end
function Tool:add_file_import_hook(hook)
  if type(hook) ~= "table" or type(hook.invoke) ~= "function" then
    fail("add_file_import_hook: expected a table with 'category', 'extensions' and 'invoke'")
  end
  local key = hook_key(hook.category, hook.extensions)
  if import_hooks[key] then
    fail("add_file_import_hook: a hook for these extensions was already added")
  end
  import_hooks[key] = hook
end
function Tool:has_file_import_hook(category, extensions)
  return import_hooks[hook_key(category, extensions)] ~= nil
end
function Tool:remove_file_import_hook(category, extensions)
  import_hooks[hook_key(category, extensions)] = nil
end

-- What a MIDI mapping invoked by --menu gets: a full press of a button or
-- a controller turned all the way up (an absolute value of 127 that also
-- triggers), over the mapping's whole range.
local MidiMessage = {}
MidiMessage.__index = MidiMessage
host.api_names[MidiMessage] = "MidiMessage"
function MidiMessage:is_trigger() return true end
function MidiMessage:is_switch() return false end
function MidiMessage:is_rel_value() return false end
function MidiMessage:is_abs_value() return true end

-- --menu NAME: the entry, keybinding or mapping by full name or last part.
host.invoke_entry = function(name)
  local kinds = {
    { tool._menu_entries, function(e) return e.invoke() end, menu = true },
    { tool._keybindings, function(e) return e.invoke(false) end },
    { tool._midi_mappings, function(e)
        return e.invoke(setmetatable({ int_value = 127, boolean_value = true,
          value_min_scaling = 0, value_max_scaling = 1 }, MidiMessage))
      end },
  }
  -- Every entry with its call, in order; a full name wins, a last part
  -- must name one entry only.
  local all, exact, short = {}, nil, {}
  for _, kind in ipairs(kinds) do
    for _, e in ipairs(kind[1]) do
      local item = { entry = e, call = kind[2], menu = kind.menu }
      all[#all + 1] = item
      local last = e.name:match("([^:]*)$")
      if e.name == name then
        exact = exact or item
      elseif last == name or last:gsub("^%s+", ""):gsub("%.%.%.$", "") == name then
        short[#short + 1] = item
      end
    end
  end
  local function listing(items)
    local names = {}
    for _, item in ipairs(items) do names[#names + 1] = "  " .. item.entry.name end
    return table.concat(names, "\n")
  end
  if not exact and #short > 1 then
    return false, "'" .. name .. "' is ambiguous, give the full name of one of:\n"
      .. listing(short)
  end
  local found = exact or short[1]
  if found then
    -- Renoise greys out a menu entry whose active() returns false (or
    -- nil): nobody can click it, so --menu cannot either. Keybindings and
    -- MIDI mappings have no such state. An error in active() is the tool's,
    -- like one in invoke (with --keep-going: said, and the entry not run).
    if found.menu and type(found.entry.active) == "function" then
      local ran, active = call(found.entry.active)
      if not ran then return true end
      if not active then
        return false, "'" .. found.entry.name .. "' is inactive (its active function returned "
          .. tostring(active) .. ")"
      end
    end
    call(found.call, nil, found.entry)
    return true
  end
  return false, "no menu entry, keybinding or MIDI mapping named '" .. name .. "'"
    .. (#all > 0 and (", the tool has:\n" .. listing(all)) or " (the tool added none)")
end

-- renoise.app(): messages on stderr.
local App = {}
-- The application's properties, as plain values (there is no song, no
-- log file, no other tool); `active_clipboard_index` can be set (1-4). A
-- name that is neither a property nor a function raises, as in Renoise.
local app_values = {
  log_filename = "", recently_loaded_song_files = {}, recently_saved_song_files = {},
  installed_tools = {}, active_clipboard_index = 1,
  key_modifier_states = { alt = "released", control = "released", shift = "released", meta = "released" },
  key_modifier_flags = { alt = false, control = false, shift = false, meta = false },
}
local app_mt = {
  __index = function(_, key)
    local v = App[key]
    if v ~= nil then return v end
    if key == "current_song" then return renoise.song() end
    v = app_values[key]
    if v ~= nil then
      -- Lists come as copies, as Renoise's do.
      if type(v) == "table" then v = table.copy(v) end
      return v
    end
    fail(("renoise.app() has no property or function '%s' (renoise-socket run)"):format(tostring(key)))
  end,
  __newindex = function(_, key, value)
    if key ~= "active_clipboard_index" then
      fail(("renoise.app(): '%s' cannot be set"):format(tostring(key)))
    end
    if type(value) ~= "number" or value % 1 ~= 0 or value < 1 or value > 4 then
      fail("renoise.app().active_clipboard_index: expected a number from 1 to 4, got "
        .. tostring(value))
    end
    app_values.active_clipboard_index = value
  end,
}
host.api_names[app_mt] = "Application"
host.api_members[app_mt] = host.members_of(App, app_values, { current_song = true })
local app = setmetatable({}, app_mt)
function renoise.app() return app end

-- A text argument of renoise.app()'s functions: a string (or a number,
-- which Renoise's bindings take as its text).
local function text_arg(fname, i, v, optional)
  local t = host.rawtype(v)
  if not (t == "string" or t == "number" or (optional and v == nil)) then
    fail(("bad argument #%d to '%s' (string expected, got %s)"):format(i, fname, type(v)))
  end
end
-- A list of strings (button labels, file extensions), or nil.
local function strings_arg(fname, i, v)
  local ok = v == nil or host.rawtype(v) == "table"
  for _, s in ipairs(host.rawtype(v) == "table" and v or {}) do
    ok = ok and host.rawtype(s) == "string"
  end
  if not ok then
    fail(("bad argument #%d to '%s' (a table of strings expected, got %s)"):format(i, fname, type(v)))
  end
end

local function say(kind, msg)
  if not host.quiet then
    io.stderr:write("[renoise.app] ", kind, ": ", tostring(msg), "\n")
  end
end
-- One text, as Renoise's bindings take: more arguments raise there ("no
-- matching overload"), so a tool that passes pieces to be joined must
-- not pass here and fail in Renoise.
local function one_text(fname, kind)
  return function(_, text, ...)
    text_arg(fname, 1, text)
    local extra = select("#", ...)
    if extra > 0 then
      fail(("'%s' takes one text, got %d arguments (join them with ..)"):format(fname, extra + 1))
    end
    say(kind, text)
  end
end
for _, kind in ipairs({ "status", "message", "warning", "error" }) do
  App["show_" .. kind] = one_text("show_" .. kind, kind)
end
App.open_url = one_text("open_url", "open_url")
App.open_path = one_text("open_path", "open_path")
-- Nothing is installed: there is no Renoise to install into.
function App:install_tool(path) say("install_tool", path) end
function App:uninstall_tool(path) say("uninstall_tool", path) end
-- The button a prompt returns, said on stderr with the buttons there
-- were, so a user at a terminal sees which way the tool went.
-- The buttons a prompt shows: those given, else one "Ok".
local function shown_buttons(buttons)
  if host.rawtype(buttons) == "table" and buttons[1] ~= nil then return buttons end
  return { "Ok" }
end
local function answer(kind, text, buttons, pressed)
  local chosen = pressed or host.prompt_answer
  local shown = shown_buttons(buttons)
  if chosen == nil then chosen = shown[1] end
  local names = {}
  for i, b in ipairs(shown) do names[i] = tostring(b) end
  say(kind, text .. " [" .. table.concat(names, "/") .. "] -> " .. tostring(chosen))
  return chosen
end
function App:show_prompt(title, message, buttons)
  text_arg("show_prompt", 1, title)
  text_arg("show_prompt", 2, message)
  strings_arg("show_prompt", 3, buttons)
  return answer("prompt", tostring(title) .. ": " .. tostring(message), buttons)
end
local function content_arg(fname, view)
  if not host.is_view(view) then
    fail("bad argument #2 to '" .. fname .. "' (a view from renoise.ViewBuilder expected, got "
      .. type(view) .. ")")
  end
end
function App:show_custom_prompt(title, view, buttons)
  text_arg("show_custom_prompt", 1, title)
  strings_arg("show_custom_prompt", 3, buttons)
  content_arg("show_custom_prompt", view)
  -- On screen while it is up (see views.lua).
  rawset(view, "_dialog", {})
  local pressed = host.run_prompt_actions(view, shown_buttons(buttons))
  -- Closed once it returns: its views can no longer be pressed or set.
  rawset(view, "_dialog", { _closed = true })
  return answer("custom prompt", tostring(title), buttons, pressed)
end
-- The dialog is "shown" (visible) until the tool closes it; `visible` and
-- `focused` are read-only. The newest dialog shown (or brought to front
-- with `show()`) has the focus while it is open.
local Dialog = {}
local front
-- Open dialogs, held with their content: in Renoise a dialog stays on
-- screen, clickable, whether or not the tool keeps a reference to it.
local open_dialogs = {}
local dialog_mt = {
  __index = function(d, key)
    if key == "visible" then return not rawget(d, "_closed") end
    if key == "focused" then return front == d and not rawget(d, "_closed") end
    return Dialog[key]
  end,
  __newindex = function(_, key)
    if key == "visible" or key == "focused" then
      fail("property '" .. key .. "' of Dialog is read-only")
    end
    fail("Dialog has no field '" .. tostring(key) .. "'")
  end,
}
host.api_names[dialog_mt] = "Dialog"
host.api_members[dialog_mt] = host.members_of(Dialog, { visible = true, focused = true })
function Dialog:show()
  if not rawget(self, "_closed") then front = self end
end
function Dialog:close()
  rawset(self, "_closed", true)
  open_dialogs[self] = nil
end
host.check_self(Dialog, "Dialog", function(d) return getmetatable(d) == dialog_mt end)
function App:show_custom_dialog(title, view)
  text_arg("show_custom_dialog", 1, title)
  content_arg("show_custom_dialog", view)
  say("custom dialog", tostring(title))
  local d = setmetatable({}, dialog_mt)
  front = d
  open_dialogs[d] = view
  -- Its views cannot be clicked once it is closed (see views.lua).
  rawset(view, "_dialog", d)
  return d
end
-- The file prompts: --path-answer, or "" (cancelled) without it.
local function path_answer(kind, title)
  say(kind, tostring(title or ""))
  return host.path_answer or ""
end
function App:prompt_for_filename_to_read(extensions, title)
  strings_arg("prompt_for_filename_to_read", 1, extensions)
  text_arg("prompt_for_filename_to_read", 2, title, true)
  return path_answer("prompt_for_filename_to_read", title)
end
function App:prompt_for_multiple_filenames_to_read(extensions, title)
  strings_arg("prompt_for_multiple_filenames_to_read", 1, extensions)
  text_arg("prompt_for_multiple_filenames_to_read", 2, title, true)
  local path = path_answer("prompt_for_multiple_filenames_to_read", title)
  return path == "" and {} or { path }
end
function App:prompt_for_filename_to_write(extension, title)
  text_arg("prompt_for_filename_to_write", 1, extension, true)
  text_arg("prompt_for_filename_to_write", 2, title, true)
  return path_answer("prompt_for_filename_to_write", title)
end
function App:prompt_for_path(title)
  text_arg("prompt_for_path", 1, title, true)
  return path_answer("prompt_for_path", title) end

-- What needs a song (or the instrument or track it selects) raises: there
-- is none.
for _, name in ipairs({ "new_song", "new_song_no_template", "load_song", "save_song",
    "save_song_as", "load_track_device_chain", "load_track_device_preset", "load_instrument",
    "load_instrument_multi_sample", "load_instrument_device_chain",
    "load_instrument_device_preset", "load_instrument_modulation_set", "load_instrument_phrase",
    "load_instrument_sample", "save_track_device_chain", "save_instrument",
    "save_instrument_multi_sample", "save_instrument_device_chain",
    "save_instrument_modulation_set", "save_instrument_phrase", "save_instrument_sample" }) do
  App[name] = function()
    fail("renoise.app():" .. name .. "(): there is no song outside Renoise (renoise-socket run)")
  end
end

-- renoise.ApplicationWindow's constants, and renoise.app().window: the
-- window's view settings as plain values (no GUI shows them). Assigning
-- one fires its observable, so a tool that switches views and one that
-- follows them both work; the functions do nothing.
renoise.ApplicationWindow = {
  UPPER_FRAME_TRACK_SCOPES = 1, UPPER_FRAME_MASTER_SPECTRUM = 2,
  MIDDLE_FRAME_PATTERN_EDITOR = 1, MIDDLE_FRAME_MIXER = 2,
  MIDDLE_FRAME_INSTRUMENT_PHRASE_EDITOR = 3, MIDDLE_FRAME_INSTRUMENT_SAMPLE_KEYZONES = 4,
  MIDDLE_FRAME_INSTRUMENT_SAMPLE_EDITOR = 5, MIDDLE_FRAME_INSTRUMENT_SAMPLE_MODULATION = 6,
  MIDDLE_FRAME_INSTRUMENT_SAMPLE_EFFECTS = 7, MIDDLE_FRAME_INSTRUMENT_PLUGIN_EDITOR = 8,
  MIDDLE_FRAME_INSTRUMENT_MIDI_EDITOR = 9,
  LOWER_FRAME_TRACK_DSPS = 1, LOWER_FRAME_TRACK_AUTOMATION = 2,
  MIXER_FADER_TYPE_24DB = 1, MIXER_FADER_TYPE_48DB = 2, MIXER_FADER_TYPE_96DB = 3,
  MIXER_FADER_TYPE_LINEAR = 4,
}
local window_values = {
  fullscreen = false, is_maximized = false, is_minimized = false,
  lock_keyboard_focus = false, sample_record_dialog_is_visible = false,
  disk_browser_is_visible = true, instrument_box_is_visible = true,
  instrument_editor_is_detached = false, mixer_view_is_detached = false,
  upper_frame_is_visible = true, active_upper_frame = 1, active_middle_frame = 1,
  lower_frame_is_visible = true, active_lower_frame = 1,
  pattern_matrix_is_visible = true, pattern_advanced_edit_is_visible = false,
  mixer_view_post_fx = false, mixer_fader_type = 1,
}
local read_only = { is_maximized = true, is_minimized = true }
local window_observables = {}
local Window = {}
function Window:maximize() end
function Window:minimize() end
function Window:restore() end
function Window:select_preset() end
local window_mt = {
  __index = function(_, key)
    if Window[key] then return Window[key] end
    if window_values[key] ~= nil then return window_values[key] end
    local base = type(key) == "string" and key:match("^(.*)_observable$")
    if base and window_values[base] ~= nil then
      window_observables[base] = window_observables[base] or host.Observable()
      return window_observables[base]
    end
    fail(("renoise.app().window has no property '%s'"):format(tostring(key)))
  end,
  __newindex = function(_, key, value)
    local old = window_values[key]
    if old == nil or read_only[key] then
      fail(("renoise.app().window: '%s' cannot be set"):format(tostring(key)))
    end
    if type(value) ~= type(old) then
      fail(("renoise.app().window.%s: expected a %s, got %s"):format(key, type(old), type(value)))
    end
    window_values[key] = value
    if window_observables[key] then window_observables[key]:_fire() end
  end,
}
host.api_names[window_mt] = "ApplicationWindow"
host.api_members[window_mt] = host.members_of(Window, window_values)
App.window = setmetatable({}, window_mt)
host.check_self(Tool, "ScriptingTool", function(t) return rawequal(t, tool) end)
host.check_self(App, "Application", function(a) return rawequal(a, app) end)

-- renoise.Midi: no devices here. Tools that list devices while they start
-- (OSC-to-MIDI bridges, controller drivers) see none and load; opening a
-- device fails as Renoise fails for a name not in the lists.
local midi_changed = host.Observable()
renoise.Midi = {
  available_input_devices = function() return {} end,
  available_output_devices = function() return {} end,
  devices_changed_observable = function() return midi_changed end,
}
local function no_device(name)
  fail(("MIDI device '%s' not found: there are no MIDI devices outside Renoise (renoise-socket run)")
    :format(tostring(name)))
end
function renoise.Midi.create_input_device(name) no_device(name) end
function renoise.Midi.create_output_device(name) no_device(name) end

-- There is no song outside Renoise. Renoise's API gives `renoise.Song?`
-- (nil while a tool loads), and tools that may run before a song exists
-- guard with `if renoise.song() then`: nil here, so that those go on to
-- their networking; a note on stderr the first time, for a tool that
-- indexes it unguarded, whose "attempt to index a nil value" follows.
local song_noted = false
function renoise.song()
  if not song_noted and not host.quiet then
    song_noted = true
    io.stderr:write("[renoise-socket] renoise.song(): there is no song outside Renoise: nil\n")
  end
  return nil
end

-- Servers and clients the script creates stay alive until closed, as in
-- Renoise, even when the script keeps no reference to them (a client made
-- in a local scope, a server kept only by its notifiers); the loop also
-- dispatches the servers.
host.servers, host.clients = {}, {}
local function keep(create, registry)
  return function(...)
    -- Called through pcall, the module names itself in an argument error
    -- and adds no position; fail gives it the script's line.
    local ok, socket, err = pcall(create, ...)
    if not ok then fail(socket) end
    if socket then registry[socket] = true end
    return socket, err
  end
end
if renoise.Socket and renoise.Socket.create_server then
  renoise.Socket.create_server = keep(renoise.Socket.create_server, host.servers)
  renoise.Socket.create_client = keep(renoise.Socket.create_client, host.clients)
end
