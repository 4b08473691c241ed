-- Unknown string escapes such as "\s", which Renoise-era code has: PUC Lua
-- 5.1 only (LuaJIT and Lua 5.4 reject them; tests/cli.rs skips this script
-- there)
assert(loadstring('return "\\s"')() == "s", "unknown escapes are accepted")
print("ok")
