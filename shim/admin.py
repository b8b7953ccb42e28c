"""systemctl-shim: put the shim where tools look for systemctl, and take it away again.

Usage:
  systemctl-shim install [--look-like-systemd] [--root=PATH]
  systemctl-shim uninstall [--root=PATH]
  systemctl-shim status [--root=PATH]
  systemctl-shim (-h | --help)

Commands:
  install      Write /usr/bin/systemctl (and /bin/systemctl where /bin is a separate
               directory) as a small launcher of this shim, and the boot hook
               /etc/init.d/systemctl-shim-units (an LSB script on sysvinit, an OpenRC
               service on OpenRC; enabled with update-rc.d or rc-update) that starts the
               enabled native units (unit files) at boot and stops them at shutdown.
               Refuses to replace a systemctl or hook that is not ours, such as systemd's.
  uninstall    Remove the launchers and the boot hook we wrote (only ours) and the systemd
               look-alike marker. Running units keep running.
  status       Say what is installed where.

Options:
  --look-like-systemd  Also create /run/systemd/system (now, and at every boot through the
                       `systemctl-shim-canary` init script), so that Ansible's service module,
                       testinfra, Debian's service/invoke-rc.d/deb-systemd-invoke route through
                       systemctl. It also makes sd_booted() true and turns on Debian's LSB
                       redirect hook (the shim runs scripts with SYSTEMCTL_SKIP_REDIRECT=1, so
                       that cannot loop). Undo with `systemctl-shim uninstall`.
  --root=PATH          Operate on the tree below PATH (for images being built): files and
                       links are written by hand, nothing is run.
  -h --help            Show this help.
"""

import os
import sys

from shim import boothook

MARKER = "# systemctl-shim launcher: remove with `systemctl-shim uninstall`"
TARGETS = ("/usr/bin/systemctl", "/bin/systemctl")
CANARY_DIR = "/run/systemd/system"
# Runs before Debian's 40-systemd LSB hook (run-parts order). Under sysvinit, init's rc runs
# scripts with PPID != 1, and openrc-run drops SYSTEMCTL_SKIP_REDIRECT from the environment:
# without this, the hook would hand every script that init or OpenRC runs to systemctl (the
# shim), which cannot run rc's own machinery (halt, sendsigs, ...) and, for openrc-run, would
# wait on the lock its own caller holds. Scripts run by init's rc or by OpenRC are not redirected;
# scripts a person or a tool runs by hand still are, as on systemd.
LSB_HOOK = "/lib/lsb/init-functions.d/39-systemctl-shim"
LSB_HOOK_TEXT = """%s
case "$(cat /proc/$PPID/comm 2>/dev/null)" in
    rc|startpar|openrc|openrc-run|openrc-run.sh|openrc-init) export SYSTEMCTL_SKIP_REDIRECT=1 ;;
esac
"""
CANARY_SCRIPT = "/etc/init.d/systemctl-shim-canary"
CANARY_TEXT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          systemctl-shim-canary
# Required-Start:
# Required-Stop:
# Should-Start:      mountkernfs
# Default-Start:     S
# Default-Stop:
# Short-Description: Make this machine look systemd-managed to systemctl clients
# Description:       Creates /run/systemd/system at boot, so that Ansible, testinfra and
#                    Debian's service helpers use systemctl (systemctl-shim) for services.
### END INIT INFO
%s
case "$1" in
  start|restart|force-reload) mkdir -p %s ;;
  stop|status) ;;
  *) echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2; exit 3 ;;
esac
exit 0
""" % (MARKER, CANARY_DIR)
# Alpine's OpenRC runs openrc-run scripts only (Debian's would run the LSB one as well).
CANARY_OPENRC_TEXT = """#!/sbin/openrc-run
%s
description="Make this machine look systemd-managed to systemctl clients"

start() {
    mkdir -p %s
}
""" % (MARKER, CANARY_DIR)
# Early in the boot: rcS (after /run is mounted), OpenRC's sysinit runlevel.
CANARY_LEVELS = boothook.Levels(("S",), (), "sysinit", "S01")
LSB_HOOK_TEXT = LSB_HOOK_TEXT % MARKER


def _path(root, absolute):
    return os.path.join(root, absolute.lstrip("/")) if root not in ("", "/") else absolute


def _ours(path) -> bool:
    try:
        with open(path, "rb") as handle:
            return MARKER.encode() in handle.read(4096)
    except OSError:
        return False


def _launcher() -> str:
    """A tiny script, never a copy of the package: the interpreter and package of this install."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return ("#!%s\n%s\nimport sys\nsys.path.insert(0, %r)\nfrom shim.cli import main\n"
            "sys.exit(main())\n" % (sys.executable, MARKER, package_parent))


def _targets(root):
    """/usr/bin/systemctl, plus /bin/systemctl unless /bin is the same directory (usr-merge)."""
    chosen, seen = [], set()
    for target in TARGETS:
        path = _path(root, target)
        directory = os.path.realpath(os.path.dirname(path))
        if directory in seen or not os.path.isdir(directory):
            continue
        seen.add(directory)
        chosen.append(path)
    return chosen


