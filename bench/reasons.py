"""The measured reasons of docs/benchmarks.md: how much of each binary and each peak RSS is an
empty Rust program built as ours (bench/baseline.py) and how much is ours above it, and where
one traced call spends its time (bench/syscalls.py over bench/trace_hostlocal.py's and the wrapper's
`perf trace` files). report.py builds the document; this module adds these parts to it.
"""

import json
import os
import re

import syscalls

MB = 1_000_000
BASELINE_TITLE = "an empty Rust program, built as ours"
VERBS = ("ADD", "DEL")
# What was traced: per family of rows, each side (key, its title, the trace file's stem, the
# plugin's process name, its IPAM child's) and the rows it explains.
TRACE_FAMILIES = [
    {"id": "sriov", "title": "sriov netdev + host-local (veth as the VF)", "sides": [
        ("ours", "sriov + host-local", "sriov-ours", "sriov", "host-local"),
        ("peer", "Go host-device + host-local", "host-device-go", "host-device", "host-local")]},
    {"id": "vdpa", "title": "vdpa virtio and vhost + host-local", "sides": [
        ("virtio", "vdpa virtio + host-local", "vdpa-virtio", "vdpa", "host-local"),
        ("vhost", "vdpa vhost + host-local", "vdpa-vhost", "vdpa", "host-local"),
        ("peer", "Go host-device + host-local", "host-device-go", "host-device", "host-local")]},
    {"id": "host-local", "title": "host-local at 10 leases", "sides": [
        ("ours", "host-local", "host-local-ours", "host-local", None),
        ("peer", "Go host-local", "host-local-go", "host-local", None)]},
]
# The traced side that explains a benchmark row's ours.
ROW_TRACE = {"sriov-netdev": ("sriov", "ours"), "vdpa-virtio": ("vdpa", "virtio"),
             "vdpa-vhost": ("vdpa", "vhost")}


def row_trace(row_id):
    if row_id.startswith("host-local-"):
        return ("host-local", "ours")
    return ROW_TRACE.get(row_id)


# ---- inputs -------------------------------------------------------------------------------

