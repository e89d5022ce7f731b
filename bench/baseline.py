#!/usr/bin/env python3
"""The baseline row of docs/benchmarks.md: an empty Rust program (bench/baseline) built exactly
like the shipped plugins, its size and peak RSS measured the way the plugins' are.

    python3 bench/baseline.py OUT_DIR        (make bench runs it; writes OUT_DIR/baseline.json)

"Exactly like": the workspace's [profile.release] is read from Cargo.toml and passed to cargo as
`--config profile.release.KEY=VALUE`; `make static`'s RUSTFLAGS and target are read from the
Makefile by make itself. Nothing is copied here, so a change to either is measured by the next
run. The same program is also built dynamically linked (no RUSTFLAGS, no --target: what `make
build` does), so the report can say how much of the static baseline is glibc linked in.

Peak RSS: GNU time's %M (ru_maxrss of its child) around the program with a CNI config on its
stdin, the highest of ROUNDS calls, as the plugins' memory rounds report theirs.
"""

import json
import os
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATE = os.path.join(ROOT, "bench", "baseline")
NAME = "nfv-bench-baseline"
ROUNDS = 5
CONFIG = b'{"cniVersion":"1.0.0","name":"bench","type":"host-local","ipam":{"type":"host-local"}}'


def toml_value(v):
    """A TOML literal of a profile value, for `cargo --config`."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    raise ValueError(f"profile value {v!r}: only booleans, numbers and strings are expected")


def profile_args(cargo_toml_text):
    """`--config` arguments carrying the workspace's [profile.release], and the profile itself."""
    profile = tomllib.loads(cargo_toml_text).get("profile", {}).get("release", {})
    args = []
    for key, value in sorted(profile.items()):
        if isinstance(value, dict):
            raise ValueError(f"[profile.release.{key}]: per-package overrides are not handled")
        args += ["--config", f"profile.release.{key}={toml_value(value)}"]
    return args, profile


def make_vars(*names):
    """The values of Makefile variables, as make itself expands them."""
    probe = "print-vars: ; @printf '%s\\n' " + " ".join(f"'$({n})'" for n in names)
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "--eval", probe, "print-vars"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    values = out.rstrip("\n").split("\n")
    if len(values) != len(names):
        raise RuntimeError(f"make printed {out!r} for {names}")
    return dict(zip(names, values))


def build(out_dir, kind, config_args, rustflags, target):
    """Build the baseline; returns the binary's path."""
    target_dir = os.path.join(out_dir, "baseline-build", kind)
    argv = ["cargo", "build", "--release", "--locked", "--quiet", "--manifest-path",
            os.path.join(CRATE, "Cargo.toml"), "--target-dir", target_dir, *config_args]
    if target:
        argv += ["--target", target]
    env = dict(os.environ, RUSTFLAGS=rustflags, CARGO_INCREMENTAL="0")
    subprocess.run(argv, env=env, check=True, timeout=900)
    return os.path.join(target_dir, target or "", "release", NAME)


def peak_rss(binary, scratch):
    """GNU time's %M (KiB) of one call with a CNI config on stdin."""
    rss_file = os.path.join(scratch, "baseline-rss.txt")
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, binary], input=CONFIG,
                   capture_output=True, check=True, timeout=30)
    with open(rss_file) as f:
        return int(f.read().strip().splitlines()[-1])


def measure(binary, scratch):
    return {
        "path": os.path.relpath(binary, ROOT),
        "bytes": os.path.getsize(binary),
        "rss": [peak_rss(binary, scratch) for _ in range(ROUNDS)],
    }


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out_dir = os.path.abspath(argv[1])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        config_args, profile = profile_args(f.read())
    mk = make_vars("STATIC_TARGET", "STATIC_RUSTFLAGS")
    static = build(out_dir, "static", config_args, mk["STATIC_RUSTFLAGS"], mk["STATIC_TARGET"])
    dynamic = build(out_dir, "dynamic", config_args, "", None)
    doc = {
        "title": "an empty Rust program, built as ours",
        "source": "bench/baseline",
        "profile": profile,
        "target": mk["STATIC_TARGET"],
        "rustflags": mk["STATIC_RUSTFLAGS"],
        "rounds": ROUNDS,
        "static": measure(static, out_dir),
        "dynamic": measure(dynamic, out_dir),
    }
    with open(os.path.join(out_dir, "baseline.json"), "w") as f:
        json.dump(doc, f, indent=1)
    s, d = doc["static"], doc["dynamic"]
    print(f"baseline: static {s['bytes']} bytes, peak RSS {max(s['rss'])} KiB; "
          f"dynamic {d['bytes']} bytes, peak RSS {max(d['rss'])} KiB")


if __name__ == "__main__":
    main(sys.argv)
