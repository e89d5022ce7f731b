#!/usr/bin/env python3
"""Record real JSON-RPC exchanges with ovsdb-server for nfv-ovsdb's unit tests.

usage: record.py DB_SOCKET PROBE_SOCKET OUTDIR
PROBE_SOCKET is a passive remote with a 1 s inactivity probe, so the server sends its own echo.
Each scenario becomes OUTDIR/<name>.json: the bytes each side sent, server bytes in the chunks
recv() returned them. Request ids count from 0 per connection, as nfv-ovsdb numbers them.
Written independently of the Rust client so the tests do not check the client against itself.
"""
import json
import socket
import sys
import time

db_sock, probe_sock, outdir = sys.argv[1:4]


class Session:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.log = []
        self.next_id = 0
        self.buf = b""

    def send(self, msg):
        raw = json.dumps(msg, separators=(",", ":")).encode()
        self.log.append({"from": "client", "bytes": raw.decode()})
        self.s.sendall(raw)

    def request(self, method, params):
        msg = {"method": method, "params": params, "id": self.next_id}
        self.next_id += 1
        self.send(msg)
        return self.read_until(lambda m: m.get("id") == msg["id"])

    def read_until(self, done):
        dec = json.JSONDecoder()
        while True:
            text = self.buf.decode(errors="ignore").lstrip()
            try:
                msg, end = dec.raw_decode(text)
            except ValueError:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise SystemExit("server closed")
                self.log.append({"from": "server", "bytes": chunk.decode()})
                self.buf += chunk
                continue
            self.buf = text[end:].encode()
            if msg.get("method") == "echo":
                self.send({"result": msg["params"], "error": None, "id": msg["id"]})
                continue
            if done(msg):
                return msg

    def save(self, name, about):
        with open(f"{outdir}/{name}.json", "w") as f:
            json.dump({"about": about, "exchange": self.log}, f, indent=1)
            f.write("\n")
        self.s.close()


def ovs_insert_bridge(name, port):
    return ["Open_vSwitch",
            {"op": "insert", "table": "Interface", "uuid-name": "i",
             "row": {"name": port, "type": "dpdkvhostuserclient",
                     "options": ["map", [["vhost-server-path", "/tmp/x/" + port]]],
                     "external_ids": ["map", [["nfv-cni/container-id", "c1"]]]}},
            {"op": "insert", "table": "Port", "uuid-name": "p",
             "row": {"name": port, "interfaces": ["named-uuid", "i"], "tag": 100}},
            {"op": "insert", "table": "Bridge", "uuid-name": "b",
             "row": {"name": name, "datapath_type": "netdev", "ports": ["set", [["named-uuid", "p"]]]}},
            {"op": "mutate", "table": "Open_vSwitch", "where": [],
             "mutations": [["bridges", "insert", ["set", [["named-uuid", "b"]]]]]},
            {"op": "comment", "comment": "recorded by testdata/ovsdb/record.py"}]


s = Session(db_sock)
s.request("list_dbs", [])
s.save("list_dbs", "list_dbs on a fresh Open_vSwitch database")

s = Session(db_sock)
s.request("echo", ["nfv-ovsdb"])
s.save("echo", "client-initiated echo")

s = Session(db_sock)
s.request("transact", ovs_insert_bridge("br-rec", "vhu-rec0"))
s.request("transact", ["Open_vSwitch",
                       {"op": "select", "table": "Port",
                        "where": [["name", "==", "vhu-rec0"]], "columns": ["name", "tag", "interfaces"]}])
s.save("insert_select", "one transaction inserting Interface+Port+Bridge and mutating Open_vSwitch, then a select")

s = Session(db_sock)
s.request("transact", ovs_insert_bridge("br-rec2", "vhu-rec0"))
s.save("commit_error", "inserting a second port with the same name: commit-level constraint violation")

s = Session(db_sock)
s.request("transact", ["Open_vSwitch",
                       {"op": "comment", "comment": "first"},
                       {"op": "wait", "table": "Bridge", "where": [["name", "==", "br-rec"]],
                        "columns": ["name"], "until": "==", "rows": [], "timeout": 0},
                       {"op": "delete", "table": "Bridge", "where": []}])
s.save("operation_error", "a wait that does not hold: per-operation error after a success")

s = Session(db_sock)
s.request("transact", ["No_Such_DB", {"op": "comment", "comment": "x"}])
s.save("rpc_error", "transact on a database the server does not have")

s = Session(db_sock)
big = ["map", [["pad%03d" % i, "x" * 400] for i in range(250)]]
s.request("transact", ["Open_vSwitch", {"op": "update", "table": "Open_vSwitch", "where": [],
                                        "row": {"external_ids": big}}])
s.request("transact", ["Open_vSwitch", {"op": "select", "table": "Open_vSwitch", "where": [],
                                        "columns": ["external_ids"]}])
s.request("transact", ["Open_vSwitch", {"op": "update", "table": "Open_vSwitch", "where": [],
                                        "row": {"external_ids": ["map", []]}}])
s.save("large_reply", "a select reply of about 100 kB that arrives in several reads")

a = Session(db_sock)
b = Session(db_sock)
a.request("monitor", ["Open_vSwitch", "cfg", {"Open_vSwitch": {"columns": ["cur_cfg"]}}])
b.request("transact", ["Open_vSwitch", {"op": "update", "table": "Open_vSwitch", "where": [],
                                        "row": {"cur_cfg": 7}}])
a.read_until(lambda m: m.get("method") == "update")
b.request("transact", ["Open_vSwitch", {"op": "update", "table": "Open_vSwitch", "where": [],
                                        "row": {"cur_cfg": 8}}])
time.sleep(0.2)  # the notification is on the wire before the next reply
a.request("transact", ["Open_vSwitch", {"op": "select", "table": "Open_vSwitch", "where": [],
                                        "columns": ["cur_cfg"]}])
a.save("monitor", "monitor cur_cfg; another client changes it twice; the second update "
                  "arrives before the reply to a select")
b.s.close()

s = Session(probe_sock)
s.request("transact", ["Open_vSwitch",
                       {"op": "wait", "table": "Bridge", "where": [["name", "==", "br-rec"]],
                        "columns": ["name"], "until": "==", "rows": [], "timeout": 2500}])
s.save("server_echo", "the server's inactivity probe (echo) arrives while a wait blocks; the client answers")
