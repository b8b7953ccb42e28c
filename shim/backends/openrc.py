"""OpenRC services (`#!/sbin/openrc-run` scripts), OpenRC's state directory, and runlevels."""

import os

from shim.backends.sysv import RcLinks, RcToolError
from shim.units import Unit
from shim.backends.lsb import regex

RC_SVCDIR = "/run/openrc"
# OpenRC's state directories, in the order rc_service_state() looks at them.
STATES = ("started", "starting", "stopping", "inactive", "failed", "wasinactive", "hotplugged",
          "scheduled")
# Marks on which openrc-run's start does nothing ("has already been started", "has already
# started, but is inactive") and exits 0.
MARKS_THAT_BLOCK_START = ("started", "inactive")
# Compiled on first use (lsb.regex): only an OpenRC script's parse needs them, and `re` (with enum)
# costs more than a third of Python's own start-up for every other command.
_ASSIGN = r"""^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s;#]*))"""
_VAR = r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
_RELOAD_FUNCTION = r"(?m)^\s*reload\s*\(\)"


def machine_uses_openrc(ctx) -> bool:
    return os.path.isdir(ctx.path("/etc/runlevels"))


def booted(ctx) -> bool:
    """OpenRC refuses to run services unless it booted (or someone touched softlevel)."""
    return os.path.exists(ctx.path(RC_SVCDIR + "/softlevel"))


def openrc_run_binary(ctx):
    for candidate in ("/sbin/openrc-run", "/usr/sbin/openrc-run", "/usr/bin/openrc-run"):
        if os.access(ctx.path(candidate), os.X_OK):
            return ctx.path(candidate)
    return None


def ensure_softlevel(ctx) -> bool:
    """Make OpenRC services startable where OpenRC did not boot (a container).

    This is what OpenRC's own error message tells the user to do. Returns True if we created it,
    so the caller can say so once.
    """
    path = ctx.path(RC_SVCDIR + "/softlevel")
    if os.path.exists(path):
        return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass
    return True


def _expand(value: str, variables: dict) -> str:
    def substitute(match):
        name = match.group(1) or match.group(3)
        if name in variables and variables[name] != "":
            return variables[name]
        return (match.group(2) or "").strip("\"'")
    return regex(_VAR).sub(substitute, value)


def _assignments(text: str, variables: dict) -> dict:
    """Top-level `name=value` lines of a shell file, expanded with what is known so far.

    Best effort, on purpose: sourcing the script would run its top-level code as root.
    """
    depth = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("{") or stripped.endswith("()"):
            depth += 1
        if stripped.startswith("}"):
            depth = max(0, depth - 1)
            continue
        if depth:
            continue
        match = regex(_ASSIGN).match(line)
        if match:
            raw = next(g for g in match.groups()[1:] if g is not None)
            variables[match.group(1)] = _expand(raw, variables)
    return variables


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(256 * 1024).decode("utf-8", errors="replace")
    except OSError:
        return ""


def unit_from_script(ctx, name: str, path: str, source: str, text: str) -> Unit:
    variables = {"RC_SVCNAME": name, "SVCNAME": name}
    # conf.d first for `${VAR:-default}` in the script, then the script, then conf.d again:
    # openrc-run.sh sources conf.d before the script, but conf.d usually overrides plain values.
    confd = _read(ctx.path("/etc/conf.d/" + name))
    _assignments(confd, variables)
    _assignments(text, variables)
    _assignments(confd, variables)
    pidfiles = []
    if variables.get("pidfile", "").startswith("/"):
        pidfiles.append(variables["pidfile"])
    pidfiles.extend(("/run/%s.pid" % name, "/var/run/%s.pid" % name))
    commands = " ".join(variables.get(k, "") for k in ("extra_commands", "extra_started_commands"))
    description = variables.get("description", "")
    unit_id = name + ".service"
    return Unit(
        id=unit_id, backend="openrc", script=path, source_path=source, names=(unit_id,),
        description=description or unit_id,
        pidfile=pidfiles[0] if variables.get("pidfile") else "",
        pidfiles=tuple(dict.fromkeys(pidfiles)),
        can_reload="reload" in commands.split() or bool(regex(_RELOAD_FUNCTION).search(text)),
        extra={"command": variables.get("command", ""),
               "supervisor": variables.get("supervisor", "")},
    )


def service_state(ctx, name: str):
    """OpenRC's own word for the service ('started', 'stopping', ...) or None if it has none."""
    base = ctx.path(RC_SVCDIR)
    if not os.path.isdir(base):
        return None                     # no OpenRC here: one stat, not one per state
    for state in STATES:
        if os.path.lexists(os.path.join(base, state, name)):
            return state
    return None


