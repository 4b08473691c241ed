#!/bin/sh
# Build step of renoise-socket-scm-1.rockspec: builds the Lua module for the
# interpreter luarocks targets and leaves it at target/lua/rock/renoise_socket.so.
#   scripts/luarocks-build.sh /usr/bin/lua5.4
# The interpreter is asked what it is (Lua 5.1, LuaJIT or Lua 5.4);
# RS_LUA_FEATURE=lua51|luajit|lua54 overrides that.
set -eu
cd "$(dirname "$0")/.."
lua=${1:-}
feature=${RS_LUA_FEATURE:-}
if [ -z "$feature" ]; then
  if [ -z "$lua" ]; then
    echo "luarocks-build.sh: no Lua interpreter given (set RS_LUA_FEATURE)" >&2
    exit 2
  fi
  kind=$("$lua" -e 'io.write(rawget(_G, "jit") and "luajit" or _VERSION)')
  case "$kind" in
    luajit) feature=luajit ;;
    "Lua 5.1") feature=lua51 ;;
    "Lua 5.4") feature=lua54 ;;
    *) echo "luarocks-build.sh: unsupported Lua '$kind' (5.1, LuaJIT or 5.4)" >&2; exit 2 ;;
  esac
fi
scripts/build-lua.sh "$feature"
mkdir -p target/lua/rock
cp "target/lua/$feature/renoise_socket.so" target/lua/rock/renoise_socket.so
