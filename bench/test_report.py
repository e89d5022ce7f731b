"""Unit tests of bench/report.py on fixed input: statistics, targets, rendering, README.

    python3 -m unittest discover -s bench -p 'test_*.py'      (make bench runs it first)
"""

import json
import os
import tempfile
import unittest
import xml.etree.ElementTree as ET

import report


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
