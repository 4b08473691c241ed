-- Lua 5.1's environments and module(): Lua 5.1 and LuaJIT builds (Lua 5.4
-- has none of them; tests/cli.rs skips this script there)
assert(_VERSION == "Lua 5.1", _VERSION)
assert(type(module) == "function" and type(setfenv) == "function" and type(getfenv) == "function")
local env = { x = 5 }
local fn = loadstring("return x")
setfenv(fn, env)
assert(fn() == 5)
assert(getfenv(fn) == env)
-- module(): a Renoise-era library file
local lib = loadstring('module("old_style_lib", package.seeall)\nfunction hello() return "hi" end')
lib()
assert(old_style_lib.hello() == "hi" and package.loaded.old_style_lib == old_style_lib)
-- a class declared in a module() file is global, used by its bare name from
-- the module and from everywhere else (luabind registers it in _G)
local shapes = loadstring([[
module("old_style_shapes", package.seeall)
class "Circle"
function Circle:__init(r) self.r = r end
function Circle:area() return 3 * self.r * self.r end
function unit() return Circle(1) end
]])
shapes()
assert(rawget(old_style_shapes, "Circle") == nil, "the class is not the module's")
assert(Circle(2):area() == 12 and old_style_shapes.unit():area() == 3)
print("ok")
