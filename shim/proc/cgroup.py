"""cgroup v2, where the kernel lets us: the exact answer to "which processes belong to a unit"."""
from __future__ import annotations

import os
import time
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def cgroup2_mounts(proc_root: str = "/proc") -> List[str]:
    """Mount points of cgroup2 file systems that show the hierarchy from its root."""
    mounts = []
    try:
        with open(f"{proc_root}/self/mountinfo") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and tail and tail[0] == "cgroup2" and fields[3] == "/":
            mounts.append(_unescape(fields[4]))
    return mounts


def writable_cgroup2(proc_root: str = "/proc") -> Optional[str]:
    """The first cgroup2 mount in which we can really create a directory (tested with mkdir)."""
    for mount in cgroup2_mounts(proc_root):
        probe = os.path.join(mount, f".shim-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
        except OSError:
            continue
        try:
            os.rmdir(probe)
        except OSError:
            pass
        return mount
    return None


def create(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        return os.path.exists(os.path.join(path, "cgroup.procs"))
    except OSError:
        return False


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _write(path: str, text: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write(text)
        return True
    except OSError:
        return False


def procs(path: str) -> List[int]:
    """Every pid in the cgroup and all its sub-cgroups (systemd's cg_kill_recursive walks them too)."""
    pids: List[int] = []
    for directory, _, _ in os.walk(path):
        text = _read(os.path.join(directory, "cgroup.procs"))
        if text:
            pids.extend(int(line) for line in text.split() if line.isdigit())
    return pids


def _events(path: str) -> dict:
    text = _read(os.path.join(path, "cgroup.events")) or ""
    return dict(line.split(None, 1) for line in text.splitlines() if " " in line)


def populated(path: str) -> bool:
    return _events(path).get("populated", "0").strip() == "1"


def freeze(path: str, frozen: bool, timeout: float = 2.0) -> bool:
    """Write cgroup.freeze and wait until cgroup.events says the whole subtree is (un)frozen.
    Tasks forked into a frozen cgroup start frozen, so a frozen cgroup cannot grow."""
    want = "1" if frozen else "0"
    if not _write(os.path.join(path, "cgroup.freeze"), want):
        return False
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        if _events(path).get("frozen", "").strip() == want:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def kill(path: str) -> bool:
    """SIGKILL the whole subtree at once through cgroup.kill (kernel 5.14+); False if unsupported."""
    return _write(os.path.join(path, "cgroup.kill"), "1")


def remove(path: str) -> None:
    """rmdir the cgroup, children first; leaves populated ones alone; quiet if already gone."""
    if not os.path.isdir(path):
        return
    for directory, _, _ in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
        try:
            os.rmdir(directory)
        except OSError:
            pass


def cgroup_of(pid: int, proc_root: str = "/proc") -> Optional[str]:
    """The cgroup2 path of a process (the "0::/path" line of /proc/PID/cgroup), relative to the
    hierarchy root; None if the process is gone or has no cgroup2 membership line."""
    text = _read(f"{proc_root}/{pid}/cgroup")
    for line in (text or "").splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None