def _hook_path(root):
    """The boot hook's script, where this machine (or image) has init scripts; else None."""
    return _path(root, boothook.HOOK_SCRIPT) if os.path.isdir(_path(root, "/etc/init.d")) else None


def install(root, look_like_systemd) -> int:
    targets = _targets(root)
    for path in targets:
        if os.path.lexists(path) and not _ours(path):
            sys.stderr.write("systemctl-shim: %s exists and is not ours (systemd's systemctl?); "
                             "refusing to replace it.\n" % path)
            return 1
    hook = _hook_path(root)
    if hook and os.path.lexists(hook) and not _ours(hook):
        sys.stderr.write("systemctl-shim: %s exists and is not ours; refusing to replace it.\n"
                         % hook)
        return 1
    for path in targets:
        tmp = path + ".shim-new"
        with open(tmp, "w") as handle:
            handle.write(_launcher())
        os.chmod(tmp, 0o755)
        os.rename(tmp, path)
        print("Installed %s" % path)
    if hook:
        _install_hook(root, hook)
    if look_like_systemd:
        script = _path(root, CANARY_SCRIPT)
        with open(script, "w") as handle:
            handle.write(CANARY_OPENRC_TEXT if boothook.init_kind(root) == "openrc" else CANARY_TEXT)
        os.chmod(script, 0o755)
        boothook.enable_script(root, os.path.basename(CANARY_SCRIPT), CANARY_LEVELS)
        hook = _path(root, LSB_HOOK)
        if os.path.isdir(_path(root, "/lib/lsb")):        # only where LSB init-functions exist
            os.makedirs(os.path.dirname(hook), exist_ok=True)
            with open(hook, "w") as handle:
                handle.write(LSB_HOOK_TEXT)
        os.makedirs(_path(root, CANARY_DIR), exist_ok=True)
        print("Created %s (and %s to recreate it at boot)" % (CANARY_DIR, CANARY_SCRIPT))
    return 0


def _install_hook(root, hook):
    tmp = hook + ".shim-new"
    with open(tmp, "w") as handle:
        handle.write(boothook.hook_text(boothook.init_kind(root), MARKER))
    os.chmod(tmp, 0o755)
    os.rename(tmp, hook)
    how = boothook.enable_hook(root)
    print("Installed %s (native units at boot and shutdown; %s)" % (boothook.HOOK_SCRIPT, how))


def uninstall(root) -> int:
    for path in _targets(root):
        if _ours(path):
            os.unlink(path)
            print("Removed %s" % path)
    hook = _hook_path(root)
    if hook and _ours(hook):
        boothook.disable_hook(root)
        os.unlink(hook)
        print("Removed %s" % boothook.HOOK_SCRIPT)
    if _ours(_path(root, LSB_HOOK)):
        os.unlink(_path(root, LSB_HOOK))
    script = _path(root, CANARY_SCRIPT)
    if _ours(script):
        boothook.disable_script(root, os.path.basename(CANARY_SCRIPT))
        os.unlink(script)
        canary = _path(root, CANARY_DIR)
        try:
            os.rmdir(canary)                     # only if empty: a real systemd's is not
            os.rmdir(os.path.dirname(canary))
        except OSError:
            pass
        print("Removed %s and %s" % (CANARY_SCRIPT, CANARY_DIR))
    return 0


def status(root) -> int:
    for path in _targets(root):
        state = "systemctl-shim" if _ours(path) else ("other (not ours)" if os.path.lexists(path) else "absent")
        print("%s: %s" % (path, state))
    canary = _path(root, CANARY_DIR)
    print("%s: %s" % (CANARY_DIR, "present" if os.path.isdir(canary) else "absent"))
    hook = _hook_path(root)
    if hook is not None:
        state = "systemctl-shim" if _ours(hook) else ("other (not ours)" if os.path.lexists(hook)
                                                     else "absent")
        links = boothook.hook_links(root) if _ours(hook) else []
        print("%s: %s%s" % (boothook.HOOK_SCRIPT, state,
                            (", enabled (%s)" % " ".join(links)) if links else
                            (", not enabled" if _ours(hook) else "")))
    return 0


def main(argv=None) -> int:
    from docopt import DocoptExit, docopt
    try:
        args = docopt(__doc__, sys.argv[1:] if argv is None else argv, default_help=False)
    except DocoptExit as error:
        sys.stderr.write(str(error) + "\n")
        return 1
    if args["--help"]:
        sys.stdout.write(__doc__)
        return 0
    root = args["--root"] or "/"
    if os.geteuid() != 0 and root == "/":
        sys.stderr.write("systemctl-shim: must be root to change /usr/bin.\n")
        return 4
    try:
        if args["install"]:
            return install(root, args["--look-like-systemd"])
        if args["uninstall"]:
            return uninstall(root)
        return status(root)
    except OSError as error:
        sys.stderr.write("systemctl-shim: %s: %s\n" % (error.filename or "", error.strerror))
        return 1


if __name__ == "__main__":
    sys.exit(main())
