#!/usr/bin/env python3
"""What a keeper costs: memory per keeper with N units running, and start latency.

Run as root inside a private PID namespace (it starts real daemons and stops them again):

    unshare --pid --fork --mount-proc --kill-child python3 tests/pidns.py -- python3 bench/keeper_bench.py [N]

N units (default 20) are SysV scripts in a temporary tree whose `start` forks a `sleep` daemon
and writes its pidfile. Reported: each keeper's PSS, USS (private pages) and RSS from
/proc/PID/smaps_rollup with all N running; and, in the same run, medians of `systemctl start`
(through the CLI, keeper included) against the init script's own `start` and against
`python3 -c pass`, so that the added latency is a difference measured on the same machine.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Short-Description: keeper bench daemon {name}
### END INIT INFO
PIDFILE={root}/{name}.pid
case "$1" in
  start) sleep 100000 </dev/null >/dev/null 2>&1 & echo $! > "$PIDFILE" ;;
  stop) [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE" ;;
esac
exit 0
"""


def smaps(pid):
    values = {}
    with open("/proc/%d/smaps_rollup" % pid) as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0])
    return values


def keepers(state_dir):
    """Keeper pids from the records (ours by construction, never matched by name)."""
    import json
    found = []
    units = os.path.join(state_dir, "units")
    for entry in os.listdir(units):
        if entry.endswith(".json"):
            with open(os.path.join(units, entry)) as handle:
                keeper = json.load(handle)["tracking"].get("keeper")
            if keeper:
                found.append(keeper[0])
    return found


def timed(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main(n):
    if os.getpid() > 10 and "pidns.py" not in open("/proc/1/cmdline").read():
        sys.exit("run under: unshare --pid --fork --mount-proc --kill-child python3 tests/pidns.py -- "
                 "python3 bench/keeper_bench.py")
    root = tempfile.mkdtemp(prefix="shim-keeper-bench-")
    state = os.path.join(root, "state")
    env = dict(os.environ, SYSTEMCTL_SHIM_ROOT=root, SYSTEMCTL_SHIM_STATE_DIR=state,
               SYSTEMCTL_SHIM_CGROUP="none", PYTHONPATH=REPO)
    shim = [sys.executable, "-m", "shim"]
    names = ["kb%02d" % i for i in range(n)]
    try:
        os.makedirs(os.path.join(root, "etc", "init.d"))
        for name in names:
            path = os.path.join(root, "etc", "init.d", name)
            with open(path, "w") as handle:
                handle.write(SCRIPT.format(name=name, root=root))
            os.chmod(path, 0o755)
        starts = [timed(shim + ["start", name], env) for name in names]
        pids = keepers(state)
        figures = [smaps(pid) for pid in pids]
        pss = [f["Pss"] for f in figures]
        uss = [f.get("Private_Clean", 0) + f.get("Private_Dirty", 0) for f in figures]
        rss = [f["Rss"] for f in figures]
        print("keepers running: %d (for %d units)" % (len(pids), n))
        print("keeper PSS: median %.1f MB, max %.1f MB" % (statistics.median(pss) / 1024, max(pss) / 1024))
        print("keeper USS: median %.1f MB;  RSS: median %.1f MB" % (
            statistics.median(uss) / 1024, statistics.median(rss) / 1024))
        for name in names:
            subprocess.run(shim + ["stop", name], env=env, check=True)
        time.sleep(0.5)
        left = [pid for pid in pids if os.path.exists("/proc/%d" % pid)]
        print("keepers left after stopping every unit: %d" % len(left))
        script = os.path.join(root, "etc", "init.d", names[0])
        direct, baseline, through = [], [], []
        for _ in range(10):
            direct.append(timed([script, "start"], env))
            subprocess.run([script, "stop"], env=env, check=True)
            baseline.append(timed([sys.executable, "-c", "pass"], env))
            through.append(timed(shim + ["start", names[0]], env))
            subprocess.run(shim + ["stop", names[0]], env=env, check=True)
        print("start latency, medians of 10: init script itself %.1f ms, systemctl start %.1f ms, "
              "python3 -c pass %.1f ms; the shim adds %.1f ms (the first %d starts: median %.1f ms)"
              % (statistics.median(direct), statistics.median(through), statistics.median(baseline),
                 statistics.median(through) - statistics.median(direct), n, statistics.median(starts)))
    finally:
        for name in names:
            subprocess.run(shim + ["stop", name], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
