"""SysV init scripts (Debian/Devuan `/etc/init.d` with LSB headers) and rc-link enablement."""

import os

from shim import names
from shim.backends.lsb import parse
from shim.units import Unit

ALL_RUNLEVELS = ("S", "0", "1", "2", "3", "4", "5", "6")
START_RUNLEVELS = ("S", "2", "3", "4", "5")      # the ones update-rc.d enable/disable toggle
# What was re.compile(r"^[^#:]*:([0-6Ss]):initdefault:", re.MULTILINE) and r"^([SK])(\d\d)(.+)$",
# matched by hand (_initdefault, _link): `re` (with enum) costs more than a third of Python's own
# start-up and is-enabled reads both. tests/test_cli_startup.py holds them to the expressions.
INITDEFAULT = r"^[^#:]*:([0-6Ss]):initdefault:"
LINK = r"^([SK])(\d\d)(.+)$"
_LEVELS = frozenset("0123456Ss")


def _initdefault(text: str):
    """INITDEFAULT's group 1 (searched, MULTILINE), or None."""
    pos = 0
    while True:
        colon = text.find(":", pos)
        if colon < 0:
            return None
        if text.find("#", pos, colon) < 0 and text[colon + 1:colon + 2] in _LEVELS \
                and text.startswith(":initdefault:", colon + 2):
            return text[colon + 1]
        newline = text.find("\n", pos)
        if newline < 0:
            return None
        pos = newline + 1


def _link(entry: str):
    """LINK.match(entry).group(1, 3) ('S'|'K', script name), or None."""
    if entry[:1] not in ("S", "K") or not entry[1:3].isdecimal() or len(entry[1:3]) != 2:
        return None
    name = entry[3:]
    newline = name.find("\n")
    if newline >= 0:
        if newline != len(name) - 1:
            return None
        name = name[:-1]
    return (entry[0], name) if name else None


def unit_from_script(name: str, path: str, source: str, text: str) -> Unit:
    info = parse(text)
    unit_id = name + ".service"
    aliases = []
    for word in info.provides:
        if word.startswith("$") or word == name:
            continue                       # facilities become targets, not names
        # sysv_translate_name(): unit_name_mangle() escapes what may not be in a unit name
        # (a NUL or a slash from a garbage header must not reach a path).
        alias = names.mangle(word + ".service", allow_globs=False)
        if alias not in aliases and alias != unit_id:
            aliases.append(alias)
    pidfiles = []
    if info.declared_pidfile:
        pidfiles.append(info.declared_pidfile)
    pidfiles.extend(info.pidfiles)
    for base in [name] + [a[: -len(".service")] for a in aliases]:
        pidfiles.extend(("/run/%s.pid" % base, "/var/run/%s.pid" % base))
    return Unit(
        id=unit_id, backend="sysv", script=path, source_path=source,
        names=(unit_id,) + tuple(aliases),
        description=info.best_description or unit_id,
        pidfile=_modern_run(info.declared_pidfile),
        pidfiles=tuple(dict.fromkeys(pidfiles)),
        can_reload=info.can_reload, has_lsb=info.has_lsb,
        default_start=tuple(info.default_start), default_stop=tuple(info.default_stop),
        after=tuple(info.required_start + info.should_start),
    )


def _modern_run(path: str) -> str:
    """systemd rewrites PIDFile=/var/run/x to /run/x (with a notice); so do we."""
    return "/run/" + path[len("/var/run/"):] if path.startswith("/var/run/") else path


def default_runlevel(ctx) -> str:
    try:
        with open(ctx.path("/etc/inittab")) as handle:
            level = _initdefault(handle.read())
    except OSError:
        level = None
    return level.upper() if level else "2"


def runlevel_target(level: str) -> str:
    return {"0": "poweroff.target", "1": "rescue.target", "S": "rescue.target",
            "5": "graphical.target", "6": "reboot.target"}.get(level, "multi-user.target")


