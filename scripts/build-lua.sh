#!/bin/sh
# Builds the Lua module (crates/lua) in release for Lua 5.1, LuaJIT and
# Lua 5.4, and places each at target/lua/<lua51|luajit|lua54>/renoise_socket.so.
#
#   scripts/build-lua.sh            # all three
#   scripts/build-lua.sh lua54      # only some
#
# The builds share one target directory and run one after another: only
# mlua and the module itself are rebuilt per Lua, the core is built once.
# Use it with: LUA_CPATH="target/lua/lua54/?.so;;" lua5.4 your_script.lua
set -eu
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-target}
if [ "$#" -eq 0 ]; then set -- lua51 luajit lua54; fi
for lua in "$@"; do
  case "$lua" in
    lua51 | luajit | lua54) ;;
    *) echo "build-lua.sh: unknown Lua '$lua' (lua51, luajit or lua54)" >&2; exit 2 ;;
  esac
  echo "== building renoise_socket for $lua" >&2
  cargo build --release -p renoise-socket-lua --features "$lua"
  mkdir -p "target/lua/$lua"
  # Copy to a temporary name, then rename: a Lua process that has the old
  # file loaded keeps its mapping intact.
  # macOS names the library .dylib; Lua looks for .so there too.
  lib="$target_dir/release/librenoise_socket_lua.so"
  [ "$(uname -s)" = Darwin ] && lib="$target_dir/release/librenoise_socket_lua.dylib"
  cp "$lib" "target/lua/$lua/.renoise_socket.so.tmp"
  mv -f "target/lua/$lua/.renoise_socket.so.tmp" "target/lua/$lua/renoise_socket.so"
  echo "   -> target/lua/$lua/renoise_socket.so" >&2
done
