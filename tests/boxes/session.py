"""A session: one work directory holding the extracted rootfs trees, the layer with
the project installed, and the state of every box booted from them. Closing the
session stops its boxes and deletes the directory."""
import os
import shutil
import tempfile
from pathlib import Path

from . import cgroups, flavours, procs, rootfs
from .boxlib import Box, BoxError, BoxSpec
from .cachedir import work_base


class Session:
    def __init__(self, path):
        self.path = Path(path)
        self.tag = self.path.name   # prefixes host-global names (cgroups)

    @classmethod
    def create(cls):
        return cls(tempfile.mkdtemp(prefix="s", dir=work_base()))

    @classmethod
    def named(cls, name):
        """A fixed session (the CLI's), so separate commands find the same boxes."""
        path = work_base() / name
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def rootfs(self, flavour, log=print):
        """The flavour's rootfs tree: extracted from the cached tarball on first use
        and shared by all sessions (boxes only ever use it as a read-only lower
        layer). Trees of older recipes are deleted when they are not in use."""
        tarball = rootfs.ensure(flavour, log=log)
        trees = work_base() / "rootfs"
        tree = trees / tarball.name.replace(".tar.zst", "")
        if not tree.exists():
            partial = trees / (tree.name + f".partial-{os.getpid()}")
            shutil.rmtree(partial, ignore_errors=True)
            rootfs.extract(tarball, partial)
            partial.rename(tree)
            for stale in trees.glob(f"{flavour}-*"):
                if stale != tree and ".partial-" not in stale.name:
                    shutil.rmtree(stale, ignore_errors=True)   # an older recipe's tree
        return tree

    def layer_dir(self, name):
        return self.path / "layers" / name

    def boxes_dir(self):
        return self.path / "boxes"

    def box(self, name):
        return Box(self.boxes_dir() / name)

    def boxes(self):
        if not self.boxes_dir().exists():
            return []
        return [Box(p) for p in sorted(self.boxes_dir().iterdir()) if (p / "spec.json").exists()]

    def new_box(self, name, flavour, layers=(), keep_upper=False, binds=(), command=None):
        spec_flavour = flavours.get(flavour)
        spec = BoxSpec(
            name=f"{self.tag}-{name}",
            flavour=flavour,
            lower=[str(p) for p in layers] + [str(self.rootfs(flavour))],
            keep_upper=keep_upper,
            binds=[list(b) for b in binds],
            hostname=f"{flavour}box",
            cgroup_mount=spec_flavour.cgroup_mount,
            halt_command=list(spec_flavour.halt_command),
        )
        if command:
            spec.command = list(command)
        state = self.boxes_dir() / name
        if state.exists():
            old = Box(state)
            if old.running:
                # Two owners of one box would each think they control it.
                raise BoxError(f"box {name} is already running in session {self.path}")
            old.destroy()
        return Box.create(state, spec)

    def close(self):
        """Destroy every box; then, whatever their state files say, kill anything
        left in this session's cgroups (only our boxes' processes are there)."""
        errors = []
        for box in self.boxes():
            try:
                box.destroy()
            except Exception as error:  # keep cleaning up; report the first error
                errors.append(error)
        if cgroups.base_dir().exists():
            for cgroup in cgroups.base_dir().glob(f"{self.tag}-*"):
                cgroups.kill_all(cgroup)
                procs.wait_until(lambda: not cgroups.member_pids(cgroup), 5)
                cgroups.remove_tree(cgroup)
        shutil.rmtree(self.path, ignore_errors=True)
        if errors:
            raise errors[0]


def sessions():
    base = work_base()
    return [Session(p) for p in sorted(base.iterdir()) if p.is_dir()] if base.exists() else []
