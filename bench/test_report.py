"""Unit tests of bench/report.py on fixed input: statistics, targets, rendering, README; and of
the measured reasons: the baseline split (bench/reasons.py), the perf trace breakdown
(bench/syscalls.py) and the baseline build's profile (bench/baseline.py).

    python3 -m unittest discover -s bench -p 'test_*.py'      (make bench runs it first)
"""

import json
import os
import tempfile
import unittest
import xml.etree.ElementTree as ET

import baseline
import reasons
import report
import syscalls

# One wrapped sriov call as `perf trace` prints it: the wrapper's shell execs the plugin, which
# opens a netlink socket (one long send: the move), fsyncs its record, starts a thread, spawns
# its IPAM child (a dup2 before the child's exec; perf labels the child's last lines with an
# unknown and then its parent's name) and polls its pipe while it runs, sends the announce on a
# packet socket whose close blocks, while the thread waits on a futex. Numbers chosen so every
# part is known (the tests below).
TRACE = """\
         ? (         ): sh/100  ... [continued]: execve())                        = 0
     0.100 ( 0.050 ms): sh/100 brk()                                             = 0x1
     1.000 ( 0.100 ms): sriov/100 execve(filename: 0x1, argv: 0x2, envp: 0x3)    = 0
     1.200 ( 0.010 ms): sriov/100 socket(family: NETLINK, type: DGRAM|CLOEXEC)   = 3
     1.300 ( 2.000 ms): sriov/100 sendto(fd: 3<socket:[1]>, buff: 0x1, len: 52)  = 52
     3.400 ( 0.010 ms): sriov/100 recvfrom(fd: 3<socket:[1]>, ubuf: 0x1, size: 64) = 36
     3.500 ( 1.000 ms): sriov/100 fsync(fd: 4</var/lib/cni/x.tmp>)              = 0
     4.000 ( 0.050 ms): sriov/100 clone3(uargs: 0x2, size: 88)                    = 102
     4.600 ( 0.500 ms): sriov/100 clone3(uargs: 0x1, size: 88)                    = 101
     4.600 (18446744073708.285 ms): host-local/101  ... [continued]: clone3())   = 0
     4.700 ( 0.020 ms): sriov/101 dup2(oldfd: 5, newfd: 0)                       = 0
     5.000 ( 0.100 ms): host-local/101 execve(filename: 0x1)                      = 0
     5.200 (         ): sriov/100 poll(ufds: 0x1, nfds: 2)                        ...
     5.300 ( 0.500 ms): host-local/101 read(buf: 0x1, count: 8192)                = 172
     5.900 ( 0.200 ms): :101/101 openat(dfd: CWD, filename: 0x1, flags: RDONLY)  = 5
     6.500 (         ): sriov/101 exit_group()                                    = ?
     5.200 ( 1.500 ms): sriov/100  ... [continued]: poll())                       = 1
     6.800 ( 0.010 ms): sriov/100 socket(family: PACKET, type: DGRAM|CLOEXEC)     = 6
     6.900 (         ): sriov/100 close(fd: 6)                                    ...
     7.000 ( 0.100 ms): sriov/102 futex(uaddr: 0x1, op: WAIT|PRIVATE_FLAG)       = 0
     6.900 ( 3.000 ms): sriov/100  ... [continued]: close())                      = 0
     9.000 (         ): sriov/102 futex(uaddr: 0x2, op: WAIT|PRIVATE_FLAG)       ...
    10.000 (         ): sriov/100 exit_group()                                    = ?
"""


def series(name, add, dele):
    return {"name": name, "add": add, "del": dele}


