#!/usr/bin/env python3
"""How close any Lua binding could come to the Lua targets of BENCHMARKS.md.

A binding that returns each line or record as a fresh Lua string pays, per
item, at least the interpreter's string creation (the floor that
scripts/bench-floor.lua measures, here in a heap like the benchmark
client's) plus the kernel and socket work that the leanest Rust reader
(rust-memchr) pays. LuaSocket's CPU per item divided by that sum is the
best ratio against LuaSocket that a binding whose own code cost nothing
would reach.

The machine's speed drifts by 20% and more over minutes, so the figures
are measured in interleaved rounds: each round runs the shared harness once
(rust-memchr, LuaSocket and ours under lua5.1 and luajit, on the lines and
records workloads, client pinned to cpu0) and then the floor of each
interpreter, pinned to cpu0 too. Medians over the rounds are printed as a
Markdown table, with the range of the per-round bounds.

    scripts/bench-bound.py [ROUNDS]     # default 3, about 2 minutes a round

Builds nothing: run scripts/bench.sh once first (it builds the release
artefacts). Raw harness results go to bench-results/bound/.
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench-results", "bound")
WORKLOADS = {"lines-16-lf": ("lines-16", 2), "lines-100-lf": ("lines-100", 3),
             "lines-1000-lf": ("lines-1000", 5), "records-64": ("records-64", 2.5)}
INTERPS = {"lua5.1": "lua51", "luajit": "luajit"}


def harness_round():
    for feat in INTERPS.values():
        if not os.path.exists(os.path.join(ROOT, "target", "lua", feat, "renoise_socket.so")):
            sys.exit(f"missing target/lua/{feat}/renoise_socket.so: run scripts/bench.sh first")
    before = set(glob.glob(os.path.join(OUT, "*.json")))
    # scripts/bench.sh adds our three peers, as for the full table.
    subprocess.run([os.path.join(ROOT, "scripts", "bench.sh"), "--out", OUT, "--runs", "1",
                    "--peers", "rust-memchr,lua5.1+luasocket,luajit+luasocket",
                    "--workloads", ",".join(WORKLOADS)],
                   env=dict(os.environ, BENCH_NO_BUILD="1"), check=True, stdout=subprocess.DEVNULL)
    new = sorted(set(glob.glob(os.path.join(OUT, "*.json"))) - before, key=os.path.getmtime)
    summary = json.load(open(new[-1]))["summary"]

    def cpu(w, p):
        c = summary.get(f"{w}|{p}")
        return c["cli_cpu_unit"] if c and c.get("ok") else None
    return cpu


def floor_round(exe, feat):
    env = dict(os.environ, FLOOR_HEAP="client",
               LUA_CPATH=os.path.join(ROOT, "target", "lua", feat, "?.so") + ";;")
    out = subprocess.run(["taskset", "-c", "0", exe, os.path.join(ROOT, "scripts", "bench-floor.lua")],
                         env=env, check=True, capture_output=True, text=True).stdout
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^\s+(\S+)\s+([0-9.]+) ns/item", out, re.M)}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    os.makedirs(OUT, exist_ok=True)
    rows = {}  # (interp, workload) -> list of (luasocket, floor, kernel, ours)
    for r in range(rounds):
        sys.stderr.write(f"round {r + 1}/{rounds}: harness\n")
        cpu = harness_round()
        for exe, feat in INTERPS.items():
            sys.stderr.write(f"round {r + 1}/{rounds}: floor, {exe}\n")
            fl = floor_round(exe, feat)
            for w, (fname, _) in WORKLOADS.items():
                vals = (cpu(w, f"{exe}+luasocket"), fl.get(fname), cpu(w, "rust-memchr"),
                        cpu(w, f"{exe}+renoise-socket"))
                if None not in vals:
                    rows.setdefault((exe, w), []).append(vals)
    med = statistics.median
    print(f"Medians of {rounds} interleaved rounds, CPU ns per item (client on cpu0):\n")
    print("| interpreter | workload | LuaSocket | floor (client heap) | kernel + socket "
          "(rust-memchr) | ours | best possible | ours vs LuaSocket | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (exe, w), vals in rows.items():
        ls, fl, k, ours = (med(v[i] for v in vals) for i in range(4))
        bounds = [v[0] / (v[1] + v[2]) for v in vals]
        ratios = [v[0] / v[3] for v in vals]
        print(f"| {exe} | {w} | {ls:.0f} | {fl:.0f} | {k:.0f} | {ours:.0f} | "
              f"**{med(bounds):.2f}** ({min(bounds):.2f}-{max(bounds):.2f}) | "
              f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {WORKLOADS[w][1]} |")


if __name__ == "__main__":
    main()
