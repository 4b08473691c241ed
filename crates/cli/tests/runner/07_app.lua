local app = renoise.app()
app:show_status("status text")
app:show_message("message text")
app:show_warning("warning text")
app:show_error("error text")
app:open_url("http://example.invalid/")
assert(app:show_prompt("Title", "Question?", { "Yes", "No" }) == (arg[1] or "Yes"))
local vb = renoise.ViewBuilder()
assert(app:show_custom_prompt("Title", vb:text {}, { "A", "B" }) == (arg[1] or "A"))
if not arg[1] then
  -- Renoise's default buttons: { "Ok" }.
  assert(app:show_prompt("Title", "Question?") == "Ok")
  assert(app:show_custom_prompt("Title", vb:text {}) == "Ok")
end
-- The content must be a view.
local ok, e = pcall(app.show_custom_prompt, app, "Title", {}, { "A" })
assert(not ok and e:find("a view from renoise.ViewBuilder expected, got table", 1, true), e)
ok, e = pcall(app.show_custom_dialog, app, "Title")
assert(not ok and e:find("a view from renoise.ViewBuilder expected, got nil", 1, true), e)
-- The application's properties; unknown names raise, as in Renoise.
assert(app.active_clipboard_index == 1)
app.active_clipboard_index = 1 + (app.active_clipboard_index % 4)
assert(app.active_clipboard_index == 2)
ok, e = pcall(function() app.active_clipboard_index = 5 end)
assert(not ok and e:find("from 1 to 4", 1, true), e)
ok, e = pcall(function() app.log_filename = "x" end)
assert(not ok and e:find("cannot be set", 1, true), e)
assert(type(app.log_filename) == "string" and #app.recently_loaded_song_files == 0)
assert(app.key_modifier_states.shift == "released" and app.key_modifier_flags.control == false)
local tools = app.installed_tools
tools.x = 1
assert(app.installed_tools.x == nil, "a copy, as Renoise gives")
ok, e = pcall(function() return app.no_such_property end)
assert(not ok and e:find("has no property or function 'no_such_property'", 1, true), e)
-- No song: nil, as Renoise's renoise.Song? is while a tool loads, so a
-- guarded tool goes on.
assert(renoise.song() == nil and app.current_song == nil)
local guarded = "skipped"
if renoise.song() then guarded = renoise.song().name end
assert(guarded == "skipped")
ok, e = pcall(function() return renoise.song().transport end)
assert(not ok and e:find("a nil value", 1, true), e)
ok, e = pcall(app.load_song, app, "x.xrns")
assert(not ok and e:find("load_song(): there is no song", 1, true), e)
assert(#app:prompt_for_multiple_filenames_to_read({ "wav" }, "Pick") == 0)
print("ok")
