#!/usr/bin/env python3
"""What a call's resident memory is made of: file pages (for a static binary, its own
executable's pages) or anonymous memory (heap, stacks, data written), read from
/proc/PID/status while the process is held at its exit_group, when it has everything it will
ever have mapped: VmHWM (the peak), RssFile, RssAnon.

    python3 bench/rss_parts.py OUT_DIR STATIC_DIR     (make bench runs it; OUT_DIR/rss_parts.json)

The hold is strace's syscall fault injection: `-e inject=exit_group:delay_enter=...` stops the
process at the entry of exit_group for a moment, long enough to read its status; nothing else
of the call is traced. Measured: the empty program (OUT_DIR/baseline.json's), each of our
plugins' VERSION call (start-up, the runner, the exit: what every call pays), our host-local's
and Go's ADD at 10 leases (bench/trace_hostlocal.py's stand-in), each the median of ROUNDS calls.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import trace_hostlocal as hostlocal

ROUNDS = 3
HOLD_US = 300_000
FIELDS = {"VmHWM": "peak", "RssFile": "file", "RssAnon": "anon"}


def held_status(argv, stdin, env):
    """/proc/PID/status fields (KiB) of `argv` held at its exit_group; None if it never got
    there within 10 s."""
    p = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=exit_group",
                          "-e", f"inject=exit_group:delay_enter={HOLD_US}", *argv],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env)
    p.stdin.write(stdin)
    p.stdin.close()
    got, deadline = None, time.monotonic() + 10
    while got is None and time.monotonic() < deadline and p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                kids = f.read().split()
        except OSError:
            kids = []
        for pid in kids:
            try:
                with open(f"/proc/{pid}/syscall") as f:
                    if f.read().split()[0] != "231":  # exit_group on x86_64, our one target
                        continue
                with open(f"/proc/{pid}/status") as f:
                    status = dict(line.split(":", 1) for line in f if ":" in line)
            except (OSError, IndexError):
                continue
            got = {FIELDS[k]: int(status[k].split()[0]) for k in FIELDS if k in status}
            break
        time.sleep(0.002)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return got


def median_of(calls):
    """Field by field median of the calls that were caught."""
    caught = [c for c in calls if c]
    if not caught:
        return None
    return {k: statistics.median(c[k] for c in caught) for k in caught[0]}


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    out, static_dir = os.path.abspath(argv[1]), argv[2]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    parts = {}
    with open(os.path.join(out, "baseline.json")) as f:
        base = os.path.join(hostlocal.ROOT, json.load(f)["static"]["path"])
    conf = b'{"cniVersion":"1.0.0","name":"bench","type":"host-local","ipam":{"type":"host-local"}}'
    parts["the empty program"] = median_of([held_status([base], conf, env) for _ in range(ROUNDS)])
    for name in ("host-local", "sriov", "vdpa", "userspace"):
        parts[f"{name} VERSION"] = median_of(
            [held_status([os.path.join(static_dir, name)], b'{"cniVersion":"1.0.0"}',
                         dict(env, CNI_COMMAND="VERSION")) for _ in range(ROUNDS)])
    for label, binary in (("host-local ADD at 10 leases", os.path.join(static_dir, "host-local")),
                          ("Go host-local ADD at 10 leases", hostlocal.GO)):
        data = os.path.join(out, "rss-parts-data")
        hostlocal.populate(data, 10)
        calls = []
        for i in range(ROUNDS):
            conf, call_env = hostlocal.request("ADD", f"rss{i}", data)
            calls.append(held_status([binary], conf, dict(env, **call_env)))
        parts[label] = median_of(calls)
        shutil.rmtree(data)
    with open(os.path.join(out, "rss_parts.json"), "w") as f:
        json.dump(parts, f, indent=1)
    print("rss parts: " + "; ".join(
        f"{k} {v['peak']:.0f} KiB ({v['file']:.0f} file, {v['anon']:.0f} anonymous)" if v else f"{k} not caught"
        for k, v in parts.items()))


if __name__ == "__main__":
    main(sys.argv)
