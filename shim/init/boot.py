"""The worker PID 1 runs for starting and stopping units: `python3 -m shim.init.boot start
[UNIT...]` and `python3 -m shim.init.boot stop`. A child, so that jobs wait for their own
children while PID 1 reaps everything else, and so that PID 1 never imports the engine.

start without units: the boot set in one `systemctl start`: default.target once the start verb
runs the engine's transaction (shim/engine/transaction.py, which pulls in a target's wants), until
then the same set listed here: the unit files the default target wants (through sysinit, basic, multi-user, as
shim/boot.py follows systemd's target chain), plus the init scripts enabled for the default
runlevel (an S link in /etc/rcN.d) that no unit file shadows, in After=/Before= order, one
`systemctl start` for all of them.

stop: every unit that is active now, whatever defined it, in reverse start order, through the
same stop jobs as `systemctl stop`: each with its ExecStop= and TimeoutStopSec=.
"""

import os
import sys

from shim import boot as boot_hook

def _cli(argv) -> int:
    from shim import cli
    return cli.main(argv)


def _manager():
    from shim.manager import Manager
    return Manager(boot_hook._context())


def boot_set(manager) -> list:
    """Units to start at boot, in start order."""
    units = boot_hook.boot_units(manager)
    taken = {name for unit in units for name in unit.names or (unit.id,)}
    links = _rc_start_links(manager.ctx)
    for unit in manager.index.all():
        if unit.script and unit.name in links and not (set(unit.names) & taken) \
                and not manager.is_masked(unit):
            units.append(unit)
            taken.update(unit.names)
    ranks = {unit.id: rank for rank, unit in enumerate(units)}
    return boot_hook.ordered(manager, units, ranks)


def _rc_start_links(ctx) -> set:
    """Script names with an S link in the default runlevel's rc directory (none: no rc dirs)."""
    from shim.backends.sysv import default_runlevel
    try:
        entries = os.listdir(ctx.path("/etc/rc%s.d" % default_runlevel(ctx)))
    except OSError:
        return set()
    return {entry[3:] for entry in entries
            if len(entry) > 3 and entry[0] == "S" and entry[1:3].isdigit()}


def running_units(manager) -> list:
    """Every unit active now, in start order (stop them reversed)."""
    at_boot = {unit.id: rank for rank, unit in enumerate(boot_set(manager))}
    units = [unit for unit in manager.index.all()
             if manager.inspector.inspect(unit).active_state in boot_hook.ACTIVE_STATES]
    return boot_hook.ordered(manager, units, {u.id: at_boot.get(u.id, len(at_boot)) for u in units})


def _targets_start() -> bool:
    """Does `systemctl start default.target` start the target's wants (the engine's transaction,
    wired into the start verb), or is it still refused as a runlevel change?"""
    from shim.verbs import lifecycle
    return hasattr(lifecycle, "transaction")


def start(units) -> int:
    if units:
        return _cli(["start", "--"] + list(units))
    manager = _manager()
    ids = [unit.id for unit in boot_set(manager)]
    if _targets_start():
        # The target brings its unit files; the enabled init scripts go along in the same command.
        native = {unit.id for unit in boot_hook.boot_units(manager)}
        ids = ["default.target"] + [uid for uid in ids if uid not in native]
    return _cli(["start", "--"] + ids) if ids else 0


def stop() -> int:
    ids = [unit.id for unit in reversed(running_units(_manager()))]
    return _cli(["stop", "--"] + ids) if ids else 0


def main(argv) -> int:
    if argv[:1] == ["start"]:
        return start(argv[1:])
    if argv == ["stop"]:
        return stop()
    sys.stderr.write("usage: python3 -m shim.init.boot start [UNIT...] | stop\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
