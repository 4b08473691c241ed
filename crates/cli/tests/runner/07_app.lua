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
print("ok")
