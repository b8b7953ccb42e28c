"""Reading a pidfile the way systemd does before it believes one (service_load_pid_file).

A pidfile is a claim made by whoever could write the file. We accept the pid only if:
the content is exactly one positive number; the process is alive and not a zombie; it is not
PID 1, not us, not one of our ancestors; it already existed when the file was last written (a pid
that was reused after the daemon died started *after* the file); and, if the file is not owned by
root or is reached through a symlink owned by someone else, the pid must already belong to the
service. Anything else is refused with a reason, and the pidfile is simply not used.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False      # typing costs ~3 ms at start-up; annotations are strings (__future__)
if TYPE_CHECKING:
    from typing import Callable

from shim.plain import Plain
from shim.proc.identity import read_stat
from shim.proc.snapshot import CLOCK_TICKS, parse_stat, start_epoch

PID_MAX = 4194304              # kernel limit (PID_MAX_LIMIT on 64-bit)
# A process's start time is rounded down to its clock tick and a file's mtime comes from the
# kernel's coarse clock (up to one jiffy, 10 ms at HZ=100, behind): the daemon that wrote the file
# has start <= mtime + one tick. Anything later is a PID reused after the writer died.
CLOCK_SLACK = 1.0 / CLOCK_TICKS + 0.001


class Verdict(Plain):
    path = ""
    pid = 0                    # accepted main pid, or 0
    ref = None                 # its ProcessRef
    exists = False             # the file exists (a dead pid in it means "dead, pidfile exists")
    reason = ""                # why it was refused, for status/debugging


def parse_pid(text: str) -> int:
    """parse_pid(): optional leading whitespace, digits, optional trailing newline; else 0."""
    first = text.split("\n", 1)[0].lstrip(" \t")
    if not first.isdigit() or len(first) > 7:
        return 0
    pid = int(first)
    return pid if 0 < pid <= PID_MAX else 0


def _questionable(path: str) -> bool:
    """A symlink chain that crosses owners (CHASE_SAFE would refuse it)."""
    current, hops = path, 0
    while hops < 16:
        try:
            st = os.lstat(current)
        except OSError:
            return True
        if not stat.S_ISLNK(st.st_mode):
            return False
        target = os.path.join(os.path.dirname(current), os.readlink(current))
        try:
            target_owner = os.stat(target).st_uid
        except OSError:
            return True
        if st.st_uid != 0 and st.st_uid != target_owner:
            return True
        current, hops = target, hops + 1
    return True


def _proc(pid: int, proc_root: str):
    raw = read_stat(pid, proc_root)
    return parse_stat(pid, raw) if raw is not None else None


def check(path: str, *, protected: set, is_member: Callable[[int], bool],
          claimed_elsewhere: Callable[[int], bool] = lambda pid: False,
          proc_root: str = "/proc") -> Verdict:
    verdict = Verdict(path=path)
    try:
        st = os.stat(path)
        with open(path, "rb") as handle:
            raw = handle.read(64)
    except OSError:
        return verdict
    verdict.exists = True
    if not stat.S_ISREG(st.st_mode):
        verdict.reason = "not a regular file"
        return verdict
    pid = parse_pid(raw.decode("ascii", errors="replace"))
    if not pid:
        verdict.reason = "no valid PID in it"
        return verdict
    if pid in protected:
        verdict.reason = "PID %d is the manager, us or our ancestor, refusing" % pid
        return verdict
    proc = _proc(pid, proc_root)
    if proc is None or proc.is_zombie:
        verdict.reason = "PID %d does not exist or is a zombie" % pid
        return verdict
    if proc.is_kernel_thread:
        # e.g. a pidfile written inside another PID namespace, whose number is a kthread here
        verdict.reason = "PID %d is a kernel thread, refusing" % pid
        return verdict
    ref = proc.ref
    if start_epoch(ref.starttime) > st.st_mtime + CLOCK_SLACK:
        verdict.reason = "PID %d started after the PID file was written (reused PID)" % pid
        return verdict
    if claimed_elsewhere(pid):
        verdict.reason = "PID %d belongs to another unit" % pid
        return verdict
    if (st.st_uid != 0 or _questionable(path)) and not is_member(pid):
        verdict.reason = ("PID %d does not belong to service, and PID file is not owned by root"
                          % pid)
        return verdict
    verdict.pid, verdict.ref = pid, ref
    return verdict
