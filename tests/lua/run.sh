#!/usr/bin/env bash
# Run the Lua test suite (tests/lua/*_spec.lua, busted) under lua5.1, luajit
# and lua5.4 against the built native module.
#
# ASSUMPTION (the build script must honour it): the module built for
# interpreter X is found at
#     <MODULE_ROOT>/<lua51|luajit|lua54>/renoise_socket.so
# with MODULE_ROOT defaulting to <repo>/target/lua, i.e.
#     target/lua/lua51/renoise_socket.so   (for lua5.1)
#     target/lua/luajit/renoise_socket.so  (for luajit)
#     target/lua/lua54/renoise_socket.so   (for lua5.4)
# Each suite runs with LUA_CPATH="<MODULE_ROOT>/<dir>/?.so;;" (";;" keeps
# the default path, which busted's own C modules need). A renoise_socket.lua
# in the same directory is found too (LUA_PATH), which is only meant for
# testing the suite itself against a stand-in.
#
# Usage: tests/lua/run.sh [MODULE_ROOT]
# Env:   RS_SKIP_SLOW=1       skip tests tagged #slow (the 10 s send-timeout test)
#        RS_INTERPRETERS="…"  subset of "lua5.1 luajit lua5.4"
#        RS_SUITE_TIMEOUT=S   hard limit per interpreter (default 600 s)
#        RS_PYTHON=path       python3 for tests/lua/peer.py (default /usr/bin/python3)
#
# Output: busted's TAP for each interpreter (after a "# <interpreter>" line),
# then one last plain line "N passed, N failed" totalled over the three
# interpreters. Exit status is non-zero if any test failed or a suite could
# not run at all (interpreter, busted or module missing, crash, no plan).
#
# How busted runs here: Debian's lua-busted (and all its dependencies)
# installs modules for 5.1-5.4, so `busted --lua=<interpreter>` re-executes
# busted's runner under lua5.1, luajit or lua5.4 directly.

set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="${1:-$repo/target/lua}"
root="$(cd "$root" 2>/dev/null && pwd || echo "$root")"
interpreters="${RS_INTERPRETERS:-lua5.1 luajit lua5.4}"
suite_timeout="${RS_SUITE_TIMEOUT:-600}"

# peer.py's interpreter: a real binary, not a (slow) pyenv-style shim
if [ -z "${RS_PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then RS_PYTHON=/usr/bin/python3; else RS_PYTHON=python3; fi
fi
export RS_PYTHON

extra=()
if [ "${RS_SKIP_SLOW:-0}" = "1" ]; then extra+=(--exclude-tags=slow); fi

total_pass=0
total_fail=0
total_skip=0
broken=0
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

dir_for() {
  case "$1" in
    lua5.1) echo lua51 ;;
    luajit) echo luajit ;;
    lua5.4) echo lua54 ;;
    *) echo "" ;;
  esac
}

for interp in $interpreters; do
  echo "# $interp"
  dir="$(dir_for "$interp")"
  moddir="$root/$dir"
  if [ -z "$dir" ]; then
    echo "# ERROR: unknown interpreter '$interp'"; broken=$((broken + 1)); total_fail=$((total_fail + 1)); continue
  fi
  if ! command -v "$interp" >/dev/null 2>&1; then
    echo "# ERROR: $interp is not installed"; broken=$((broken + 1)); total_fail=$((total_fail + 1)); continue
  fi
  if ! command -v busted >/dev/null 2>&1; then
    echo "# ERROR: busted is not installed (apt-get install lua-busted)"; broken=$((broken + 1)); total_fail=$((total_fail + 1)); continue
  fi
  if [ ! -e "$moddir/renoise_socket.so" ] && [ ! -e "$moddir/renoise_socket.lua" ]; then
    echo "# ERROR: module not found: $moddir/renoise_socket.so"; broken=$((broken + 1)); total_fail=$((total_fail + 1)); continue
  fi

  out="$log_dir/$dir.tap"
  peer_log="$log_dir/$dir.peer.log"
  (
    cd "$repo" &&
    LUA_CPATH="$moddir/?.so;;" \
    LUA_PATH="$moddir/?.lua;$here/?.lua;;" \
    RS_LUA="$interp" RS_PEER_LOG="$peer_log" \
    timeout --kill-after=10 "$suite_timeout" \
      busted --lua="$interp" -o TAP ${extra[@]+"${extra[@]}"} "$here"
  ) >"$out" 2>&1
  rc=$?
  cat "$out"

  pass=$(grep -E '^ok [0-9]+' "$out" | grep -vc '# SKIP' || true)
  skip=$(grep -E '^ok [0-9]+' "$out" | grep -c '# SKIP' || true)
  fail=$(grep -cE '^not ok [0-9]+' "$out" || true)
  plan=$(grep -E '^1\.\.[0-9]+$' "$out" | tail -1 | cut -d. -f3)

  if [ -z "$plan" ]; then
    echo "# ERROR: $interp suite did not finish (exit $rc; 124 = suite timeout, 141 = SIGPIPE, 139 = SIGSEGV)"
    broken=$((broken + 1)); fail=$((fail + 1))
  elif [ "$plan" -ne $((pass + skip + fail)) ]; then
    echo "# ERROR: $interp plan 1..$plan but $((pass + skip + fail)) results"
    broken=$((broken + 1)); fail=$((fail + 1))
  elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    echo "# ERROR: busted exited with $rc but reported no failure"
    broken=$((broken + 1)); fail=$((fail + 1))
  fi
  if [ "$fail" -gt 0 ] && [ -s "$peer_log" ]; then
    echo "# peer.py stderr for $interp:"
    sed 's/^/#   /' "$peer_log"
  fi
  echo "# $interp: $pass passed, $fail failed, $skip skipped"
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  total_skip=$((total_skip + skip))
done

echo "# skipped (pending): $total_skip"
echo "$total_pass passed, $total_fail failed"
if [ "$total_fail" -ne 0 ] || [ "$broken" -ne 0 ]; then exit 1; fi
exit 0
