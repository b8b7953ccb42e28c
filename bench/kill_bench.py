#!/usr/bin/env python3
"""Benchmark of the process model, against `pkill -s SID` (procps) on the same kind of tree.

Run as root inside a private PID namespace (nothing here can reach a process of the host):

    unshare --pid --fork --mount-proc --kill-child python3 tests/pidns.py -- python3 bench/kill_bench.py [--runs N]

Measured, each as the median of several runs:
  tree:       a 1,000-process tree (one session); time until zero members are left alive:
              shim = send(SIGKILL) (freeze, rescan, one signal each); pkill = `pkill -KILL -s SID`,
              repeated until the session is empty.
  storm:      a running fork storm (fork-and-exit chains plus sleepers, one session), same measure.
  cli tree:   the same 1,000-process tree started by `systemctl start` from an LSB script in a
              temporary root; time for `systemctl kill -s KILL` (the whole command, Python start-up
              included, repeated until zero members are left) against pkill on the same kind of
              tree started the same way.
  membership: Snapshot.take() + compute() for a 10-process service while 10,000 unrelated
              processes run (orphans of init started after the service: the worst case for the
              INVOCATION_ID rule), against `pkill -0 -s SID` (one scan of /proc, signal 0).
pkill is used only against sessions this benchmark created, by SID.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from shim.proc import killer, membership  # noqa: E402
from shim.proc.capture import run_captured  # noqa: E402
from shim.proc.snapshot import Snapshot  # noqa: E402

TREE = r'''
import os, signal, sys, time
total, fanout, ready = int(sys.argv[1]), 4, sys.argv[2]
# breadth-first tree: node i is the child of node (i - 1) // fanout
r, w = os.pipe()
def node(index):
    for child in range(index * fanout + 1, min(index * fanout + fanout + 1, total)):
        if os.fork() == 0:
            node(child)
    os.write(w, b".")
    os.close(w)
    os.execv("/bin/sleep", ["sleep", "10000"])    # keep the tree, drop the Python address space
if os.fork() == 0:
    os.close(r)
    node(0)
os.close(w)
got = 0
while got < total:
    got += len(os.read(r, 65536))
open(ready, "w").close()
'''

STORM = r'''
import os, sys, time
chains, sleepers, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for _ in range(sleepers):
    if os.fork() == 0:
        time.sleep(10000); os._exit(0)
for _ in range(chains):
    if os.fork() == 0:
        while True:                      # fork the successor, exit: pids keep changing
            if os.fork():
                os._exit(0)
            time.sleep(0.005)
open(ready, "w").close()
'''

CROWD = r'''
import os, sys, time
count, orphans, ready = int(sys.argv[1]), sys.argv[2] == "orphans", sys.argv[3]
env = {"PATH": "/usr/bin:/bin"}
for _ in range(count):
    os.posix_spawn("/bin/sleep", ["sleep", "10000"], env)
open(ready, "w").close()
if not orphans:
    time.sleep(10000)       # stay their parent (typical host: daemons' children, user sessions)
# else exit: the sleepers become orphans of init, started after the service: every one of them
# needs its environ checked for the service's INVOCATION_ID (worst case)
'''


def in_private_pidns():
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            return any(a.endswith(b"pidns.py") for a in handle.read().split(b"\0")[:3])
    except OSError:
        return False


def wait_file(path, timeout=120):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"timeout waiting for {path}")
        time.sleep(0.01)


def reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def start(code, *args, tmp):
    """Start a workload through run_captured (a new session, recorded) and wait until it is ready."""
    ready = os.path.join(tmp, uuid.uuid4().hex)
    script = os.path.join(tmp, "start.sh")
    with open(script, "w") as handle:
        handle.write('#!/bin/sh\n"$PY" -c "$CODE" "$@" &\n')
    os.chmod(script, 0o755)
    result = run_captured([script, *map(str, args), ready], env={"PY": sys.executable, "CODE": code,
                                                                 "PATH": os.environ["PATH"]},
                          invocation_id=uuid.uuid4().hex)
    wait_file(ready)
    return result


def session_left(sid):
    snapshot = Snapshot.take()
    return [p.pid for p in snapshot.procs.values() if p.sid == sid and not p.is_zombie]


def time_shim(result):
    collect = lambda snapshot: membership.compute(snapshot, result.tracking).pids  # noqa: E731
    start_time = time.perf_counter()
    signalled, scans, sends = 0, 0, 0
    while True:
        report = killer.send(collect, signal.SIGKILL)
        signalled, scans, sends = signalled + len(report.signalled), scans + report.rounds, sends + 1
        if not membership.compute(Snapshot.take(), result.tracking).pids:
            break
    elapsed = time.perf_counter() - start_time
    reap()
    return elapsed, (signalled, scans, sends)


def time_pkill(result):
    sid = result.control.pid
    start_time = time.perf_counter()
    rounds = 0
    while True:
        rounds += 1
        subprocess.run(["pkill", "-KILL", "-s", str(sid)], check=False)
        if not session_left(sid):
            break
    elapsed = time.perf_counter() - start_time
    reap()
    return elapsed, rounds


def bench_kill(name, code, args, runs, tmp):
    shim, pk, signalled, pk_rounds, scans, sends = [], [], [], [], [], []
    for _ in range(runs):
        result = start(code, *args, tmp=tmp)
        time.sleep(0.2)
        size = len(membership.compute(Snapshot.take(), result.tracking).pids)
        elapsed, (count, rounds, calls) = time_shim(result)
        shim.append(elapsed)
        signalled.append(count)
        scans.append(rounds)
        sends.append(calls)
        result = start(code, *args, tmp=tmp)
        time.sleep(0.2)
        elapsed, rounds = time_pkill(result)
        pk.append(elapsed)
        pk_rounds.append(rounds)
    return {"name": name, "size": size, "shim": statistics.median(shim), "pkill": statistics.median(pk),
            "detail": f"shim: {statistics.median(signalled):.0f} signalled, {statistics.median(scans):.0f} scans, "
                      f"{statistics.median(sends):.0f} send(); pkill: {statistics.median(pk_rounds):.0f} runs"}


CLI_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          treed
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a 1,000-process tree for the kill benchmark
### END INIT INFO
case "$1" in
  start) rm -f {ready}; {python} -c '{code}' {size} {ready} &
         while [ ! -e {ready} ]; do sleep 0.05; done ;;
  stop) ;;
esac
"""


