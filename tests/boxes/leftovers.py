"""Checks that boxes left nothing behind on the host, and did not change it:
no process, mount, cgroup directory or network link of ours, and every host mount
and network interface in the state it had before (a box once took the host's
interface down; a shared superblock remounted read-only would be as bad)."""
import os
from pathlib import Path

from . import cgroups
from .cachedir import work_base

IFF_UP = 0x1


def _box_cgroup_prefix(tag):
    base = "/" + str(cgroups.base_dir().relative_to(cgroups.cgroup2_mount()))
    return f"{base}/{tag}-" if tag else base


def processes(session=None):
    """Host processes rooted in a box tree or sitting in a box cgroup: of one
    session (its directory and its "<tag>-" cgroups), or of all sessions."""
    work = str(session.path if session else work_base())
    prefix = _box_cgroup_prefix(session.tag if session else None)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            root = os.readlink(f"/proc/{entry}/root")
            cgroup = Path(f"/proc/{entry}/cgroup").read_text()
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        in_box_cgroup = any(line.startswith("0::" + prefix) for line in cgroup.splitlines())
        if root.startswith(work) or in_box_cgroup:
            found.append(f"process {entry} ({comm}) root={root}")
    return found


def mounts(session=None):
    work = str(session.path if session else work_base())
    with open("/proc/self/mountinfo") as mountinfo:
        return [f"mount {line.split()[4]}" for line in mountinfo
                if line.split()[4].startswith(work)]


def cgroup_dirs(session=None):
    base = cgroups.base_dir()
    if not base.exists():
        return []
    pattern = f"{session.tag}-*" if session else "*"
    return [f"cgroup {p}" for p in base.glob(pattern) if p.is_dir()]


def find(session=None):
    """Everything left behind by `session`, or by any box session on this host."""
    return processes(session) + mounts(session) + cgroup_dirs(session)


def host_snapshot():
    """What a misbehaving box could change on the host: superblock ro/rw of every
    mount, and which network interfaces are up."""
    state = {}
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            left, right = line.split(" - ", 1)
            fstype, _, super_opts = right.split()[:3]
            state[f"mount {left.split()[4]} ({fstype})"] = super_opts.split(",")[0]
    for link in Path("/sys/class/net").iterdir():
        try:
            flags = int((link / "flags").read_text(), 16)
        except OSError:
            continue
        state[f"link {link.name}"] = "up" if flags & IFF_UP else "down"
    return state


def host_changes(before, after):
    """Host state that a box changed: a mount that turned read-only, a network
    link that went down. (Mounts and links that others added or removed meanwhile
    are not our business.)"""
    return [f"{key}: {value} -> {after[key]}"
            for key, value in before.items() if key in after and after[key] != value]
