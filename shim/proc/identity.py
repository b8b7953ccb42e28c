"""A process is its pid *and* its start time: pids are reused, (pid, starttime) is not."""
from __future__ import annotations

import os
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


def read_stat(pid: int, proc_root: str = "/proc") -> Optional[bytes]:
    """The raw /proc/PID/stat line, or None if the process is gone (or unreadable)."""
    try:
        fd = os.open(f"{proc_root}/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:      # ESRCH: the task died between open and read
        return None
    finally:
        os.close(fd)


def split_stat(raw: bytes):
    """(comm, fields from field 3 on) of a stat line. The command name may contain spaces and ')',
    so it ends at the LAST ')'. fields[0] is field 3 (state), fields[19] is field 22 (starttime)."""
    open_paren = raw.index(b"(")
    close_paren = raw.rindex(b")")
    return raw[open_paren + 1:close_paren], raw[close_paren + 2:].split()


class ProcessRef(tuple):
    """(pid, starttime): a 2-tuple with names, as typing.NamedTuple made it (without its import).
    starttime is field 22 of /proc/PID/stat, clock ticks since boot."""
    __slots__ = ()
    _fields = ("pid", "starttime")

    def __new__(cls, pid: int, starttime: int):
        return tuple.__new__(cls, (pid, starttime))

    def __getnewargs__(self):
        return tuple(self)

    def __repr__(self):
        return "ProcessRef(pid=%r, starttime=%r)" % tuple(self)

    pid = property(lambda self: self[0], doc="process id")
    starttime = property(lambda self: self[1], doc="start time, clock ticks since boot")

    @classmethod
    def of(cls, pid: int, proc_root: str = "/proc") -> "Optional[ProcessRef]":
        """The process that has this pid now, or None."""
        raw = read_stat(pid, proc_root)
        if raw is None:
            return None
        try:
            return cls(pid, int(split_stat(raw)[1][19]))
        except (ValueError, IndexError):
            return None

    def alive(self, proc_root: str = "/proc") -> bool:
        """Still the same process (same start time) and not a zombie (which ignores every signal)."""
        raw = read_stat(self.pid, proc_root)
        if raw is None:
            return False
        try:
            _, fields = split_stat(raw)
            return int(fields[19]) == self.starttime and fields[0] not in (b"Z", b"X")
        except (ValueError, IndexError):
            return False
