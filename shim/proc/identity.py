"""A process is its pid *and* its start time: pids are reused, (pid, starttime) is not."""
import os
from typing import NamedTuple, Optional


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


class ProcessRef(NamedTuple):
    pid: int
    starttime: int      # field 22 of /proc/PID/stat, clock ticks since boot

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
