"""One read of /proc: every process's stat line, parsed once; environ and cmdline only on demand."""
from __future__ import annotations

import os
import time
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Iterable, List, Optional, Set

from shim.proc.identity import ProcessRef, read_stat, split_stat

PF_KTHREAD = 0x00200000     # include/linux/sched.h


def _field(index, doc):
    return property(lambda self: self[index], doc=doc)


class Proc(tuple):
    """One process's stat fields. Immutable, hashable and compared by value (what a frozen
    dataclass gave, without importing dataclasses and inspect on every start)."""
    __slots__ = ()
    _fields = ("pid", "ppid", "pgid", "sid", "tty_nr", "starttime", "state", "comm", "flags")

    def __new__(cls, pid: int, ppid: int, pgid: int, sid: int, tty_nr: int, starttime: int,
                state: str, comm: str, flags: int):
        return tuple.__new__(cls, (pid, ppid, pgid, sid, tty_nr, starttime, state, comm, flags))

    def __getnewargs__(self):
        return tuple(self)

    def __eq__(self, other):
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self):
        return "Proc(%s)" % ", ".join("%s=%r" % item for item in zip(self._fields, self))

    pid = _field(0, "process id")
    ppid = _field(1, "parent pid")
    pgid = _field(2, "0 inside a PID namespace when the group leader lives outside it")
    sid = _field(3, "likewise 0 when the session leader lives outside the namespace")
    tty_nr = _field(4, "controlling terminal device, 0 if none")
    starttime = _field(5, "field 22 of /proc/PID/stat, clock ticks since boot")
    state = _field(6, "R, S, D, Z, T, ...")
    comm = _field(7, "command name")
    flags = _field(8, "PF_* flags")

    @property
    def ref(self) -> ProcessRef:
        return ProcessRef(self.pid, self.starttime)

    @property
    def is_zombie(self) -> bool:
        return self.state in ("Z", "X")

    @property
    def is_kernel_thread(self) -> bool:
        # The flag alone: "pid 2 or child of pid 2" only holds in the initial PID namespace; in a
        # box or container pid 2 is an ordinary process (often the shim itself).
        return bool(self.flags & PF_KTHREAD)


def parse_stat(pid: int, raw: bytes) -> Optional[Proc]:
    try:
        comm, f = split_stat(raw)
        return Proc(pid=pid, ppid=int(f[1]), pgid=int(f[2]), sid=int(f[3]), tty_nr=int(f[4]),
                    starttime=int(f[19]), state=f[0].decode("ascii", "replace"),
                    comm=comm.decode("utf-8", "surrogateescape"), flags=int(f[6]))
    except (ValueError, IndexError):
        return None


class Snapshot:
    """Processes as of one pass over /proc. Reads /proc/PID/stat only (cheap with 10,000 processes);
    environ and cmdline are read lazily, for the few processes that need them, and cached."""

    def __init__(self, proc_root: str, procs: Dict[int, Proc]):
        self.proc_root = proc_root
        self.procs = procs
        self._children: Optional[Dict[int, List[Proc]]] = None
        self._environ: Dict[int, Dict[str, str]] = {}
        self._raw_environ: Dict[int, bytes] = {}
        self._cmdline: Dict[int, List[str]] = {}

    @classmethod
    def take(cls, proc_root: str = "/proc") -> "Snapshot":
        procs = {}
        for name in os.listdir(proc_root):
            if not name.isdigit():
                continue
            pid = int(name)
            raw = read_stat(pid, proc_root)
            if raw is None:
                continue        # exited since listdir
            proc = parse_stat(pid, raw)
            if proc is not None:
                procs[pid] = proc
        return cls(proc_root, procs)

    def get(self, pid: int) -> Optional[Proc]:
        return self.procs.get(pid)

    def children(self, pid: int) -> List[Proc]:
        if self._children is None:
            children: Dict[int, List[Proc]] = {}
            for proc in self.procs.values():
                children.setdefault(proc.ppid, []).append(proc)
            self._children = children
        return self._children.get(pid, [])

    def descendants(self, roots: Iterable[int]) -> Set[int]:
        """Every process below the roots (not the roots themselves)."""
        found: Set[int] = set()
        stack = list(roots)
        while stack:
            for child in self.children(stack.pop()):
                if child.pid not in found:
                    found.add(child.pid)
                    stack.append(child.pid)
        return found

    def _still_same(self, pid: int) -> bool:
        """After reading a file of /proc/PID, make sure PID was not reused in between."""
        proc = self.procs.get(pid)
        return proc is not None and ProcessRef(pid, proc.starttime).alive(self.proc_root)

    def _read_environ(self, pid: int) -> bytes:
        if pid not in self._raw_environ:
            chunks = []
            try:
                fd = os.open(f"{self.proc_root}/{pid}/environ", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    while True:
                        chunk = os.read(fd, 65536)
                        if not chunk:
                            break
                        chunks.append(chunk)
                finally:
                    os.close(fd)
            except OSError:
                chunks = []
            self._raw_environ[pid] = b"".join(chunks)
        return self._raw_environ[pid]

    def environ(self, pid: int) -> Dict[str, str]:
        """The environment at exec time; {} if unreadable, gone, or the pid now names another process."""
        if pid not in self._environ:
            env: Dict[str, str] = {}
            data = self._read_environ(pid)
            if data and self._still_same(pid):
                for item in data.split(b"\0"):
                    key, sep, value = item.partition(b"=")
                    if sep:
                        env[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
            self._environ[pid] = env
        return self._environ[pid]

    def environ_has(self, pid: int, key: str, value: str) -> bool:
        """environ(pid).get(key) == value, cheaply: a byte search first, and the parse plus the
        identity re-check only on a hit (the membership scan asks this of every orphan of init)."""
        needle = f"{key}={value}".encode("utf-8", "surrogateescape")
        data = self._read_environ(pid)
        if not (data.startswith(needle + b"\0") or b"\0" + needle + b"\0" in data
                or data == needle or data.endswith(b"\0" + needle)):
            return False
        return self.environ(pid).get(key) == value

    def cmdline(self, pid: int) -> List[str]:
        """argv as the process shows it now; [] for kernel threads, zombies and vanished processes."""
        if pid not in self._cmdline:
            args: List[str] = []
            proc = self.procs.get(pid)
            if proc is not None and not proc.is_zombie and not proc.is_kernel_thread:
                try:
                    with open(f"{self.proc_root}/{pid}/cmdline", "rb") as handle:
                        data = handle.read()
                except OSError:
                    data = b""
                if data and self._still_same(pid):
                    args = [arg.decode("utf-8", "surrogateescape") for arg in data.rstrip(b"\0").split(b"\0")]
            self._cmdline[pid] = args
        return self._cmdline[pid]


def boot_time() -> float:
    """Boot, in seconds since the epoch, to well under a clock tick.

    /proc/PID/stat counts a process's start in ticks of CLOCK_BOOTTIME, so the wall-clock start is
    CLOCK_REALTIME - CLOCK_BOOTTIME (read now) plus that. /proc/stat's `btime` is the same
    difference truncated to whole seconds: through it, a process started up to a second after a
    pidfile was written could pass for the one that wrote it (a reused PID adopted as a daemon).
    """
    return time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)


def start_epoch(starttime: int) -> float:
    """Wall-clock seconds since the epoch at which a process with this start time started
    (rounded down to its clock tick, as the kernel reports it)."""
    return boot_time() + starttime / CLOCK_TICKS


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