def fixture_suites():
    """Two rows with known numbers: sriov (with a wrapper) and host-local at 10 and 1,000."""
    return {
        "sriov": {
            "rows": [{
                "id": "sriov-netdev", "processes": 4, "title": "sriov row",
                "ours": series("ours", [4.0, 5.0, 6.0], [2.0, 2.0, 3.0]),
                "peer": series("go", [10.0, 12.0, 11.0], [5.0, 6.0, 4.0]),
                "floor": series("floor", [0.5, 0.4, 0.6], [0.2, 0.2, 0.2]),
                "wrapper": [1.0, 2.0, 3.0], "process": [0.5, 0.5, 0.5],
            }],
            "rss": {"sriov": {"add": [900, 1000], "del": [950, 800]},
                    "go:host-device": {"add": [4000], "del": [3900]}},
        },
        "host-local": {
            "rows": [
                {"id": "host-local-10", "leases": 10, "processes": 2, "title": "hl 10",
                 "ours": series("host-local", [1.0, 1.0], [1.0, 1.0]),
                 "peer": series("Go host-local", [3.0, 3.0], [3.0, 3.0]),
                 "floor": series("floor", [0.1, 0.1], [0.1, 0.1]),
                 "ours_del_after_reference_add": [2.0, 4.0]},
                {"id": "host-local-1000", "leases": 1000, "processes": 2, "title": "hl 1000",
                 "ours": series("host-local", [1.0, 2.0], [1.0, 2.0]),
                 "peer": series("Go host-local", [30.0, 30.0], [30.0, 30.0]),
                 "floor": series("floor", [0.1, 0.1], [0.1, 0.1])},
            ],
            "rss": {"host-local@10": {"add": [1200, 1300], "del": [1250, None]},
                    "go:host-local@10": {"add": [3600], "del": [3500]}},
        },
    }


def fake_elf(d, interp):
    """A 64-bit little-endian ELF header with two program headers: LOAD, and INTERP or NOTE."""
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    head[32:40] = (64).to_bytes(8, "little")     # e_phoff
    head[54:56] = (56).to_bytes(2, "little")     # e_phentsize
    head[56:58] = (2).to_bytes(2, "little")      # e_phnum
    ph = bytearray(112)
    ph[0:4] = (1).to_bytes(4, "little")          # PT_LOAD
    ph[56:60] = (3 if interp else 4).to_bytes(4, "little")
    path = os.path.join(d, f"elf-{interp}")
    with open(path, "wb") as f:
        f.write(bytes(head) + bytes(ph))
    return path


class Statistics(unittest.TestCase):
    def test_percentile_is_nearest_rank(self):
        xs = list(range(1, 101))  # 1..100
        self.assertEqual(report.percentile(xs, 50), 50)
        self.assertEqual(report.percentile(xs, 90), 90)
        self.assertEqual(report.percentile(xs, 99), 99)
        self.assertEqual(report.percentile([7, 3, 5], 99), 7)
        self.assertEqual(report.percentile([7, 3, 5], 0), 3)
        self.assertIsNone(report.percentile([], 50))

    def test_add_del_is_paired_per_attachment(self):
        s = report.series_stats(series("x", [1.0, 10.0, 2.0], [5.0, 0.0, 1.0]))
        # pairs: 6, 10, 3 -> median 6 (not median(add) + median(del) = 2 + 1)
        self.assertEqual(s["add_del"]["median"], 6.0)
        self.assertEqual(s["add"]["median"], 2.0)
        self.assertEqual(s["add_del"]["n"], 3)

    def test_unpaired_samples_are_refused(self):
        with self.assertRaises(ValueError):
            report.series_stats(series("x", [1.0, 2.0], [1.0]))

    def test_row_ratios_are_of_add_del_medians(self):
        r = report.row_stats(fixture_suites()["sriov"]["rows"][0])
        self.assertEqual(r["ours"]["add_del"]["median"], 7.0)   # 6, 7, 9
        self.assertEqual(r["peer"]["add_del"]["median"], 15.0)  # 15, 18, 15
        self.assertAlmostEqual(r["peer_over_ours"], 15.0 / 7.0)
        self.assertAlmostEqual(r["ours_over_floor"], 7.0 / 0.7)
        self.assertEqual(r["wrapper"]["median"], 2.0)
        self.assertEqual(r["processes"], 4)


