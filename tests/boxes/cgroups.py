"""The boxes' own cgroup2 directories on the host. Each box is moved into its own
directory before it unshares its cgroup namespace, so the box sees that directory
as its cgroup root and everything it creates stays below it."""
import os
from pathlib import Path

BASE_NAME = "systemctl-shim-boxes"


def cgroup2_mount():
    """The host's cgroup2 mount point (/sys/fs/cgroup on a unified host,
    /sys/fs/cgroup/unified on a hybrid one)."""
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return Path(left.split()[4])
    raise RuntimeError("no cgroup2 mounted on this host: boxes need their own cgroup")


def own_cgroup():
    with open("/proc/self/cgroup") as cgroup:
        for line in cgroup:
            if line.startswith("0::"):
                return line[3:].strip()
    return "/"


def base_dir():
    """Parent of all box cgroups: below our own cgroup, which we may write to."""
    return cgroup2_mount() / own_cgroup().lstrip("/") / BASE_NAME


def create(name):
    path = base_dir() / name
    path.mkdir(parents=True)
    return path


def member_pids(path):
    pids = []
    for procs in Path(path).rglob("cgroup.procs"):
        try:
            pids += [int(p) for p in procs.read_text().split()]
        except (FileNotFoundError, OSError):
            continue
    return pids


def kill_all(path):
    """SIGKILL every process in the box's cgroup subtree (all started by the box)."""
    kill_file = Path(path) / "cgroup.kill"
    if kill_file.exists():
        kill_file.write_text("1")


def remove_tree(path):
    """rmdir bottom-up (cgroup dirs can only be removed empty and childless)."""
    path = Path(path)
    if not path.exists():
        return
    for dirpath, _, _ in os.walk(path, topdown=False):
        os.rmdir(dirpath)
    base = base_dir()
    if base.exists() and not any(p.is_dir() for p in base.iterdir()):
        try:
            base.rmdir()
        except OSError:
            pass  # another session created a box meanwhile
