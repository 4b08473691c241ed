-- two menu entries whose names end alike
local tool = renoise.tool()
tool:add_menu_entry { name = "Main Menu:Tools:Dup", invoke = function() print("tools dup") end }
tool:add_menu_entry { name = "Pattern Editor:Dup", invoke = function() print("pattern dup") end }
