"""The boot hook's files: its init script (LSB for sysvinit, openrc-run for OpenRC), and making
init run it at boot and shutdown (update-rc.d / rc-update on this machine, links by hand in an
image being built with --root). What the script runs is shim/boot.py; `systemctl-shim install`
(shim/admin.py) writes it.
"""

import os
import shlex
import subprocess
import sys

from shim.boot import HOOK_NAME

# --- the hook's files (written by `systemctl-shim install`, see shim/admin.py) ---------------------

HOOK_SCRIPT = "/etc/init.d/" + HOOK_NAME
# Written on a live OpenRC machine by `systemctl-shim install`: the next start only marks the
# service started (so that OpenRC runs its stop at shutdown) without starting any unit now.
MARK_ONLY = "/run/%s.mark-only" % HOOK_NAME
_RUN = """PYTHON=%(python)s
BOOT='import sys; sys.path.insert(0, "%(package)s"); from shim.boot import main; sys.exit(main())'
"""
# Late at boot, early at shutdown: after the file systems, the network and the logger (scripts
# init starts), and stopped before them ($remote_fs also orders us before sendsigs; halt and
# reboot because a trimmed machine may leave them with no dependency at all, and startpar would
# then halt while the units still stop). No init-functions: Debian's LSB redirect hook must not
# hand this script to systemctl.
LSB_TEXT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          %(name)s
# Required-Start:    $remote_fs $syslog $network $time
# Required-Stop:     $remote_fs $syslog $network $time
# Should-Start:      $all
# Should-Stop:       halt reboot
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Start and stop the enabled native (unit file) services
# Description:       systemctl-shim: starts the native units the default target wants, in
#                    dependency order, and stops the running ones at shutdown.
### END INIT INFO
%(marker)s
%(run)s
case "$1" in
  start|stop|status) exec "$PYTHON" -c "$BOOT" "$1" ;;
  restart|force-reload) "$PYTHON" -c "$BOOT" stop; exec "$PYTHON" -c "$BOOT" start ;;
  *) echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2; exit 3 ;;
esac
"""
# A unit that fails to start is a failed unit, not a failed hook: start always succeeds, or
# OpenRC would not run stop at shutdown.
OPENRC_TEXT = """#!/sbin/openrc-run
%(marker)s
description="Start and stop the enabled native (unit file) services"
%(run)s
depend() {
    after *
}

start() {
    ebegin "Starting native units"
    if [ -e %(mark_only)s ]; then
        rm -f %(mark_only)s
    elif ! "$PYTHON" -c "$BOOT" start; then
        ewarn "some native units failed to start"
    fi
    eend 0
}

stop() {
    ebegin "Stopping native units"
    "$PYTHON" -c "$BOOT" stop
    eend $?
}
"""


def hook_text(kind: str, marker: str) -> str:
    """The hook's script for "sysv" or "openrc", running this interpreter and package."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    values = {"name": HOOK_NAME, "marker": marker, "mark_only": MARK_ONLY,
              "run": _RUN % {"python": shlex.quote(sys.executable), "package": package}}
    return (OPENRC_TEXT if kind == "openrc" else LSB_TEXT) % values


# --- enabling our init scripts: update-rc.d / rc-update on this machine, by hand in an image ------

RUNLEVELS_DIR = "/etc/runlevels"


class Levels:
    """Where one of our scripts runs: SysV runlevels with link prefixes, and an OpenRC runlevel."""

    def __init__(self, start, stop, openrc, start_prefix, stop_prefix="K01"):
        self.start, self.stop, self.openrc = start, stop, openrc
        self.start_prefix, self.stop_prefix = start_prefix, stop_prefix

    def describe(self) -> str:
        text = "%s links in %s" % (self.start_prefix, ", ".join("rc%s.d" % lv for lv in self.start))
        if self.stop:
            text += ", %s in %s" % (self.stop_prefix, ", ".join("rc%s.d" % lv for lv in self.stop))
        return text


# The hook: late in runlevels 2-5 (Default-Start), first at shutdown (0, 1, 6), OpenRC's default.
HOOK_LEVELS = Levels(("2", "3", "4", "5"), ("0", "1", "6"), "default", "S99")


def _rooted(root: str, absolute: str) -> str:
    return os.path.join(root, absolute.lstrip("/")) if root not in ("", "/") else absolute


def init_kind(root: str) -> str:
    """"openrc" where OpenRC keeps runlevels (Alpine, Gentoo, Debian with openrc), else "sysv"."""
    return "openrc" if os.path.isdir(_rooted(root, RUNLEVELS_DIR)) else "sysv"


def _tool(root: str, name: str):
    """The machine's own tool, only when acting on this machine (never for an image)."""
    if root not in ("", "/"):
        return None
    for directory in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        if os.access(os.path.join(directory, name), os.X_OK):
            return os.path.join(directory, name)
    return None


def _quiet(argv) -> int:
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE).returncode


def enable_hook(root: str) -> str:
    """Make init run the hook at boot and shutdown; returns how, for the install message."""
    how = enable_script(root, HOOK_NAME, HOOK_LEVELS)
    if how.startswith("rc-update"):
        _mark_started(root)
    return how


def enable_script(root: str, name: str, levels: Levels) -> str:
    """Enable /etc/init.d/<name> (ours, already written) the machine's way; returns how."""
    if init_kind(root) == "openrc":
        rc_update = _tool(root, "rc-update")
        if rc_update and _quiet([rc_update, "add", name, levels.openrc]) == 0:
            _quiet([rc_update, "-u"])             # the dependency tree, now (see below)
            return "rc-update add %s %s" % (name, levels.openrc)
        link = _rooted(root, "%s/%s/%s" % (RUNLEVELS_DIR, levels.openrc, name))
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink("/etc/init.d/" + name, link)
        _drop_deptree_cache(root)
        return "linked from %s/%s" % (RUNLEVELS_DIR, levels.openrc)
    update_rc_d = _tool(root, "update-rc.d")
    if update_rc_d and _quiet([update_rc_d, name, "defaults"]) == 0:
        return "update-rc.d %s defaults" % name
    _link_by_hand(root, name, levels)
    return levels.describe()


# OpenRC's saved dependency tree (Alpine's savecache writes /var/cache/rc, Debian's /lib/rc/cache).
# It is trusted at boot unless /etc/init.d is newer, by whole seconds: a script written in the
# second the tree was saved would be left out of the boot. Dropped, it is computed afresh.
DEPTREE_CACHES = ("/var/cache/rc", "/lib/rc/cache")


def _drop_deptree_cache(root: str) -> None:
    for directory in DEPTREE_CACHES:
        for name in ("deptree", "depconfig"):
            try:
                os.unlink(_rooted(root, os.path.join(directory, name)))
            except OSError:
                pass


def _mark_started(root: str) -> None:
    """On a running OpenRC, mark the hook started (without starting any unit now): OpenRC stops
    only started services, and the units running already must be stopped at this shutdown."""
    rc_service = _tool(root, "rc-service")
    if rc_service and os.path.exists("/run/openrc/softlevel"):
        with open(MARK_ONLY, "w"):
            pass
        if _quiet([rc_service, HOOK_NAME, "start"]) != 0 and os.path.exists(MARK_ONLY):
            os.unlink(MARK_ONLY)


def _link_by_hand(root: str, name: str, levels: Levels) -> None:
    """What update-rc.d would make, for an image: links, and insserv's makefiles when the image
    boots with makefile-style concurrency (startpar runs only what .depend.* names)."""
    for level_set, prefix in ((levels.start, levels.start_prefix), (levels.stop, levels.stop_prefix)):
        for level in level_set:
            directory = _rooted(root, "/etc/rc%s.d" % level)
            os.makedirs(directory, exist_ok=True)
            link = os.path.join(directory, prefix + name)
            if not os.path.lexists(link):
                os.symlink("../init.d/" + name, link)
    _depend_edit(root, name, levels)


def _started_scripts(root: str, levels) -> set:
    names = set()
    for level in levels:
        names.update(e[3:] for e in _listdir(_rooted(root, "/etc/rc%s.d" % level))
                     if e.startswith("S") and e[1:3].isdigit())
    return names


def _depend_edit(root: str, name: str, levels=None) -> None:
    """Add `name` to (levels given) or drop it from (None) insserv's makefiles: in .depend.boot
    after mountkernfs.sh (/run is mounted), in .depend.start after every script of its runlevels,
    in .depend.stop before every other script."""
    for kind in ("boot", "start", "stop"):
        if levels is not None and not {"boot": "S" in levels.start, "stop": bool(levels.stop),
                                       "start": bool(set(levels.start) - {"S"})}[kind]:
            continue
        path = _rooted(root, "/etc/init.d/.depend." + kind)
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        targets, deps, others = [], {}, []
        for line in lines:
            key, colon, value = line.partition(":")
            if line.startswith("TARGETS ="):
                targets = [t for t in line.split("=", 1)[1].split() if t != name]
            elif colon and not line.startswith("INTERACTIVE") and key != name:
                deps[key] = [d for d in value.split() if d != name]
            elif not colon and not line.startswith("TARGETS"):
                others.append(line)
        if levels is not None:
            if kind == "boot":
                deps[name] = [t for t in targets if t == "mountkernfs.sh"]
            elif kind == "start":
                started = _started_scripts(root, set(levels.start) - {"S"})
                deps[name] = [t for t in targets if t in started]
            else:
                for target in targets:
                    deps.setdefault(target, []).append(name)
            targets.append(name)
        text = ["TARGETS = " + " ".join(targets)] + others + \
            ["%s: %s" % (key, " ".join(value)) for key, value in deps.items() if value]
        with open(path, "w") as handle:
            handle.write("\n".join(text) + "\n")


def disable_hook(root: str) -> None:
    disable_script(root, HOOK_NAME)


def disable_script(root: str, name: str) -> None:
    """Undo enable_script(), whichever way it was done."""
    if init_kind(root) == "openrc":
        rc_update = _tool(root, "rc-update")
        if rc_update:
            _quiet([rc_update, "-a", "del", name])
            rc_service = _tool(root, "rc-service")
            if rc_service and os.path.exists("/run/openrc/softlevel"):
                _quiet([rc_service, name, "zap"])        # stopped, without stopping anything
    else:
        update_rc_d = _tool(root, "update-rc.d")
        if update_rc_d:
            _quiet([update_rc_d, "-f", name, "remove"])
    runlevels = _rooted(root, RUNLEVELS_DIR)
    for directory in [_rooted(root, "/etc/rc%s.d" % level) for level in "0123456S"] + \
            [os.path.join(runlevels, level) for level in _listdir(runlevels)]:
        for entry in _listdir(directory):
            if entry == name or (entry[:1] in "SK" and entry[1:3].isdigit() and entry[3:] == name):
                path = os.path.join(directory, entry)
                if os.path.islink(path):
                    os.unlink(path)
    _depend_edit(root, name)


def script_links(root: str, name: str) -> list:
    """Where /etc/init.d/<name> is enabled: rcN.d links or OpenRC runlevels (relative to /etc)."""
    found = []
    etc = _rooted(root, "/etc")
    for level in "0123456S":
        found += ["rc%s.d/%s" % (level, e) for e in _listdir(os.path.join(etc, "rc%s.d" % level))
                  if e[:1] in "SK" and e[1:3].isdigit() and e[3:] == name]
    for level in _listdir(os.path.join(etc, "runlevels")):
        if os.path.lexists(os.path.join(etc, "runlevels", level, name)):
            found.append("runlevels/%s/%s" % (level, name))
    return found


def hook_links(root: str) -> list:
    return script_links(root, HOOK_NAME)


def _listdir(path: str) -> list:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []
