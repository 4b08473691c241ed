-- run as a tool folder: cwd, bundle_path and package.path are the folder
local helper = require("helper")
assert(helper.name == "helper")
assert(io.exists("main.lua"))
assert(renoise.tool().bundle_path:find("tool_folder.xrnx/$"))
assert(select("#", ...) == 2 and select(1, ...) == "a" and arg[2] == "b")
renoise.tool():add_menu_entry { name = "Main Menu:Tools:Say ok...", invoke = function() print("ok") end }