class Targets(unittest.TestCase):
    def test_sizes_against_a_third_of_the_peer(self):
        sz = {"host-local": 700_000, "sriov": 1_800_000, "vdpa": 800_000, "userspace": None,
              "go:host-local": 2_100_000, "go:host-device": 2_700_000}
        t = {x["what"]: x for x in report.size_targets(sz)}
        self.assertTrue(t["size of host-local"]["met"])        # 0.70 <= 0.70
        self.assertFalse(t["size of sriov"]["met"])            # 1.8 > 5.1 / 3 = 1.7
        self.assertFalse(t["size of sriov"]["peer_measured"])
        self.assertTrue(t["size of vdpa"]["met"])              # 0.8 <= 0.9
        self.assertIsNone(t["size of userspace"]["met"])       # not built

    def test_rss_against_a_third_of_the_go_host_local(self):
        rss = report.peak_rss(fixture_suites())
        self.assertEqual(rss["host-local@10"], 1300)           # None rounds are skipped
        self.assertEqual(rss["go:host-local@10"], 3600)
        t = {x["what"]: x for x in report.rss_targets(rss, 10)}
        self.assertTrue(t["peak RSS of sriov"]["met"])         # 1000 <= 1200
        self.assertFalse(t["peak RSS of host-local@10"]["met"])  # 1300 > 1200
        self.assertNotIn("peak RSS of userspace", t)           # not measured: no row

    def test_floor_within_one_and_a_half(self):
        rows = [report.row_stats(r) for r in fixture_suites()["host-local"]["rows"]]
        rows[0]["ours_over_floor"] = 1.5
        t = report.floor_targets(rows)
        self.assertTrue(t[0]["met"])
        self.assertFalse(t[1]["met"])


class Breakdown(unittest.TestCase):
    def setUp(self):
        self.b = syscalls.breakdown(TRACE, "sriov", "host-local")
        self.k = {k: v for k, v in self.b["kinds"].items()}

    def test_parse_keeps_finished_calls_and_exits(self):
        events, exits, execs = syscalls.parse(TRACE)
        self.assertEqual(exits, {101: 6.5, 100: 10.0})
        # the '?' line, entered-only lines, the child's clone (entered by its parent) and
        # exit_group are not events; continued ones are, with the arguments of their entry
        self.assertEqual(len(events), 16)
        self.assertEqual({t: events[i]["start"] for t, i in execs.items()}, {100: 1.0, 101: 5.0})
        close = [e for e in events if e["name"] == "close"][0]
        self.assertEqual((close["start"], close["dur"], close["args"]), (6.9, 3.0, "fd: 6"))
        self.assertNotIn(9.0, [e["start"] for e in events])  # still blocked at the end

    def test_process_runs_from_its_exec_to_its_exit(self):
        parsed = syscalls.parse(TRACE)
        p = syscalls.process(parsed, "sriov")
        self.assertEqual((p["main"], p["start"], p["end"]), (100, 1.0, 10.0))
        self.assertEqual(p["threads"], [102])       # 101 exec'd: a child process, not a thread
        self.assertEqual(len(p["others"]), 1)
        self.assertIsNone(syscalls.process(parsed, "vdpa"))

    def test_tasks_are_followed_by_id_not_by_the_name_perf_prints(self):
        c = syscalls.process(syscalls.parse(TRACE), "host-local", exclude={100})
        self.assertEqual((c["main"], c["start"], c["end"]), (101, 5.0, 6.5))
        # from its exec on (not the dup2 before it), whatever perf called it
        self.assertEqual([e["name"] for e in c["events"]], ["execve", "read", "openat"])

    def test_kinds_add_up_to_the_call(self):
        self.assertAlmostEqual(self.b["wall"], 9.0)
        self.assertAlmostEqual(sum(v["ms"] for v in self.k.values()), 9.0)

    def test_sockets_go_by_their_family(self):
        # socket + the 2 ms send + the reply; one send is one round trip
        self.assertAlmostEqual(self.k[syscalls.NETLINK]["ms"], 2.02)
        self.assertEqual(self.k[syscalls.NETLINK]["calls"], 3)
        self.assertEqual(self.b["netlink_sends"], 1)
        # the packet socket and its 3 ms close (the continued line's fd comes from its entry)
        self.assertAlmostEqual(self.k[syscalls.SOCKETS]["ms"], 3.01)
        self.assertAlmostEqual(self.k[syscalls.FSYNC]["ms"], 1.0)

    def test_the_wait_for_the_child_is_one_part_and_the_child_is_beside(self):
        # the thread's clone3 0.05, the child's 0.5 and the poll of 1.5 while the child ran
        self.assertAlmostEqual(self.k[syscalls.CHILD]["ms"], 2.05)
        self.assertAlmostEqual(self.k[syscalls.STARTUP]["ms"], 0.1)
        self.assertAlmostEqual(self.k[syscalls.OUTSIDE]["ms"], 9.0 - 8.18)
        self.assertEqual(self.k[syscalls.PIPES]["calls"], 0)
        child = self.b["child"]
        self.assertAlmostEqual(child["wall"], 1.5)
        self.assertAlmostEqual(child["kinds"][syscalls.PIPES]["ms"], 0.5)  # fd 0, left out by perf
        self.assertAlmostEqual(child["kinds"][syscalls.FILES]["ms"], 0.2)
        self.assertAlmostEqual(child["kinds"][syscalls.OUTSIDE]["ms"], 0.7)

    def test_other_threads_are_apart(self):
        self.assertEqual(self.b["other_threads"], {"ms": 0.1, "calls": 1, "threads": 1})
        self.assertEqual(self.k[syscalls.THREADS]["calls"], 0)

    def test_costliest_calls_are_named_with_their_kind(self):
        top = self.b["plugin"]["top"]
        self.assertEqual((top[0]["name"], top[0]["kind"], top[0]["ms"]), ("close", syscalls.SOCKETS, 3.0))
        self.assertEqual(top[1]["name"], "sendto")
        self.assertIn("close (a socket, not netlink) 3.00 ms in 1", reasons.top_calls(self.b["plugin"]))

    def test_no_plugin_no_breakdown(self):
        self.assertIsNone(syscalls.breakdown(TRACE, "vdpa", "host-local"))
        alone = syscalls.breakdown(TRACE, "host-local")
        self.assertIsNone(alone["child"])
        self.assertAlmostEqual(alone["wall"], 1.5)

    def test_the_median_call_represents_several(self):
        pick = reasons.representative([{"wall": 3.0}, {"wall": 1.0}, {"wall": 2.0}])
        self.assertEqual(pick, {"wall": 2.0, "traced_walls": [1.0, 2.0, 3.0]})
        self.assertEqual(reasons.representative([{"wall": 2.0}, {"wall": 1.0}])["wall"], 1.0)
        self.assertIsNone(reasons.representative([]))


