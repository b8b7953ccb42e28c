"""Tasks:, Memory:, CPU: in `status` and TasksCurrent, MemoryCurrent, CPUUsageNSec in `show`,
measured on a real daemon that holds a known amount of memory and has burnt a known amount of CPU
(shim/proc/usage.py)."""

import re
import sys

import pytest

MIB = 1024 * 1024
HOLD = 64 * MIB           # the daemon's buffer, touched page by page (inherited by its worker)
BURN = 0.4                # CPU seconds the daemon burns before it says it is ready

HOG = r'''
import os, sys, time
buffer = b"x" * {hold}          # bytes(): every page written
while time.process_time() < {burn}:
    pass
if os.fork() == 0:              # a worker sharing the buffer: RSS summed would count it twice
    open(sys.argv[2] + ".worker", "w").close()
    time.sleep(100000)
    os._exit(0)
with open(sys.argv[1], "w") as handle:
    handle.write("%d\n" % os.getpid())
time.sleep(100000)
'''

SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          hog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: memory and CPU hog
### END INIT INFO
PIDFILE={pidfile}
case "$1" in
  start)
    rm -f "$PIDFILE" {ready}.worker
    {python} {hog} "$PIDFILE" {ready} </dev/null >/dev/null 2>&1 &
    i=0
    while [ ! -s "$PIDFILE" ] || [ ! -e {ready}.worker ]; do
      i=$((i+1)); [ $i -gt 400 ] && exit 1; sleep 0.05
    done
    exit 0 ;;
  stop) [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; exit 0 ;;
  status) [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && exit 0; exit 3 ;;
esac
exit 0
"""


def parse_bytes(text):
    number, suffix = float(text[:-1]), text[-1]
    return number * {"B": 1, "K": 1024, "M": MIB, "G": 1024 * MIB}[suffix]


def parse_span(text):
    total = 0.0
    for part in text.split():
        value, unit = re.match(r"^([\d.]+)(min|ms|us|s|h)$", part).groups()
        total += float(value) * {"h": 3600, "min": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[unit]
    return total


@pytest.fixture
def hog(root, tmp_path):
    hog_py = tmp_path / "hog.py"
    hog_py.write_text(HOG.format(hold=HOLD, burn=BURN))
    root.raw("hog", SCRIPT.format(pidfile=root.pidfile("hog"), python=sys.executable, hog=hog_py,
                                  ready=tmp_path / "ready"))
    yield root
    root.run("stop", "hog")


# Per-process (/proc: threads, PSS, ticks) and, where the host lets the shim make one, the unit's cgroup.
@pytest.mark.parametrize("cgroup", ["none", None])
def test_show_and_status_figures_of_a_real_daemon(hog, cgroup):
    env = hog.env(SYSTEMCTL_SHIM_CGROUP=cgroup) if cgroup else hog.env()
    r = hog.run("start", "hog", env=env)
    assert r.rc == 0, r
    r = hog.run("show", "hog", "-p", "MemoryCurrent,CPUUsageNSec,TasksCurrent", env=env)
    assert r.rc == 0, r
    props = dict(line.split("=", 1) for line in r.lines)
    assert list(props) == ["MemoryCurrent", "CPUUsageNSec", "TasksCurrent"]   # D-Bus order
    assert props["TasksCurrent"] == "2"
    memory, cpu = int(props["MemoryCurrent"]), int(props["CPUUsageNSec"]) / 1e9
    # The buffer, held once: a sum of RSS would be over 2 x 64M (the worker shares every page).
    assert HOLD <= memory < HOLD + 40 * MIB, memory
    # per process, the kernel counts user and system time in clock ticks (10ms), each rounded down
    assert BURN - 0.03 <= cpu < BURN + 1.5, cpu

    r = hog.run("status", "hog", env=env)
    assert r.rc == 0, r
    lines = r.lines
    tasks = [line for line in lines if line.startswith("      Tasks: ")]
    assert tasks and re.match(r"^      Tasks: 2( \(limit: \d+\))?$", tasks[0]), lines
    mem = [line for line in lines if line.startswith("     Memory: ")]
    assert mem and re.match(r"^     Memory: \d+\.\d[KMG]$", mem[0]), lines
    assert HOLD <= parse_bytes(mem[0].split(": ")[1]) < HOLD + 40 * MIB
    cpu_line = [line for line in lines if line.startswith("        CPU: ")]
    assert cpu_line and BURN - 0.03 <= parse_span(cpu_line[0].split(": ")[1]) < BURN + 1.5, lines
    # systemd's order: Tasks, Memory, CPU, then CGroup
    order = [lines.index(tasks[0]), lines.index(mem[0]), lines.index(cpu_line[0])]
    assert order == sorted(order) and order[-1] < [i for i, l in enumerate(lines)
                                                   if l.startswith("     CGroup:")][0]


def test_figures_of_a_stopped_unit_are_not_set(hog):
    r = hog.run("show", "hog", "-p", "MemoryCurrent,CPUUsageNSec", env=hog.env(SYSTEMCTL_SHIM_CGROUP="none"))
    assert r.lines == ["MemoryCurrent=[not set]", "CPUUsageNSec=[not set]"]
    r = hog.run("status", "hog")
    assert r.rc == 3 and not any(l.startswith(("     Memory:", "        CPU:")) for l in r.lines)
