"""Tasks, memory and CPU of a set of processes: the figures systemd's `status` prints as
`Tasks:`, `Memory:` and `CPU:` and `show` as TasksCurrent, MemoryCurrent and CPUUsageNSec.

Where the processes have a cgroup of their own (the unit's cgroup2 directory), the kernel's
accounting is the answer, exactly as systemd reads it: `pids.current` (and `pids.max` for the
limit), `memory.current`, `cpu.stat`'s `usage_usec`. A figure whose controller is not enabled
there (a cgroup without `pids` or `memory`) is taken from the processes instead, as below.

Without a cgroup the figures are summed over the processes, from /proc:

* tasks: threads (`num_threads`, what `pids.current` counts), not processes;
* memory: PSS (`Pss:` of /proc/PID/smaps_rollup). Summing RSS over a forking daemon counts every
  page it shares with its children once per child; PSS charges a shared page in shares, so the
  sum is the memory the set really holds, which is what `memory.current` (each page charged
  once) approximates. When smaps_rollup is unreadable (not root, hardened /proc, kernel < 4.14)
  RSS is used, an over-count, and `source` says so;
* CPU: utime + stime of each process plus cutime + cstime (its waited-for children), since a
  cgroup's usage_usec keeps the time of processes that have exited. The kernel counts these in
  clock ticks (10 ms); CPU of processes that exited without being waited for by a member is lost
  (a cgroup would keep it).

psutil would read the same files (`memory_full_info().pss`, `cpu_times()`, `num_threads()`), but
importing it costs ~25 ms in a Debian 12 box, 2.5x Python's own start-up, which alone would put
`status` past its 3x budget: so this module reads the four figures itself, and the project does
not depend on psutil. Only `status` and `show` import this module. The process model knows
nothing of units: callers pass pids (with start times, so that a pid reused since the snapshot is
not counted) and, optionally, a cgroup directory.
"""

import os

from shim.plain import Plain
from shim.proc.identity import read_stat, split_stat

UNSET = 2 ** 64 - 1          # UINT64_MAX: systemd's "not set"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class Usage(Plain):
    tasks = None            # threads, or None when unknown
    tasks_limit = None      # pids.max when it is a number
    memory = None           # bytes
    cpu_nsec = None         # nanoseconds
    source = ""             # "cgroup" | "pss" | "rss" | "" (nothing measured)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _number(text):
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        return None


def of_cgroup(path: str) -> Usage:
    """The kernel's accounting of a cgroup2 directory (None for what it does not account)."""
    usage = Usage(source="cgroup")
    usage.tasks = _number(_read(os.path.join(path, "pids.current")))
    if usage.tasks is not None:
        usage.tasks_limit = _number(_read(os.path.join(path, "pids.max")))   # "max" -> None
    usage.memory = _number(_read(os.path.join(path, "memory.current")))
    stat = _read(os.path.join(path, "cpu.stat")) or ""
    for line in stat.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec" and value.strip().isdigit():
            usage.cpu_nsec = int(value) * 1000
    return usage


def _smaps_pss(pid, proc_root):
    """Proportional set size in bytes from /proc/PID/smaps_rollup, or None if unreadable."""
    text = _read("%s/%d/smaps_rollup" % (proc_root, pid))
    for line in (text or "").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return None


def _process(pid, starttime, proc_root):
    """(threads, memory bytes, cpu ticks, 'pss'|'rss') of one live process, or None if it is gone,
    a zombie, or its pid now names another process (start time checked before and after)."""
    raw = read_stat(pid, proc_root)
    if raw is None:
        return None
    try:
        fields = split_stat(raw)[1]
        if (starttime is not None and int(fields[19]) != starttime) or fields[0] in (b"Z", b"X"):
            return None
        # fields[n - 3] is field n of proc(5): 14-17 utime stime cutime cstime, 20 num_threads
        ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        threads = int(fields[17])
        rss = int(fields[21]) * PAGE_SIZE               # field 24, in pages
    except (ValueError, IndexError):
        return None
    pss = _smaps_pss(pid, proc_root)
    after = read_stat(pid, proc_root)
    if after is None or split_stat(after)[1][19] != fields[19]:
        return None                                     # exited (and maybe reused) meanwhile
    return threads, (rss if pss is None else pss), ticks, ("rss" if pss is None else "pss")


def of_processes(refs, proc_root: str = "/proc") -> Usage:
    """Summed figures of processes given as (pid, starttime) pairs (starttime None: not checked).
    Processes that are gone, zombies, or whose pid now names another process are left out."""
    tasks = memory = ticks = counted = 0
    source = "pss"
    for pid, starttime in refs:
        figures = _process(pid, starttime, proc_root)
        if figures is None:
            continue
        tasks += figures[0]
        memory += figures[1]
        ticks += figures[2]
        if figures[3] == "rss":
            source = "rss"
        counted += 1
    if not counted:
        return Usage()
    return Usage(tasks=tasks, memory=memory, cpu_nsec=ticks * 10 ** 9 // CLOCK_TICKS, source=source)


def measure(refs, cgroup: str = None, proc_root: str = "/proc") -> Usage:
    """The cgroup's accounting when there is a cgroup directory; per-process figures for what it
    does not account (a cgroup without the memory or pids controller) and when there is none."""
    refs = list(refs)
    if cgroup and os.path.isdir(cgroup):
        usage = of_cgroup(cgroup)
        if None in (usage.tasks, usage.memory, usage.cpu_nsec) and refs:
            fallback = of_processes(refs, proc_root)
            for name in ("tasks", "memory", "cpu_nsec"):
                if getattr(usage, name) is None:
                    setattr(usage, name, getattr(fallback, name))
            usage.source = "cgroup+" + fallback.source if fallback.source else "cgroup"
        return usage
    return of_processes(refs, proc_root)