class Baseline(unittest.TestCase):
    def test_split_into_the_empty_program_and_ours(self):
        s = reasons.split(2_270_000, 1_084_000, 1_700_000)
        self.assertEqual((s["above"], s["left"]), (1_186_000, 616_000))
        self.assertAlmostEqual(s["cut_of_ours"], 570_000 / 1_186_000)
        self.assertIn("the target leaves 0.62 MB for our code, a cut of 48% of our own part",
                      reasons.miss_reason({}, s, "bytes"))
        self.assertIsNone(reasons.split(None, 1, 1))

    def test_a_target_under_the_empty_program_says_no_code_can_meet_it(self):
        s = reasons.split(1_490_000, 1_084_000, 740_000)
        self.assertEqual(s["left"], -344_000)
        self.assertIsNone(s["cut_of_ours"])
        self.assertIn("the target is 0.34 MB below the empty program alone, so no code of ours",
                      reasons.miss_reason({}, s, "bytes"))

    def test_rss_misses_say_what_the_memory_is_made_of(self):
        parts = {"the empty program": {"peak": 980, "file": 924, "anon": 56},
                 "host-local ADD at 10 leases": {"peak": 1432, "file": 1356, "anon": 76},
                 "sriov VERSION": {"peak": 1792, "file": 1716, "anon": 76},
                 "vdpa VERSION": None}
        self.assertEqual(reasons.rss_part_of("host-local@10", parts)[0], "host-local ADD at 10 leases")
        self.assertEqual(reasons.rss_part_of("sriov", parts)[0], "sriov VERSION")
        self.assertEqual(reasons.rss_part_of("vdpa (vhost)", parts), (None, None))  # not caught
        s = reasons.split(1556, 924, 1284)
        text = reasons.miss_reason({"what": "peak RSS of host-local@10"}, s, "kib", parts)
        self.assertIn("ours above that 632 KiB; the target leaves 360 KiB for our code", text)
        self.assertIn("at its exit, host-local ADD at 10 leases held 1356 of its 1432 KiB as file pages "
                      "of the executable and 76 KiB anonymous", text)
        lines = reasons.rss_parts_lines(parts)
        self.assertIn("| sriov VERSION | 1792 KiB | 1716 KiB (96%) | 76 KiB |", lines)
        self.assertIn("| vdpa VERSION | not caught at its exit | - | - |", lines)
        self.assertEqual(reasons.rss_parts_lines(None), [])

    def test_profile_becomes_cargo_config(self):
        args, profile = baseline.profile_args(
            '[profile.release]\nlto = true\nopt-level = "z"\ncodegen-units = 1\n[profile.dev]\ndebug = 1\n')
        self.assertEqual(args, ["--config", "profile.release.codegen-units=1", "--config",
                                "profile.release.lto=true", "--config", 'profile.release.opt-level="z"'])
        self.assertEqual(profile["opt-level"], "z")
        with self.assertRaises(ValueError):
            baseline.profile_args('[profile.release.package.foo]\nopt-level = 3\n')

    def test_the_workspace_profile_is_what_is_read(self):
        with open(os.path.join(baseline.ROOT, "Cargo.toml")) as f:
            _, profile = baseline.profile_args(f.read())
        self.assertEqual(profile.get("panic"), "unwind")
        self.assertIn("strip", profile)