def _cli(root, *args):
    env = dict(os.environ, SYSTEMCTL_SHIM_CGROUP="none", SYSTEMCTL_SHIM_ROOT=root)
    return subprocess.run([sys.executable, "-m", "shim", *args], env=env, cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _cli_members(root):
    from shim.state import StateStore
    tracking = StateStore(os.path.join(root, "run/systemctl-shim")).load("treed.service").tracking
    return tracking, membership.compute(Snapshot.take(), tracking).pids


def bench_cli_kill(runs, size, tmp):
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc/init.d"), exist_ok=True)
    script = os.path.join(root, "etc/init.d/treed")
    assert "'" not in TREE          # it is passed in single quotes
    with open(script, "w") as handle:
        handle.write(CLI_SCRIPT.format(python=sys.executable, code=TREE,
                                       size=size, ready=os.path.join(tmp, "treed.ready")))
    os.chmod(script, 0o755)
    shim, pk, invocations = [], [], []
    for _ in range(runs):
        for kind in ("shim", "pkill"):
            _cli(root, "stop", "treed")
            started = _cli(root, "start", "treed")
            assert started.returncode == 0, started.stderr
            tracking, members = _cli_members(root)
            assert len(members) >= size, len(members)
            t, calls = time.perf_counter(), 0
            while True:
                calls += 1
                if kind == "shim":
                    assert _cli(root, "kill", "-s", "KILL", "treed").returncode == 0
                else:
                    subprocess.run(["pkill", "-KILL", "-s", str(tracking.sessions[0].pid)], check=False)
                if not membership.compute(Snapshot.take(), tracking).pids:
                    break
            (shim if kind == "shim" else pk).append(time.perf_counter() - t)
            if kind == "shim":
                invocations.append(calls)
            reap()
    _cli(root, "stop", "treed")
    return {"name": "cli tree (systemctl kill)", "size": size, "shim": statistics.median(shim),
            "pkill": statistics.median(pk),
            "detail": f"whole command incl. Python start-up; {statistics.median(invocations):.0f} "
                      f"systemctl kill call(s) needed"}


def bench_membership(runs, crowd, orphans, tmp):
    service = start(TREE, 10, tmp=tmp)
    crowd_run = start(CROWD, crowd, "orphans" if orphans else "children", tmp=tmp)
    time.sleep(0.5)
    reap()
    snapshot = Snapshot.take()
    population = len(snapshot.procs)
    sid = service.control.pid
    ours, pk = [], []
    members = set()
    for _ in range(runs):
        t = time.perf_counter()
        snapshot = Snapshot.take()
        members = membership.compute(snapshot, service.tracking).pids
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(["pkill", "-0", "-s", str(sid)], check=False)
        pk.append(time.perf_counter() - t)
    assert len(members) == 10, members
    # clean up: the service by membership, the crowd (orphans started by us) by their session
    killer.send(lambda s: membership.compute(s, service.tracking).pids, signal.SIGKILL)
    subprocess.run(["pkill", "-KILL", "-s", str(crowd_run.control.pid)], check=False)   # the crowd's session
    deadline = time.monotonic() + 60
    while session_left(crowd_run.control.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    reap()
    kind = "orphans of init" if orphans else "unrelated tree"
    return {"name": f"membership, {population} procs", "size": len(members), "shim": statistics.median(ours),
            "pkill": statistics.median(pk),
            "detail": f"{kind}; Snapshot.take()+compute() vs pkill -0 -s SID (incl. its exec)"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--crowd", type=int, default=10000)
    options = parser.parse_args()
    if os.getuid() != 0 or not in_private_pidns():
        raise SystemExit("run as root under: unshare --pid --fork --mount-proc --kill-child "
                         "python3 tests/pidns.py -- python3 bench/kill_bench.py")
    tmp = f"/tmp/kill-bench-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    rows = [
        bench_kill("tree", TREE, [1000], options.runs, tmp),
        bench_kill("fork storm", STORM, [20, 200], options.runs, tmp),
        bench_cli_kill(options.runs, 1000, tmp),
        bench_membership(max(options.runs, 7), options.crowd, False, tmp),
        bench_membership(max(options.runs, 7), options.crowd, True, tmp),
    ]
    print(f"{'case':<26} {'members':>7} {'shim':>10} {'pkill -s':>10} {'ratio':>6}  detail")
    for row in rows:
        print(f"{row['name']:<26} {row['size']:>7} {row['shim'] * 1000:>8.1f}ms {row['pkill'] * 1000:>8.1f}ms "
              f"{row['shim'] / row['pkill']:>6.2f}  {row['detail']}")


if __name__ == "__main__":
    main()
