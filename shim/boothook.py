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


# --- enabling the hook: update-rc.d / rc-update on this machine, links by hand in an image --------

RUNLEVELS_DIR = "/etc/runlevels"
START_LEVELS, STOP_LEVELS = ("2", "3", "4", "5"), ("0", "1", "6")


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
    if init_kind(root) == "openrc":
        rc_update = _tool(root, "rc-update")
        if rc_update and _quiet([rc_update, "add", HOOK_NAME, "default"]) == 0:
            _quiet([rc_update, "-u"])
            _mark_started(root)
            return "rc-update add %s default" % HOOK_NAME
        link = _rooted(root, "%s/default/%s" % (RUNLEVELS_DIR, HOOK_NAME))
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(HOOK_SCRIPT, link)
        _drop_deptree_cache(root)
        return "linked from %s/default" % RUNLEVELS_DIR
    update_rc_d = _tool(root, "update-rc.d")
    if update_rc_d and _quiet([update_rc_d, HOOK_NAME, "defaults"]) == 0:
        return "update-rc.d %s defaults" % HOOK_NAME
    _link_by_hand(root)
    return "S99 links in rc2-5.d, K01 in rc0.d, rc1.d, rc6.d"


# OpenRC's saved dependency tree (Alpine's savecache writes /var/cache/rc, Debian's /lib/rc/cache).
# It is trusted at boot unless /etc/init.d is newer, by whole seconds: a hook written in the
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


def _link_by_hand(root: str) -> None:
    """What update-rc.d would make, for an image: links, and insserv's makefiles when the image
    boots with makefile-style concurrency (startpar runs only what .depend.* names)."""
    for levels, prefix in ((START_LEVELS, "S99"), (STOP_LEVELS, "K01")):
        for level in levels:
            directory = _rooted(root, "/etc/rc%s.d" % level)
            os.makedirs(directory, exist_ok=True)
            link = os.path.join(directory, prefix + HOOK_NAME)
            if not os.path.lexists(link):
                os.symlink("../init.d/" + HOOK_NAME, link)
    _depend_edit(root, add=True)


def _started_scripts(root: str) -> set:
    names = set()
    for level in START_LEVELS:
        try:
            entries = os.listdir(_rooted(root, "/etc/rc%s.d" % level))
        except OSError:
            continue
        names.update(e[3:] for e in entries if e.startswith("S") and e[1:3].isdigit())
    return names


def _depend_edit(root: str, add: bool) -> None:
    """Add the hook to (or drop it from) /etc/init.d/.depend.start and .depend.stop: it starts
    after every script of runlevels 2-5, and every script stops after it."""
    started = _started_scripts(root)
    for kind in ("start", "stop"):
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
                targets = [t for t in line.split("=", 1)[1].split() if t != HOOK_NAME]
            elif colon and not line.startswith("INTERACTIVE") and key != HOOK_NAME:
                deps[key] = [d for d in value.split() if d != HOOK_NAME]
            elif not colon and not line.startswith("TARGETS"):
                others.append(line)
        if add:
            if kind == "start":
                deps[HOOK_NAME] = [t for t in targets if t in started]
            else:
                for target in targets:
                    deps.setdefault(target, []).append(HOOK_NAME)
            targets.append(HOOK_NAME)
        text = ["TARGETS = " + " ".join(targets)] + others + \
            ["%s: %s" % (key, " ".join(value)) for key, value in deps.items() if value]
        with open(path, "w") as handle:
            handle.write("\n".join(text) + "\n")


def disable_hook(root: str) -> None:
    """Undo enable_hook(), whichever way it was done."""
    if init_kind(root) == "openrc":
        rc_update = _tool(root, "rc-update")
        if rc_update:
            _quiet([rc_update, "-a", "del", HOOK_NAME])
            rc_service = _tool(root, "rc-service")
            if rc_service and os.path.exists("/run/openrc/softlevel"):
                _quiet([rc_service, HOOK_NAME, "zap"])        # stopped, without stopping units
    else:
        update_rc_d = _tool(root, "update-rc.d")
        if update_rc_d:
            _quiet([update_rc_d, "-f", HOOK_NAME, "remove"])
    for pattern_dir in [_rooted(root, "/etc/rc%s.d" % level) for level in "0123456S"] + \
            [os.path.join(_rooted(root, RUNLEVELS_DIR), level) for level in
             _listdir(_rooted(root, RUNLEVELS_DIR))]:
        for entry in _listdir(pattern_dir):
            if entry == HOOK_NAME or (entry[:1] in "SK" and entry[1:3].isdigit() and
                                      entry[3:] == HOOK_NAME):
                path = os.path.join(pattern_dir, entry)
                if os.path.islink(path):
                    os.unlink(path)
    _depend_edit(root, add=False)


def hook_links(root: str) -> list:
    """Where the hook is enabled: rcN.d links or OpenRC runlevels (relative to /etc)."""
    found = []
    etc = _rooted(root, "/etc")
    for level in "0123456S":
        found += ["rc%s.d/%s" % (level, e) for e in _listdir(os.path.join(etc, "rc%s.d" % level))
                  if e[:1] in "SK" and e[1:3].isdigit() and e[3:] == HOOK_NAME]
    for level in _listdir(os.path.join(etc, "runlevels")):
        if os.path.lexists(os.path.join(etc, "runlevels", level, HOOK_NAME)):
            found.append("runlevels/%s/%s" % (level, HOOK_NAME))
    return found


def _listdir(path: str) -> list:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []
