"""The three box flavours: how each rootfs is built and how its init is driven."""
from dataclasses import dataclass
from pathlib import Path

RECIPES = Path(__file__).resolve().parent / "recipes"


@dataclass(frozen=True)
class Flavour:
    name: str
    # Recipe files whose content defines the rootfs; their hash is the cache key.
    recipe_files: tuple
    # Flavours whose rootfs this one is built from (their keys feed into ours).
    based_on: tuple
    # What is mounted at /sys/fs/cgroup inside the box: "unified" (cgroup2) or "tmpfs".
    cgroup_mount: str
    # Asks the box's init for an orderly shutdown (run inside the box).
    halt_command: tuple
    # Daemons as the tests know them: init script name of cron and ssh (None = absent).
    cron: str
    ssh: object


FLAVOURS = {
    "sysv": Flavour(
        name="sysv",
        recipe_files=("debian.sh", "provision-debian.sh"),
        based_on=(),
        cgroup_mount="tmpfs",
        halt_command=("telinit", "0"),
        cron="cron",
        ssh="ssh",
    ),
    "openrc": Flavour(
        name="openrc",
        recipe_files=("debian.sh", "provision-debian.sh", "provision-openrc.sh"),
        based_on=(),
        cgroup_mount="unified",
        halt_command=("telinit", "0"),
        cron="cron",
        ssh="ssh",
    ),
    "alpine": Flavour(
        name="alpine",
        recipe_files=("alpine.sh", "alpine-configure.sh", "graft-python.sh"),
        # The glibc python3 grafted into Alpine comes from the sysv rootfs.
        based_on=("sysv",),
        cgroup_mount="unified",
        halt_command=("poweroff",),
        cron="crond",
        ssh=None,
    ),
}


def get(name):
    try:
        return FLAVOURS[name]
    except KeyError:
        raise SystemExit(f"unknown box flavour {name!r} (known: {', '.join(FLAVOURS)})") from None
