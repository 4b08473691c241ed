-- Builds and installs the renoise_socket Lua module (crates/lua) from this
-- source tree:
--
--   luarocks make --local                         # default Lua of luarocks
--   luarocks --lua-version 5.4 make --local       # a given Lua
--
-- Needs cargo (Rust >= 1.88) on PATH; no Lua headers or libraries. The
-- Lua that luarocks targets ($(LUA)) decides the build: Lua 5.1, LuaJIT
-- or Lua 5.4 (scripts/luarocks-build.sh).
rockspec_format = "3.0"
package = "renoise-socket"
version = "scm-1"
source = {
   url = "git+https://example.invalid/renoise-socket",
}
description = {
   summary = "Renoise's renoise.Socket API for plain Lua 5.1, LuaJIT and Lua 5.4",
   detailed = [[
      A native module built in Rust: require("renoise_socket") gives
      Socket.create_client with Renoise's SocketClient semantics (receive
      "*line", "*all" or n bytes with deadlines that never lose data, send,
      properties), and install() makes renoise.Socket available so Renoise
      tool code runs unchanged.
   ]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.5",
}
build = {
   type = "command",
   build_command = [[sh scripts/luarocks-build.sh "$(LUA)"]],
   install = {
      lib = {
         renoise_socket = "target/lua/rock/renoise_socket.so",
      },
   },
}