def load_baseline(samples_dir):
    """baseline.json of the run, or None."""
    path = os.path.join(samples_dir, "baseline.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def representative(found):
    """Of several traced calls' breakdowns, the one of median wall time (the lower of the two
    middle ones), with every call's wall time kept beside it; None for none."""
    if not found:
        return None
    found = sorted(found, key=lambda b: b["wall"])
    pick = dict(found[(len(found) - 1) // 2])
    pick["traced_walls"] = [b["wall"] for b in found]
    return pick


def load_rss_parts(samples_dir):
    """rss_parts.json of the run (bench/rss_parts.py), or None."""
    path = os.path.join(samples_dir, "rss_parts.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def load_breakdowns(trace_dir):
    """{family: {side: {verb: breakdown}}} of the trace files under trace_dir
    (trace_dir/<family>/<stem>-<verb>.<n>.txt, one per traced call): per side and verb, the
    call of median wall time."""
    out = {}
    for fam in TRACE_FAMILIES:
        d = os.path.join(trace_dir, fam["id"])
        names = sorted(os.listdir(d)) if os.path.isdir(d) else []
        for side, _, stem, plugin, ipam in fam["sides"]:
            for verb in VERBS:
                found = []
                for name in names:
                    if not re.fullmatch(re.escape(f"{stem}-{verb}") + r"\.\d+\.txt", name):
                        continue
                    with open(os.path.join(d, name), errors="replace") as f:
                        b = syscalls.breakdown(f.read(), plugin, ipam)
                    if b is not None:
                        found.append(b)
                pick = representative(found)
                if pick is not None:
                    out.setdefault(fam["id"], {}).setdefault(side, {})[verb] = pick
    return out


# ---- sizes and RSS: the baseline and ours above it ----------------------------------------

def split(ours, base, target):
    """Ours = the baseline + ours above it; what the target leaves for our code (negative: the
    baseline alone is over it) and the share of our own part a cut to the target would take."""
    if ours is None or base is None:
        return None
    above = ours - base
    left = None if target is None else target - base
    cut = None
    if target is not None and ours > target and left is not None and left >= 0 and above > 0:
        cut = (ours - target) / above
    return {"ours": ours, "baseline": base, "above": above, "target": target, "left": left,
            "cut_of_ours": cut}


def baseline_size(baseline):
    return (baseline or {}).get("static", {}).get("bytes")


def baseline_rss(baseline):
    rss = [v for v in (baseline or {}).get("static", {}).get("rss", []) if v is not None]
    return max(rss) if rss else None


def size_splits(size_targets, baseline):
    return {t["what"]: split(t["ours"], baseline_size(baseline), t["target"]) for t in size_targets}


def rss_splits(rss_targets, baseline):
    return {t["what"]: split(t["ours"], baseline_rss(baseline), t["target"]) for t in rss_targets}


def fmt_mb(b):
    return "-" if b is None else f"{b / MB:.2f} MB"


def fmt_kib(k):
    return "-" if k is None else f"{k:.0f} KiB"


def miss_reason(t, s, unit, parts=None):
    """The sentence a size or RSS miss gets: the baseline's part, ours above it, what the
    target leaves for our code; for RSS, what the process's memory is made of."""
    if s is None:
        return ""
    text = split_sentence(s, fmt_mb if unit == "bytes" else fmt_kib)
    if unit == "kib":
        label, part = rss_part_of(t.get("what", "")[len("peak RSS of "):], parts)
        if part:
            text += (f"; at its exit, {label} held {part['file']:.0f} of its {part['peak']:.0f} KiB as "
                     f"file pages of the executable and {part['anon']:.0f} KiB anonymous")
    return text


def split_sentence(s, fmt):
    text = (f". Measured reason: {BASELINE_TITLE} is {fmt(s['baseline'])} of it, ours above that "
            f"{fmt(s['above'])}; ")
    if s["left"] is None:
        return text + "no target"
    if s["left"] < 0:
        return text + (f"the target is {fmt(-s['left'])} below the empty program alone, so no "
                       "code of ours can meet it in this build (the libc or the linking has to change)")
    text += f"the target leaves {fmt(s['left'])} for our code"
    if s["cut_of_ours"] is not None:
        text += f", a cut of {s['cut_of_ours'] * 100:.0f}% of our own part"
    return text


def baseline_rows(baseline, unit):
    """The baseline's row in the size table (unit "bytes") or the RSS table ("kib")."""
    if not baseline:
        return []
    s, d = baseline.get("static", {}), baseline.get("dynamic", {})
    if unit == "bytes":
        return [f"| {BASELINE_TITLE} (bench/baseline) | {fmt_mb(s.get('bytes'))} | - | - | - | "
                f"baseline | {fmt_mb(d.get('bytes'))} |"]
    peak = max(s.get("rss") or [0]) or None
    return [f"| {BASELINE_TITLE} (bench/baseline) | {peak / 1024:.2f} MiB | - | - | - | baseline |"
            if peak else f"| {BASELINE_TITLE} (bench/baseline) | - | - | - | - | baseline |"]


def rss_part_of(name, parts):
    """The rss_parts entry that shows what an RSS target's process is made of: host-local's
    ADD, else the plugin's VERSION call (a call every plugin makes without a node)."""
    if not parts:
        return None, None
    plugin = name.split("@")[0].split(" ")[0]
    for label in (f"{plugin} ADD at 10 leases", f"{plugin} VERSION"):
        if parts.get(label):
            return label, parts[label]
    return None, None


def rss_parts_lines(parts):
    """What each measured process's resident memory is made of, at its exit."""
    if not parts:
        return []
    out = ["What the memory is made of (bench/rss_parts.py: /proc/PID/status with the process",
           "held at its exit_group by strace, median of 3 calls). For a static binary the file",
           "pages are its own executable's, mapped on faults (up to 64 KiB around each): RSS",
           "follows the code a call runs, not its data. (The Go plugins are linked dynamically:",
           "their file pages also hold libc.so's and the loader's.)",
           "",
           "| process | peak (VmHWM) | file pages (RssFile) | anonymous: heap, stacks, data (RssAnon) |",
           "|---|---:|---:|---:|"]
    for label, v in parts.items():
        if v:
            out.append(f"| {label} | {v['peak']:.0f} KiB | {v['file']:.0f} KiB ({v['file'] / v['peak'] * 100:.0f}%) | "
                       f"{v['anon']:.0f} KiB |")
        else:
            out.append(f"| {label} | not caught at its exit | - | - |")
    return out + [""]


def split_lines(size_targets, rss_targets, baseline, parts=None):
    """The section on the size and RSS targets' reasons, measured in this run."""
    if not baseline:
        return ["No baseline was measured in this run (bench/baseline.py did not write baseline.json).", ""]
    s, d = baseline.get("static", {}), baseline.get("dynamic", {})
    flags = baseline.get("rustflags", "")
    prof = ", ".join(f"{k} = {json.dumps(v)}" for k, v in baseline.get("profile", {}).items())
    out = [
        f"{BASELINE_TITLE[0].upper() + BASELINE_TITLE[1:]}: bench/baseline, a `main` that reads its stdin and prints one",
        "line, built in this run with the workspace's `[profile.release]` read from Cargo.toml",
        f"({prof}) and `make static`'s RUSTFLAGS read from the Makefile (`{flags}`,",
        f"--target {baseline.get('target', '')}); its peak RSS read like the plugins' (GNU time `%M`,",
        f"the highest of {baseline.get('rounds', '')} calls with a CNI config on stdin). Every plugin carries it before",
        "any code of ours.",
        "",
    ]
    if s.get("bytes") and d.get("bytes"):
        out += [f"The same program linked dynamically (no RUSTFLAGS, as `make build`) is {fmt_mb(d['bytes'])}: linking",
                f"glibc in statically adds {fmt_mb(s['bytes'] - d['bytes'])} of the {fmt_mb(s['bytes'])} "
                "(what glibc's own start-up code pulls in, found once with the linker map: docs/design.md,",
                "\"Binary size and memory\"). Its peak RSS: "
                f"{fmt_kib(max(s.get('rss') or [0]))} static, {fmt_kib(max(d.get('rss') or [0]))} dynamic "
                "(the loader and libc.so mapped).", ""]
    out += [
        "| target | ours | the empty program | ours above it | target | left for our code | cut of our own part to meet it |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for group, unit in ((size_targets, "bytes"), (rss_targets, "kib")):
        splits = (size_splits if unit == "bytes" else rss_splits)(group, baseline)
        fmt = fmt_mb if unit == "bytes" else fmt_kib
        for t in group:
            sp = splits[t["what"]]
            if sp is None:
                continue
            left = "-" if sp["left"] is None else (fmt(sp["left"]) if sp["left"] >= 0
                                                   else f"none ({fmt(-sp['left'])} under the empty program)")
            cut = ("met" if t["met"] else "-") if sp["cut_of_ours"] is None else f"{sp['cut_of_ours'] * 100:.0f}%"
            out.append(f"| {t['what']} | {fmt(sp['ours'])} | {fmt(sp['baseline'])} | {fmt(sp['above'])} | "
                       f"≤ {fmt(sp['target'])} | {left} | {cut} |")
    out.append("")
    return out + rss_parts_lines(parts)


# ---- time: where a traced call goes -------------------------------------------------------

def cell(v, extra=""):
    if v is None:
        return "-"
    return f"{v['ms']:.2f} ({v['calls']}{extra})" if v.get("calls") else f"{v['ms']:.2f}"


def trace_lines(breakdowns):
    """A table per family of rows: the traced call's parts, ours and the peer, ADD and DEL."""
    if not breakdowns:
        return ["No traces in this run (perf trace missing or not permitted).", ""]
    out = [
        "A few warm ADDs and DELs of each plugin on the bench's own stand-ins, run under `perf trace`",
        "(bench/trace_hostlocal.py for host-local; the wrapper's NFV_BENCH_TRACE for sriov and vdpa,",
        "bench/rust/wrapped.rs) and split by bench/syscalls.py. Each column is the traced call of",
        "median wall time: milliseconds in syscalls (and their count) on the plugin's main thread,",
        "which add up to the call from exec to exit. The IPAM child's whole run is inside \"starting",
        "and waiting for child processes\" (its own parts: the host-local table and its costliest",
        "calls below). \"Outside syscalls\" is user code, page faults and waiting for a CPU. perf",
        "adds a few µs per syscall, so a traced call is slower than the medians above: read the",
        "shares. Go's runtime threads are apart: they run beside the main thread, not in its sum.",
        "",
    ]
    for fam in TRACE_FAMILIES:
        got = breakdowns.get(fam["id"])
        if not got:
            continue
        cols = [(side, title, verb) for side, title, *_ in fam["sides"] for verb in VERBS
                if verb in got.get(side, {})]
        out += [f"### {fam['title']}", "",
                "| ms (syscalls) | " + " | ".join(f"{title} {verb}" for _, title, verb in cols) + " |",
                "|---|" + "---:|" * len(cols)]
        b = [got[side][verb] for side, _, verb in cols]
        out.append("| **the call, exec to exit** | " + " | ".join(f"**{x['wall']:.2f}**" for x in b) + " |")
        if any(x["child"] for x in b):
            out.append("| the IPAM child, exec to exit (inside the waiting below) | " + " | ".join(
                f"{x['child']['wall']:.2f}" if x["child"] else "-" for x in b) + " |")
        for kind in syscalls.KINDS:
            if not any(x["kinds"][kind]["ms"] >= 0.005 or x["kinds"][kind]["calls"] for x in b):
                continue
            extra = lambda x: f", {x['netlink_sends']} sends" if kind == syscalls.NETLINK else ""
            out.append(f"| {kind} | " + " | ".join(cell(x["kinds"][kind], extra(x)) for x in b) + " |")
        if any(x["other_threads"]["calls"] for x in b):
            out.append("| other threads' syscalls (beside the main thread; not in the sum) | " + " | ".join(
                f"{x['other_threads']['ms']:.2f} ({x['other_threads']['calls']}, "
                f"{x['other_threads']['threads']} threads)" if x["other_threads"]["calls"] else "-"
                for x in b) + " |")
        out.append("")
        out.append("Traced calls' wall times, ms (each column shows the median one): " + "; ".join(
            f"{title} {verb} " + ", ".join(f"{w:.2f}" for w in x.get("traced_walls", [x["wall"]]))
            for (_, title, verb), x in zip(cols, b)) + ".")
        out.append("")
        for (side, title, verb), x in zip(cols, b):
            if side == "peer":
                continue
            out.append(f"- {title} {verb}, the plugin's costliest syscalls: {top_calls(x['plugin'])}" + (
                f"; its IPAM child's: {top_calls(x['child'])}" if x["child"] else "") + ".")
        out.append("")
    return out


def top_calls(summary):
    """"close (a socket, not netlink) 12.86 ms in 1, ...": the five costliest, named with their
    kind, and the longest single call where there were several."""
    return ", ".join(
        f"{t['name']} ({syscalls.SHORT.get(t['kind'], t['kind'])}) {t['ms']:.2f} ms in {t['calls']}"
        + (f", longest {t['longest']:.2f}" if t["calls"] > 1 else "")
        for t in summary["top"])


def largest_parts(breakdowns, family, side, n=3):
    """The n largest parts of ADD and DEL together of a traced side: [(kind, ms)], and the two
    calls' traced wall time; None when it was not traced."""
    got = breakdowns.get(family, {}).get(side, {})
    if not all(v in got for v in VERBS):
        return None
    total = {k: sum(got[v]["kinds"][k]["ms"] for v in VERBS) for k in syscalls.KINDS}
    parts = sorted(total.items(), key=lambda kv: -kv[1])[:n]
    return parts, sum(got[v]["wall"] for v in VERBS)


def time_reason(t, breakdowns):
    """The sentence a time miss gets: where the traced ADD+DEL of its plugin went."""
    where = row_trace(t.get("row", ""))
    if where is None:
        return ""
    got = largest_parts(breakdowns or {}, *where)
    if got is None:
        return ""
    parts, wall = got
    scope = " (traced at 10 leases)" if where[0] == "host-local" else ""
    return (f". Traced ADD+DEL{scope}: {wall:.2f} ms, most of it " + ", ".join(
        f"{kind} {ms:.2f} ms" for kind, ms in parts) + " (\"Where the time of a call goes\")")
