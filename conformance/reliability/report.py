#!/usr/bin/env python3
"""Writes docs/reliability.md from what `make reliability` ran (no figure in it is typed by hand):

- target/fuzz/summary.json        the bounded fuzz pass (`make fuzz`): executions and crashes per target
- target/reliability/lines.txt    every `reliability: {json}` line the crash tests and storms printed
- target/reliability/hostile.tsv  every hostile case of testdata/hostile/*.tsv with its test's result

usage: report.py OUT.md
"""
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read(path):
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def cell(v):
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - a missing tool is reported as such
        return "not found"


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs/reliability.md")
    md = [
        "# Reliability report",
        "",
        "Written by conformance/reliability/report.py, the last step of `make reliability`, from what the steps before it ran; do not edit by hand.",
        f"Run on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, Linux {platform.release()}, "
        f"{version(['rustc', '--version'])}, {version(['cargo', '+nightly', '--version'])} (fuzzing).",
        "",
        "What it covers: fuzzing of every parser that reads outside input, SIGKILL at every step of "
        "every plugin's ADD followed by DEL, storms of parallel calls, and the hostile configurations "
        "and on-disk states of docs/security.md, each with the test that proves the outcome.",
        "",
    ]

    md += ["## Fuzzing", ""]
    summary = read("target/fuzz/summary.json")
    if summary is None:
        md += ["No fuzz summary: `make fuzz` did not run.", ""]
        fuzz_ok = False
    else:
        s = json.loads(summary)
        targets = s.get("targets", [])
        if not s.get("fuzzed", True):
            md += [f"**Nothing was fuzzed**: {s.get('reason', '')}; the target bodies ran over their "
                   f"corpora as plain tests ({s.get('corpus_tests', '?')}).", ""]
        md += [table(["target", "seconds", "executions", "crashes"],
                     [[t.get("name"), t.get("seconds"), t.get("executions"), t.get("crashes")] for t in targets]), ""]
        fuzz_ok = all(int(t.get("crashes") or 0) == 0 for t in targets)
        md += [f"Total: {sum(int(t.get('executions') or 0) for t in targets):,} executions over "
               f"{len(targets)} targets. Crash inputs, once fixed, are replayed by the corpus tests "
               "(testdata/fuzz/<target>/regressions/, docs/fuzzing.md).", ""]

    lines = []
    for raw in (read("target/reliability/lines.txt") or "").splitlines():
        i = raw.find("reliability: {")
        if i >= 0:
            try:
                lines.append(json.loads(raw[i + len("reliability: "):]))
            except json.JSONDecodeError:
                pass

    crash = [l for l in lines if l.get("kind") == "crash"]
    md += ["## Fault injection (SIGKILL at every ADD step, then DEL)", ""]
    if crash:
        md += [table(["plugin", "mode", "injection points", "outcome"],
                     [[l.get("plugin"), l.get("mode", ""), f"{len(l.get('points', []))}: " + ", ".join(l.get("points", [])),
                       l.get("outcome", "")] for l in crash]), ""]
        md += [f"{sum(len(l.get('points', [])) for l in crash)} injection points in all.", ""]
    else:
        md += ["No crash test reported.", ""]

    other = [l for l in lines if l.get("kind") not in ("crash", "fuzz")]
    md += ["## Storms and delegate faults", ""]
    if other:
        md += [table(["kind", "what", "size", "outcome"],
                     [[l.get("kind"), l.get("name", l.get("plugin", "")), l.get("size", l.get("rounds", "")),
                       l.get("outcome", "")] for l in other]), ""]
    else:
        md += ["No storm reported.", ""]

    md += ["## Hostile cases tried and refused", ""]
    hostile = read("target/reliability/hostile.tsv")
    rows = [r.split("\t") for r in (hostile or "").splitlines()[1:] if r.strip()]
    if rows:
        md += [table(["case", "plugin", "attempt", "outcome now", "test", "result"], rows), ""]
        failed = [r for r in rows if r[-1] != "pass"]
        md += [f"{len(rows) - len(failed)} of {len(rows)} cases pass their test." if not failed else
               f"**{len(failed)} of {len(rows)} cases did not pass.**", ""]
    else:
        md += ["No hostile case ran.", ""]

    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(md).rstrip() + "\n")
    print(f"wrote {out_path}: {len(crash)} crash tests, {len(other)} storms, {len(rows)} hostile cases, "
          f"fuzz {'clean' if fuzz_ok else 'missing or crashed'}")


if __name__ == "__main__":
    main()
