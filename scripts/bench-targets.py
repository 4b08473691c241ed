#!/usr/bin/env python3
"""Checks benchmark results (bench-results/sockbench-*.json, the newest by
default) against the targets of BENCHMARKS.md and prints a Markdown table:
the ratio of each target, measured within each run, with a check mark or
a cross. Given several result files, one column per run (labelled with its
start time) and how many runs met each target.

    scripts/bench-targets.py [results.json ...]
"""
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LINES = [f"lines-{n}-{t}" for n in (16, 100, 1000) for t in ("lf", "crlf")]
# Lua targets: workload -> (kind, bound); speed ratio >= bound, or for
# "le" (ns per poll) ratio <= bound; "pp" = ping-pong no slower (p50).
LUA = [(w, "ge", {16: 2, 100: 3, 1000: 5}[int(w.split("-")[1])]) for w in LINES]
LUA += [("records-64", "ge", 2.5), ("bulk", "ge", 3), ("poll-idle", "le", 0.6),
        ("pingpong-1core", "pp", 1.0), ("pingpong-2cores", "pp", 1.0)]


def targets(d):
    """(target, workload, ratio text, bound, mark, detail) of every target."""
    s = d["summary"]

    def cell(w, p):
        c = s.get(f"{w}|{p}")
        return c if c and c.get("ok") else None

    rows = []

    def row(target, w, ratio, bound, ok, detail):
        mark = "–" if ratio is None else ("✓" if ok else "✗")
        r = "n/a" if ratio is None else f"{ratio:.2f}"
        rows.append((target, w, r, bound, mark, detail))

    # Rust: client CPU per unit vs rust-memchr (lines, records): <= 1.10.
    for w in LINES + ["records-64"]:
        a, b = cell(w, "rust-renoise"), cell(w, "rust-memchr")
        r = a["cli_cpu_unit"] / b["cli_cpu_unit"] if a and b else None
        row("Rust CPU/unit vs rust-memchr", w, r, "≤ 1.10", r is not None and r <= 1.10,
            f"{a['cli_cpu_unit']:.1f} vs {b['cli_cpu_unit']:.1f}" if r else "")
    # Rust: at least rust-std on bulk (MB/s), ping-pong (p50) and polls (ns).
    for w, higher in (("bulk", True), ("pingpong-1core", False), ("pingpong-2cores", False),
                      ("poll-idle", False)):
        a, b = cell(w, "rust-renoise"), cell(w, "rust-std")
        if a and b:
            r = a["head"] / b["head"] if higher else b["head"] / a["head"]
        else:
            r = None
        row("Rust vs rust-std (speed)", w, r, "≥ 1.00", r is not None and r >= 1.0,
            f"{a['head']:.4g} vs {b['head']:.4g}" if r else "")
    for interp in ("lua5.1", "luajit"):
        ours, ref = f"{interp}+renoise-socket", f"{interp}+luasocket"
        for w, kind, bound in LUA:
            a, b = cell(w, ours), cell(w, ref)
            if not (a and b):
                row(f"{interp} vs LuaSocket", w, None, f"{bound}", False, "")
                continue
            if kind == "ge":
                r, ok, bs = a["head"] / b["head"], a["head"] / b["head"] >= bound, f"≥ {bound}"
            elif kind == "le":
                r, ok, bs = a["head"] / b["head"], a["head"] / b["head"] <= bound, f"≤ {bound}"
            else:  # p50 round trip: no slower
                r, ok, bs = b["head"] / a["head"], a["head"] <= b["head"], "≥ 1.00 (speed)"
            cpu = f"; CPU/unit {a['cli_cpu_unit']:.4g} vs {b['cli_cpu_unit']:.4g}" \
                if a.get("cli_cpu_unit") and b.get("cli_cpu_unit") else ""
            row(f"{interp} vs LuaSocket", w, r, bs, ok, f"{a['head']:.4g} vs {b['head']:.4g}{cpu}")
    return rows


def main():
    paths = sys.argv[1:] or [max(
        glob.glob(os.path.join(ROOT, "bench-results", "sockbench-*.json")), key=os.path.getmtime)]
    runs = [json.load(open(p)) for p in paths]
    if len(runs) == 1:
        d = runs[0]
        print(f"Targets, from {os.path.relpath(paths[0], ROOT)} "
              f"(runs {d['args']['runs']}, scale {d['args']['scale']}):\n")
        print("| target | workload | ratio | bound | | ours vs theirs |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in targets(d):
            print("| " + " | ".join(r) + " |")
        return
    tables = [targets(d) for d in runs]
    labels = [d["info"]["date"][11:16] for d in runs]
    print("| target | workload | bound | " + " | ".join(labels) + " | met |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in labels) + " | --- |")
    for i, (target, w, _, bound, _, _) in enumerate(tables[0]):
        cells = [f"{t[i][2]} {t[i][4]}" for t in tables]
        met = sum(t[i][4] == "✓" for t in tables)
        print(f"| {target} | {w} | {bound} | " + " | ".join(cells) + f" | {met}/{len(runs)} |")


if __name__ == "__main__":
    main()