class Rendering(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        for suite, doc in fixture_suites().items():
            with open(os.path.join(d, f"{suite}.json"), "w") as f:
                json.dump(doc, f)
        os.makedirs(os.path.join(d, "static"))
        for name, size in (("host-local", 500_000), ("sriov", 2_000_000), ("vdpa", 600_000)):
            with open(os.path.join(d, "static", name), "wb") as f:
                f.write(b"\0" * size)
        os.makedirs(os.path.join(d, "go"))
        for name, size in (("host-local", 2_000_000), ("host-device", 2_400_000)):
            with open(os.path.join(d, "go", name), "wb") as f:
                f.write(b"\0" * size)
        with open(os.path.join(d, "machine.json"), "w") as f:
            json.dump({"cpu": "Test CPU", "kernel": "6.1.0-test", "spawn_ms": 0.5,
                       "static_dir": os.path.join(d, "static"), "go_dir": os.path.join(d, "go")}, f)
        with open(os.path.join(d, "baseline.json"), "w") as f:
            json.dump({"profile": {"opt-level": "z"}, "rustflags": "-C x", "target": "t", "rounds": 2,
                       "static": {"bytes": 400_000, "rss": [700, 800]},
                       "dynamic": {"bytes": 100_000, "rss": [1500, 1600]}}, f)
        os.makedirs(os.path.join(d, "trace", "sriov"))
        for name in ("sriov-ours-ADD.3.txt", "sriov-ours-DEL.3.txt", "sriov-ours-DEL.4.txt"):
            with open(os.path.join(d, "trace", "sriov", name), "w") as f:
                f.write(TRACE)
        self.doc = report.build(d)

    def tearDown(self):
        self.dir.cleanup()

    def test_sizes_come_from_the_binaries(self):
        self.assertEqual(self.doc["sizes"]["sriov"], 2_000_000)
        self.assertEqual(self.doc["sizes"]["go:host-device"], 2_400_000)
        self.assertIsNone(self.doc["sizes"]["userspace"])

    def test_markdown_has_every_row_the_machine_and_the_verdicts(self):
        md = report.render_md(self.doc)
        self.assertIn("| sriov row | 7.00 | 15.00 | 2.14× | 0.700 | 10.00× |", md)
        self.assertIn("| hl 1000 |", md)
        self.assertIn("- CPU: Test CPU", md)
        self.assertIn("- kernel: 6.1.0-test", md)
        self.assertIn("| sriov | 2.00 MB | sriov-cni 5.10 MB (issue 14; not installed here) | 0.39× "
                      "| ≤ 1.70 MB | **missed** |", md)
        self.assertIn("| vdpa | 0.60 MB | go:host-device 2.40 MB | 0.25× | ≤ 0.80 MB | met |", md)
        self.assertIn("- size of sriov: 2.00 MB against ≤ 1.70 MB; 300 kB over (15% to cut)", md)
        self.assertIn("DEL median 3.00 ms at 10 leases", md)
        # 2 wrapped calls of 2.0 + 2 IPAM processes of 0.5; 7.0 - 0.7 - 5.0 left
        self.assertIn("| 6.30 | 5.00 (4 processes, wrapped) | 1.30 |", md)
        # host-local rows: no samples of a bare process, the machine's 0.5 ms per process
        self.assertIn("| hl 10 | 2.00 | 0.200 | 10.00× | ≤ 1.5× | **missed** | 1.80 | 1.00 (2 processes) | 0.800 |", md)
        self.assertIn("meeting it needs 1.70 ms less, while process starts and the wrapper alone take 1.00 ms", md)
        self.assertIn("meeting it needs 5.95 ms less, while process starts and the wrapper alone take 5.00 ms", md)

    def test_the_empty_program_is_a_row_and_each_miss_is_split(self):
        md = report.render_md(self.doc)
        self.assertIn("| an empty Rust program, built as ours (bench/baseline) | 0.40 MB | - | - | - | "
                      "baseline | 0.10 MB |", md)
        self.assertIn("| an empty Rust program, built as ours (bench/baseline) | 0.78 MiB |", md)
        self.assertIn("- size of sriov: 2.00 MB against ≤ 1.70 MB; 300 kB over (15% to cut). Measured "
                      "reason: an empty Rust program, built as ours is 0.40 MB of it, ours above that "
                      "1.60 MB; the target leaves 1.30 MB for our code, a cut of 19% of our own part", md)
        # host-local@10 1300 KiB against 3600 / 3: 800 of it the empty program
        self.assertIn("is 800 KiB of it, ours above that 500 KiB; the target leaves 400 KiB for our "
                      "code, a cut of 20% of our own part", md)
        self.assertIn("| size of sriov | 2.00 MB | 0.40 MB | 1.60 MB | ≤ 1.70 MB | 1.30 MB | 19% |", md)
        self.assertIn("linking\nglibc in statically adds 0.30 MB of the 0.40 MB", md)

    def test_time_misses_name_the_traced_parts(self):
        md = report.render_md(self.doc)
        self.assertIn("| **the call, exec to exit** | **9.00** | **9.00** |", md)
        self.assertIn("| netlink | 2.02 (3, 1 sends) | 2.02 (3, 1 sends) |", md)
        self.assertIn("sriov + host-local DEL 9.00, 9.00", md)
        self.assertIn("Traced ADD+DEL: 18.00 ms, most of it other sockets (the announce: ARP / NA) "
                      "6.02 ms, starting and waiting for child processes and threads (clone, wait, "
                      "their pipes) 4.10 ms, netlink 4.04 ms", md)
        # host-local was not traced here: its misses say nothing about traces
        hl = [l for l in md.splitlines() if l.startswith("- hl 10: ours / floor")][0]
        self.assertNotIn("Traced", hl)
        self.assertEqual(self.doc["time_breakdown"]["sriov"]["ours"]["DEL"]["traced_walls"], [9.0, 9.0])

    def test_without_baseline_or_traces_the_report_says_so(self):
        doc = dict(self.doc, baseline=None, time_breakdown={})
        md = report.render_md(doc)
        self.assertIn("No baseline was measured in this run", md)
        self.assertIn("No traces in this run", md)
        self.assertIn("- size of sriov: 2.00 MB against ≤ 1.70 MB; 300 kB over (15% to cut)\n", md)

    def test_linkage_reads_the_program_headers(self):
        self.assertEqual(report.linkage(os.path.join(self.dir.name, "static", "sriov")), None)  # zeros
        self.assertEqual(report.linkage("/nonexistent"), None)
        self.assertEqual(report.linkage("/bin/true"), "dynamic")
        self.assertEqual(report.linkage(fake_elf(self.dir.name, interp=False)), "static")
        self.assertEqual(report.linkage(fake_elf(self.dir.name, interp=True)), "dynamic")

    def test_svg_is_xml_with_a_line_per_side(self):
        svg = report.render_svg(self.doc["rows"])
        root = ET.fromstring(svg)
        lines = root.findall("{http://www.w3.org/2000/svg}polyline")
        self.assertEqual(len(lines), 3)
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        self.assertIn("Go host-local", texts)
        self.assertIn("1,000", texts)

    def test_readme_section_replaced_or_appended(self):
        section = report.readme_section(self.doc["rows"])
        fresh = report.update_readme("# nfv-cni\n\nintro\n", section)
        self.assertTrue(fresh.startswith("# nfv-cni\n\nintro\n\n" + report.README_BEGIN))
        old = fresh.replace("7.00", "99.00") + "\n## Later\n"
        again = report.update_readme(old, section)
        self.assertEqual(again, fresh + "\n## Later\n")
        self.assertEqual(again.count(report.README_BEGIN), 1)


if __name__ == "__main__":
    unittest.main()
