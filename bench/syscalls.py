"""Where one traced plugin call spends its time: `perf trace` output read into a breakdown by
kind of work (netlink, files, fsync, namespaces, the announce's sockets, sleeps, start-up, the
IPAM child...). Pure functions over the trace text, so bench/test_report.py checks them on
fixed input; bench/trace_hostlocal.py and bench/rust/wrapped.rs record the traces, report.py renders.

The trace is `perf trace -o FILE -- COMMAND` (syscall tracepoints: microseconds of overhead per
call, not ptrace's tens). A line is one finished syscall, its start in ms since the trace began
and its duration:

         0.026 ( 0.001 ms): host-local/1933 brk()                          = 0x5623d1088000
         3.667 (         ): host-local/5588 futex(uaddr: 0x620ba8, ...)    ...
         3.667 ( 0.527 ms): host-local/5588  ... [continued]: futex())     = 0
         6.388 (         ): host-local/5588 exit_group()                   = ?

A process is the task first seen under its name (its comm after exec), from its last exec to
its exit, and the threads it clones; tasks are followed by id. Every kind below sums the main
thread only, so with the time outside syscalls (user code, page faults, waiting for a CPU) the
kinds add up to the call's wall time; other threads (Go's runtime, our IPAM pipe readers) are
listed apart, in parallel with it. A plugin's blocking calls while its IPAM child runs are the
kind "starting and waiting for child processes": the child is summarised on its own, beside
(not inside) the plugin's sum.
"""

import re

LINE = re.compile(r"^\s*(?P<ts>[\d.]+|\?) \(\s*(?:(?P<dur>[\d.]+) ms)?\s*\): "
                  r"(?P<comm>[^ ]+?)/(?P<tid>\d+) +(?P<rest>.*)$")
CONTINUED = re.compile(r"^\.\.\. \[continued\]: (?P<name>\w+)\(\)\)\s+= (?P<ret>.*)$")
CALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*?)\)\s+(?:= (?P<ret>.*)|\.\.\.)\s*$")
FD = re.compile(r"\bfd: (\d+)")

# Kinds of work, in the order the report lists them.
NETLINK = "netlink"
SOCKETS = "other sockets (the announce: ARP / NA)"
NAMESPACES = "namespaces (setns, mount)"
FSYNC = "fsync"
LOCKS = "file locks (flock)"
FILES = "files (open, read, write, stat, rename, unlink...)"
PIPES = "stdin / stdout pipes (waiting for the other end)"
SLEEPS = "sleeps and polls"
STARTUP = "start-up and memory (exec, mmap, brk, mprotect, signals)"
THREADS = "futex (threads handing work over)"
CHILD = "starting and waiting for child processes and threads (clone, wait, their pipes)"
OTHER = "other syscalls"
OUTSIDE = "outside syscalls (user code, page faults, run queue)"
KINDS = [NETLINK, SOCKETS, NAMESPACES, FSYNC, LOCKS, FILES, PIPES, SLEEPS, STARTUP, THREADS, CHILD,
         OTHER, OUTSIDE]
# A word for each kind, where a syscall is named with it.
SHORT = {NETLINK: "netlink", SOCKETS: "a socket, not netlink", NAMESPACES: "namespaces",
         FSYNC: "a file", LOCKS: "a lock", FILES: "a file", PIPES: "a pipe", SLEEPS: "a wait",
         STARTUP: "start-up", THREADS: "threads", CHILD: "a child process or thread",
         OTHER: "other", OUTSIDE: "-"}

SOCKET_CALLS = {"socket", "bind", "connect", "setsockopt", "getsockopt", "getsockname", "sendto",
                "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "shutdown"}
SENDS = {"sendto", "sendmsg", "sendmmsg"}
CLONES = {"clone", "clone3", "fork", "vfork"}
BY_NAME = {}
for _kind, _names in [
    (NAMESPACES, "setns unshare mount umount2 pivot_root"),
    (FSYNC, "fsync fdatasync syncfs sync_file_range sync"),
    (LOCKS, "flock"),
    (FILES, "open openat openat2 read write pread64 pwrite64 readv writev close close_range "
            "newfstatat fstat stat lstat statx lseek getdents64 unlink unlinkat rename renameat "
            "renameat2 mkdir mkdirat rmdir link linkat symlinkat readlink readlinkat fchmod "
            "fchmodat fchown fchownat ftruncate access faccessat faccessat2 fcntl ioctl dup dup2 "
            "dup3 pipe2 getcwd chdir fchdir utimensat statfs fstatfs copy_file_range sendfile"),
    (SLEEPS, "nanosleep clock_nanosleep poll ppoll select pselect6 epoll_wait epoll_pwait "
             "epoll_pwait2"),
    (STARTUP, "execve execveat brk mmap munmap mremap mprotect madvise arch_prctl set_tid_address "
              "set_robust_list rseq prlimit64 getrandom rt_sigaction rt_sigprocmask sigaltstack "
              "rt_sigreturn sched_getaffinity uname exit exit_group"),
    (THREADS, "futex sched_yield gettid tgkill"),
    (CHILD, "clone clone3 fork vfork wait4 waitid"),
]:
    for _n in _names.split():
        BY_NAME[_n] = _kind
# Calls on stdin, stdout and stderr, which are pipes to the runtime, or to the plugin for its
# IPAM child: a read there waits for the writer.
PIPE_CALLS = {"read", "write", "readv", "writev"}
# Blocking calls a parent makes while its child runs (reading the child's stdout, waiting).
WAITS = {"poll", "ppoll", "read", "wait4", "waitid", "epoll_wait", "epoll_pwait", "select",
         "pselect6", "futex"}


def parse(text):
    """(events, exits, execs): finished syscalls in the file's order as dicts (comm, tid, name,
    args, ret, start, dur in ms); {tid: time of exit_group}; and {tid: index into events where
    the task's last successful exec begins}. Calls still blocked when the trace ended, calls
    whose entry this task did not make (a fork child's clone), and lines that are not syscalls,
    are left out."""
    events, exits, execs, entered = [], {}, {}, {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        comm, tid, rest = m["comm"], int(m["tid"]), m["rest"].strip()
        ts = None if m["ts"] == "?" else float(m["ts"])
        c = CONTINUED.match(rest)
        if c and c["name"] == "execve" and ts is None and c["ret"].strip().startswith("0"):
            execs[tid] = len(events)  # exec'd before the trace saw it enter: what follows is new
            continue
        if c:
            if (tid, c["name"]) not in entered:
                # Entered in another task: a fork child's return from clone, timed from its
                # parent's entry (perf prints a wrapped-around duration for it).
                continue
            name, args, ret = c["name"], entered.pop((tid, c["name"])), c["ret"].strip()
        else:
            c = CALL.match(rest)
            if not c:
                continue
            name, args, ret = c["name"], c["args"], (c["ret"] or "").strip()
            if name in ("exit_group", "exit") and ts is not None and tid not in exits:
                exits[tid] = ts
                continue
            if m["dur"] is None:
                entered[(tid, name)] = args
                continue
        if m["dur"] is None or ts is None:
            continue
        if name == "execve" and ret.startswith("0"):
            execs[tid] = len(events)
        events.append({"comm": comm, "tid": tid, "name": name, "args": args, "ret": ret,
                       "start": ts, "dur": float(m["dur"])})
    return events, exits, execs


def process(parsed, comm, exclude=()):
    """The process that first appears under the name `comm` (a task not in `exclude`): its
    main thread's events from its last exec on, its life span, and its threads' events (tasks
    it or its threads cloned that never exec'd); None when it is not in the trace.

    Tasks are followed by id, not by the name perf prints beside them: perf sometimes labels a
    task with a stale or unknown name (":30025/30025", or its parent's) after an exec."""
    events, exits, execs = parsed
    main = next((e["tid"] for e in events if e["comm"] == comm and e["tid"] not in exclude), None)
    if main is None:
        return None
    first = execs.get(main, 0)
    mine = [e for i, e in enumerate(events) if e["tid"] == main and i >= first]
    if not mine:
        return None
    threads, grew = set(), True
    while grew:
        grew = False
        for i, e in enumerate(events):
            if e["name"] not in CLONES or (e["tid"] != main and e["tid"] not in threads):
                continue
            if e["tid"] == main and i < first:
                continue
            new = e["ret"].split(" ")[0]
            if new.isdigit() and int(new) not in execs and int(new) not in threads and int(new) != main:
                threads.add(int(new))
                grew = True
    return {"comm": comm, "main": main, "start": mine[0]["start"],
            "end": exits.get(main, max(e["start"] + e["dur"] for e in mine)),
            "events": mine, "others": [e for e in events if e["tid"] in threads],
            "threads": sorted(threads)}


def classify(events, child=None):
    """[(kind, event)] for a main thread's events. Socket calls go by the fd's socket family
    (netlink or not), tracked from socket()'s result to close(); a blocking call made while
    `child` (a process) runs is waiting for it."""
    sockets, out = {}, []
    for e in events:
        fd = FD.search(e["args"])
        # perf leaves out arguments that are zero: a read without "fd:" reads fd 0.
        fd = int(fd.group(1)) if fd else (0 if e["name"] in PIPE_CALLS else None)
        kind = BY_NAME.get(e["name"], OTHER)
        if e["name"] == "socket":
            kind = NETLINK if "family: NETLINK" in e["args"] else SOCKETS
            if e["ret"].split(" ")[0].isdigit():
                sockets[int(e["ret"].split(" ")[0])] = kind
        elif fd is not None and fd in sockets:
            kind = sockets[fd]
            if e["name"] == "close":
                del sockets[fd]
        elif e["name"] in SOCKET_CALLS:
            kind = SOCKETS
        elif kind == FILES and e["name"] in PIPE_CALLS and (fd in (0, 1, 2) or "<pipe:" in e["args"]):
            kind = PIPES
        if (child is not None and e["name"] in WAITS
                and e["start"] < child["end"] and e["start"] + e["dur"] > child["start"]):
            kind = CHILD
        out.append((kind, e))
    return out


def summarise(proc, child=None):
    """{kind: {"ms", "calls"}} of a process's main thread, "outside syscalls" included, the
    netlink sends, its five most costly syscalls (by name and kind: a socket's close is not a
    file's), and its other threads' syscall time."""
    kinds = {k: {"ms": 0.0, "calls": 0} for k in KINDS}
    by_call, sends = {}, 0
    for kind, e in classify(proc["events"], child):
        kinds[kind]["ms"] += e["dur"]
        kinds[kind]["calls"] += 1
        if kind == NETLINK and e["name"] in SENDS:
            sends += 1
        t = by_call.setdefault((e["name"], kind), [0.0, 0, 0.0])
        t[0] += e["dur"]
        t[1] += 1
        t[2] = max(t[2], e["dur"])
    wall = proc["end"] - proc["start"]
    kinds[OUTSIDE] = {"ms": max(0.0, wall - sum(v["ms"] for v in kinds.values())), "calls": 0}
    top = sorted(by_call.items(), key=lambda kv: -kv[1][0])[:5]
    return {
        "process": proc["comm"],
        "wall": wall,
        "kinds": kinds,
        "netlink_sends": sends,
        "top": [{"name": n, "kind": k, "ms": t, "calls": c, "longest": m}
                for (n, k), (t, c, m) in top],
        "other_threads": {"ms": sum(e["dur"] for e in proc["others"]), "calls": len(proc["others"]),
                          "threads": len(proc["threads"])},
    }


def breakdown(text, plugin, ipam=None):
    """One traced call of `plugin` (its comm) delegating to `ipam` (None: no child): the
    plugin's wall time split by kind, its wait for the IPAM child one of them, so the parts add
    up to the call; the child's own summary beside it. None when the plugin is not in the
    trace."""
    parsed = parse(text)
    p = process(parsed, plugin)
    if p is None:
        return None
    c = process(parsed, ipam, exclude={p["main"]}) if ipam else None
    own = summarise(p, c)
    return {"process": plugin, "wall": own["wall"], "plugin": own,
            "child": summarise(c) if c is not None else None,
            "kinds": own["kinds"], "netlink_sends": own["netlink_sends"],
            "other_threads": own["other_threads"]}