class RcLinks:
    """Enablement through /etc/rcN.d links: `S??name` in the default runlevel means enabled."""

    kind = "sysv"

    def __init__(self, ctx):
        self.ctx = ctx

    def default_target(self) -> str:
        return runlevel_target(default_runlevel(self.ctx))

    def _links(self, name: str) -> dict:
        """{runlevel: [(kind 'S'|'K', link path)]} for this script."""
        found = {}
        for level in ALL_RUNLEVELS:
            directory = self.ctx.path("/etc/rc%s.d" % level)
            try:
                entries = os.listdir(directory)
            except OSError:
                continue
            for entry in entries:
                match = _link(entry)
                if match and match[1] in (name, name + ".sh"):
                    found.setdefault(level, []).append((match[0], os.path.join(directory, entry)))
        return found

    def started_in(self, unit: Unit) -> tuple:
        """Runlevels 1-5 whose rcN.d starts the script (an S link): the generator's WantedBy=."""
        links = self._links(unit.name)
        return tuple(level for level in "12345" if any(kind == "S" for kind, _ in links.get(level, ())))

    def is_enabled(self, unit: Unit) -> str:
        links = self._links(unit.name)
        for level in (default_runlevel(self.ctx), "S"):
            if any(kind == "S" for kind, _ in links.get(level, ())):
                return "enabled"
        return "disabled"

    def enable(self, unit: Unit):
        """Returns a list of (verb, path, target) changes made, for the caller's messages."""
        tool = self._update_rc_d()
        if tool:
            if not self._links(unit.name):
                self._run(tool, unit, "defaults")
            self._run(tool, unit, "enable")
            return []
        return self._enable_by_hand(unit)

    def disable(self, unit: Unit):
        tool = self._update_rc_d()
        if tool:
            if self._links(unit.name):
                self._run(tool, unit, "disable")
            return []
        return self._toggle(unit, "S", "K")

    def _update_rc_d(self):
        if self.ctx.foreign_root:
            return None                    # with --root we edit the tree ourselves
        import shutil  # lazily: only mutating verbs need it (start-up time)
        return shutil.which("update-rc.d", path="/usr/sbin:/sbin:/usr/bin:/bin")

    def _run(self, tool, unit, action):
        env = self.ctx.script_env()
        # update-rc.d calls `systemctl enable|disable` back (make_systemd_links) unless told not to.
        env["SYSTEMCTL_SKIP_SYSV"] = "1"
        env["_SKIP_SYSTEMD_NATIVE"] = "1"
        if not self.ctx.options.quiet:
            self.ctx.warn("Executing: %s %s %s" % (tool, unit.name, action))
        import subprocess
        done = subprocess.run([tool, unit.name, action], env=env, cwd="/",
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True)
        if done.returncode != 0:
            raise RcToolError(done.stdout.strip() or "%s %s failed" % (tool, action))

    def _enable_by_hand(self, unit: Unit):
        changes = self._toggle(unit, "K", "S")
        if self._links(unit.name):
            return changes
        target = "../init.d/" + os.path.basename(unit.script)
        start = unit.default_start or ("2", "3", "4", "5")
        stop = unit.default_stop or ("0", "1", "6")
        for kind, levels in (("S", start), ("K", stop)):
            for level in levels:
                directory = self.ctx.path("/etc/rc%s.d" % level.upper())
                os.makedirs(directory, exist_ok=True)
                link = os.path.join(directory, "%s01%s" % (kind, unit.name))
                os.symlink(target, link)
                changes.append(("created", link, target))
        return changes

    def _toggle(self, unit: Unit, old: str, new: str):
        changes = []
        for level, links in self._links(unit.name).items():
            if level not in START_RUNLEVELS:
                continue
            for kind, path in links:
                if kind == old:
                    renamed = os.path.join(os.path.dirname(path), new + os.path.basename(path)[1:])
                    os.rename(path, renamed)
                    changes.append(("renamed", path, renamed))
        return changes


class RcToolError(Exception):
    """update-rc.d / rc-update failed; the message is its output."""

