"""Build, cache and extract the rootfs tarballs of the box flavours.

A tarball is named <flavour>-<key>.tar.zst where key hashes the recipe files (and
the keys of the flavours it is built from), so editing a recipe triggers exactly
one rebuild and nothing else does."""
import fcntl
import hashlib
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from . import flavours
from .cachedir import cache_dir


def recipe_key(name):
    flavour = flavours.get(name)
    digest = hashlib.sha256(f"flavour={name}\n".encode())
    for filename in flavour.recipe_files:
        digest.update(filename.encode() + b"\0")
        digest.update((flavours.RECIPES / filename).read_bytes())
    for base in flavour.based_on:
        digest.update(f"based_on={base}:{recipe_key(base)}\n".encode())
    return digest.hexdigest()[:16]


def tarball_path(name):
    return cache_dir() / "rootfs" / f"{name}-{recipe_key(name)}.tar.zst"


@contextmanager
def _build_lock(name):
    # Two sessions building the same flavour at once would race on the output file.
    lock_path = cache_dir() / "rootfs" / f".{name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_command(name, out):
    cache = cache_dir()
    if name in ("sysv", "openrc"):
        return [str(flavours.RECIPES / "debian.sh"), name, str(out), str(cache / "debs")]
    if name == "alpine":
        return [str(flavours.RECIPES / "alpine.sh"), str(out), str(cache / "pypi"),
                str(ensure("sysv"))]
    raise AssertionError(name)


def ensure(name, log=print):
    """Return the tarball of flavour `name`, building it first if the recipe changed.
    A failed build raises: a flavour that cannot be built must fail loudly."""
    out = tarball_path(name)
    if out.exists():
        return out
    with _build_lock(name):
        if out.exists():
            return out
        log_path = cache_dir() / "logs" / f"{out.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log(f"building {name} rootfs (key {recipe_key(name)}), log: {log_path}")
        # The recipes download with pip: use ours (a venv has pip; Debian's python3
        # may not).
        env = dict(os.environ, SHIM_BOX_PYTHON=sys.executable)
        with open(log_path, "w") as log_file:
            result = subprocess.run(_build_command(name, out), stdin=subprocess.DEVNULL,
                                    stdout=log_file, stderr=subprocess.STDOUT, env=env)
        if result.returncode != 0 or not out.exists():
            tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-30:])
            raise RuntimeError(f"building the {name} rootfs failed (rc {result.returncode}); "
                               f"last lines of {log_path}:\n{tail}")
        _drop_stale(name, keep=out)
    return out


def _drop_stale(name, keep):
    """Tarballs of older recipes of this flavour are never used again."""
    for old in keep.parent.glob(f"{name}-*.tar.zst"):
        if old != keep:
            old.unlink()


def extract(tarball, dest):
    dest = Path(dest)
    dest.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls",
                    "-C", str(dest), "-I", "zstd", "-xf", str(tarball)], check=True)
    return dest
