"""Backends: where units come from, and how their scripts are run and enabled.

Two questions, answered separately:

* **What is this script?** Per script, from its shebang: `openrc-run` scripts are OpenRC services
  (`backends/openrc.py`), anything else is a SysV/LSB script (`backends/sysv.py`). Debian's OpenRC
  runs LSB scripts too, so a machine can have both.
* **How does this machine enable services and run scripts?** Per machine: OpenRC's runlevels
  (`/etc/runlevels`) with `rc-update`, or SysV rc links (`/etc/rcN.d`) with `update-rc.d`.
"""


from shim.backends import openrc, sysv
from shim.backends.lsb import read_text
from shim.units import Unit

OPENRC_SHEBANGS = ("openrc-run", "runscript")


def script_flavour(text: str) -> str:
    first = text.split("\n", 1)[0]
    if first.startswith("#!") and any(first.rstrip().endswith(s) or ("/" + s + " ") in first
                                       for s in OPENRC_SHEBANGS):
        return "openrc"
    return "sysv"


class ScriptLoader:
    """Turns one script into a `Unit`, and answers the machine-wide questions."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.rc = openrc.Runlevels(ctx) if openrc.machine_uses_openrc(ctx) else sysv.RcLinks(ctx)

    def load(self, path: str, entry: str):
        try:
            text = read_text(path)
        except OSError:
            return None
        name = entry[:-3] if entry.endswith(".sh") else entry
        source = "/etc/init.d/" + entry
        if script_flavour(text) == "openrc":
            return openrc.unit_from_script(self.ctx, name, path, source, text)
        return sysv.unit_from_script(name, path, source, text)

    def default_target(self) -> str:
        return self.rc.default_target()

    def config(self, unit: Unit):
        """The engine's `UnitConfig` for a script unit (what systemd's generator would write)."""
        from shim.backends import generator   # only show, status and cat need it
        started = self.rc.started_in(unit)
        if unit.backend == "openrc":
            return generator.openrc_config(unit, started)
        try:
            text = read_text(unit.script)
        except OSError:
            text = ""
        return generator.sysv_config(unit, text, started)

    def runner(self, unit: Unit) -> list:
        """argv prefix that runs the unit's script (verb appended by the caller)."""
        if unit.backend == "openrc" or isinstance(self.rc, openrc.Runlevels) and openrc.booted(self.ctx):
            # Through openrc-run, OpenRC's own state (rc-status) stays truthful for LSB scripts too.
            runner = openrc.openrc_run_binary(self.ctx)
            if runner:
                return [runner, unit.script]
        return [unit.script]
