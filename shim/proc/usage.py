"""Tasks, memory and CPU of a set of processes: the figures systemd's `status` prints as
`Tasks:`, `Memory:` and `CPU:` and `show` as TasksCurrent, MemoryCurrent and CPUUsageNSec.

Where the processes have a cgroup of their own (the unit's cgroup2 directory), the kernel's
accounting is the answer, exactly as systemd reads it: `pids.current` (and `pids.max` for the
limit), `memory.current`, `cpu.stat`'s `usage_usec`. A figure whose controller is not enabled
there (a cgroup without `pids` or `memory`) is taken from the processes instead, as below.

Without a cgroup the figures are summed over the processes with psutil:

* tasks: threads (what `pids.current` counts), not processes;
* memory: PSS (`memory_full_info().pss`, from /proc/PID/smaps_rollup). Summing RSS over a
  forking daemon counts every page it shares with its children once per child; PSS charges a
  shared page in shares, so the sum is the memory the set really holds, which is what
  `memory.current` (each page charged once) approximates. When smaps is unreadable (not root,
  hardened /proc) RSS is used, an over-count, and `source` says so;
* CPU: user + system time of each process plus that of its waited-for children
  (`cpu_times()`), since a cgroup's usage_usec keeps the time of processes that have exited.
  CPU of processes that exited without being waited for by a member is lost (a cgroup would
  keep it).

psutil is imported here, lazily, and only `status` and `show` call this module: never on the
`is-active` path. The process model knows nothing of units: callers pass pids (with start times,
so that a pid reused since the snapshot is not counted) and, optionally, a cgroup directory.
"""

import os

from shim.plain import Plain
from shim.proc.identity import read_stat, split_stat

UNSET = 2 ** 64 - 1          # UINT64_MAX: systemd's "not set"


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


def _same_process(pid, starttime, proc_root):
    raw = read_stat(pid, proc_root)
    if raw is None:
        return False
    try:
        return starttime is None or int(split_stat(raw)[1][19]) == starttime
    except (ValueError, IndexError):
        return False


def of_processes(refs, proc_root: str = "/proc") -> Usage:
    """Summed figures of processes given as (pid, starttime) pairs (starttime None: not checked).
    Processes that are gone, or whose pid now names another process, are left out."""
    refs = list(refs)
    if not refs:
        return Usage()
    import psutil
    if proc_root != "/proc":
        psutil.PROCFS_PATH = proc_root
    tasks = memory = cpu = 0
    source = "pss"
    counted = 0
    for pid, starttime in refs:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                threads = process.num_threads()
                times = process.cpu_times()
                try:
                    mem = process.memory_full_info().pss
                except (psutil.AccessDenied, AttributeError, OSError):
                    mem = process.memory_info().rss
                    source = "rss"
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        if not _same_process(pid, starttime, proc_root):
            continue        # the pid was reused while we read it
        tasks += threads
        memory += mem
        cpu += times.user + times.system + getattr(times, "children_user", 0.0) + \
            getattr(times, "children_system", 0.0)
        counted += 1
    if not counted:
        return Usage()
    return Usage(tasks=tasks, memory=memory, cpu_nsec=int(round(cpu * 1e9)), source=source)


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