def zap(ctx, runner: list, script: str) -> None:
    """Reset OpenRC's mark of a service to stopped (`openrc-run SCRIPT zap`): for a service whose
    processes are gone although OpenRC still marks it started. Nothing to do for a script that
    is not run through openrc-run (no OpenRC mark to reset)."""
    if not runner or runner[0] == script:
        return
    import subprocess  # lazily: only start needs it (start-up time)
    try:
        subprocess.run(runner + ["zap"], env=ctx.script_env(), cwd="/", stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError):
        pass                                    # the start that follows reports what happens


def recorded_pidfiles(ctx, name: str) -> list:
    """Pidfiles OpenRC recorded when it started the service (options/ and daemons/)."""
    found = []
    option = _read(ctx.path("%s/options/%s/pidfile" % (RC_SVCDIR, name))).strip()
    if option.startswith("/"):
        found.append(option)
    daemons = ctx.path("%s/daemons/%s" % (RC_SVCDIR, name))
    try:
        records = sorted(os.listdir(daemons))
    except OSError:
        records = []
    for record in records:
        for line in _read(os.path.join(daemons, record)).splitlines():
            if line.startswith("pidfile=") and line[8:].startswith("/"):
                found.append(line[8:])
    return found


def cgroup_dirs(cgroup2_mount: str, name: str) -> list:
    """Where OpenRC keeps a service's processes: openrc.<svc> (0.5x+) or <svc> (Debian 0.45)."""
    if not cgroup2_mount:
        return []
    dirs = []
    for candidate in ("openrc." + name, name):
        path = os.path.join(cgroup2_mount, candidate)
        if os.path.isfile(os.path.join(path, "cgroup.procs")):
            dirs.append(path)
    return dirs


class Runlevels:
    """Enablement through /etc/runlevels/<level>/<svc>, changed with rc-update."""

    kind = "openrc"

    def __init__(self, ctx):
        self.ctx = ctx

    def default_target(self) -> str:
        return "multi-user.target"

    def _levels(self, name: str) -> list:
        base = self.ctx.path("/etc/runlevels")
        try:
            levels = sorted(os.listdir(base))
        except OSError:
            return []
        return [lvl for lvl in levels if os.path.lexists(os.path.join(base, lvl, name))]

    def started_in(self, unit: Unit) -> tuple:
        """OpenRC's default runlevel stands for multi-user.target (as runlevels 2-4 do)."""
        return ("2",) if "default" in self._levels(unit.name) else ()

    def is_enabled(self, unit: Unit) -> str:
        levels = [lvl for lvl in self._levels(unit.name) if lvl not in ("shutdown", "off")]
        return "enabled" if levels else "disabled"

    def _debian_lsb(self, unit: Unit):
        """Debian's OpenRC: for an LSB script, update-rc.d changes both the runlevel entry (it
        calls rc-update) and the /etc/rcN.d links that invoke-rc.d's policy reads, so that a
        disabled service stays down when a package upgrade restarts it."""
        if unit.backend != "sysv" or self.ctx.foreign_root:
            return None
        links = RcLinks(self.ctx)
        return links if links._update_rc_d() else None

    def enable(self, unit: Unit):
        debian = self._debian_lsb(unit)
        if debian is not None:
            return debian.enable(unit)
        if self._levels(unit.name):
            return []
        tool = self._rc_update()
        if tool:
            self._run([tool, "add", unit.name, "default"])
            return []
        directory = self.ctx.path("/etc/runlevels/default")
        os.makedirs(directory, exist_ok=True)
        link = os.path.join(directory, unit.name)
        os.symlink(unit.source_path, link)
        return [("created", link, unit.source_path)]

    def disable(self, unit: Unit):
        debian = self._debian_lsb(unit)
        if debian is not None:
            changes = debian.disable(unit)
            if not self._levels(unit.name):
                return changes
            # update-rc.d only removes levels it maps to; remove what is left the OpenRC way
        changes = []
        tool = self._rc_update()
        for level in self._levels(unit.name):
            if tool:
                self._run([tool, "del", unit.name, level])
            else:
                link = os.path.join(self.ctx.path("/etc/runlevels"), level, unit.name)
                os.unlink(link)
                changes.append(("removed", link, None))
        return changes

    def _rc_update(self):
        if self.ctx.foreign_root:
            return None
        import shutil  # lazily: only mutating verbs need it (start-up time)
        return shutil.which("rc-update", path="/sbin:/usr/sbin:/bin:/usr/bin")

    def _run(self, argv):
        if not self.ctx.options.quiet:
            self.ctx.warn("Executing: " + " ".join(argv))
        import subprocess
        done = subprocess.run(argv, env=self.ctx.script_env(), cwd="/", stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        if done.returncode != 0:
            raise RcToolError(done.stdout.strip() or " ".join(argv) + " failed")
