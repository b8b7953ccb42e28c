"""What is left at the end of a shutdown: every process below PID 1 once the stop jobs are done.

Found in one read of /proc (parent links), signalled each through a pidfd after checking that the
pid still names the process that was looked at (pid and start time), never PID 1 or ourselves."""

import os

try:
    import _signal as signal
except ImportError:             # pragma: no cover - another Python implementation
    import signal

from shim.proc.identity import ProcessRef, read_stat, split_stat


def descendants(root_pid: int, proc_root: str) -> list:
    """ProcessRefs of every process below root_pid (one read of /proc)."""
    parents, starts = {}, {}
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        raw = read_stat(int(entry), proc_root)
        if raw is None:
            continue
        try:
            _, fields = split_stat(raw)
            parents[int(entry)], starts[int(entry)] = int(fields[1]), int(fields[19])
        except (ValueError, IndexError):
            continue
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root_pid, ()))
    while todo:
        pid = todo.pop()
        if pid in (1, root_pid):
            continue
        found.append(ProcessRef(pid, starts[pid]))
        todo.extend(children.get(pid, ()))
    return found


def signal_ref(ref: ProcessRef, signo: int, proc_root: str) -> None:
    try:
        fd = os.pidfd_open(ref.pid)
    except OSError:
        return
    try:
        if ProcessRef.of(ref.pid, proc_root) == ref:        # the pidfd now pins that process
            signal.pidfd_send_signal(fd, signo)
    except OSError:
        pass
    finally:
        os.close(fd)
