#!/usr/bin/env bash
# Builds the release artefacts and runs the shared benchmark with
# renoise-socket's peers added: the Rust client (examples/bench_client.rs)
# and the Lua module under lua5.1 and luajit.  Results go to bench-results/
# (git-ignored).  Options pass through to ../shared/bench/run.sh, e.g.
#   scripts/bench.sh --runs 5              # the full table for BENCHMARKS.md
#   scripts/bench.sh --scale 0.05 --runs 1 # smoke test
# A later --out DIR overrides bench-results/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
cd "$ROOT"
# BENCH_NO_BUILD=1 runs what is already built (scripts/bench-bound.py, which
# calls this script once a round).
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cargo build --release --quiet --example bench_client
  [ ! -x scripts/build-lua.sh ] || scripts/build-lua.sh >&2
fi
peers=(--add-peer "rust-renoise=$ROOT/target/release/examples/bench_client")
if [ -x scripts/build-lua.sh ]; then
  for lua in lua51:lua5.1 luajit:luajit; do
    feat=${lua%%:*} exe=${lua##*:}
    so="$ROOT/target/lua/$feat"
    [ -f "$so/renoise_socket.so" ] || continue
    peers+=(--add-peer "$exe+renoise-socket=BENCH_RENOISE_MODULE=renoise_socket BENCH_RENOISE_FIELD=Socket LUA_CPATH=$so/?.so;; $exe {lua_client} renoise")
  done
fi
mkdir -p "$ROOT/bench-results"
exec "$BENCH/run.sh" --out "$ROOT/bench-results" "${peers[@]}" "$@"
