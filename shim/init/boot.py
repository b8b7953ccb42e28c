"""The worker PID 1 runs for starting and stopping units: `python3 -m shim.init.boot start
[UNIT...]` and `python3 -m shim.init.boot stop`. A child, so that jobs wait for their own
children while PID 1 reaps everything else, and so that PID 1 never imports the engine.

start without units: the boot set, `systemctl start default.target` once the engine's
transaction (shim/engine/transaction.py) pulls in a target's wants; until it exists, the same set
computed here: what default.target's `.wants/` directories name, and the init scripts enabled for
the default runlevel that no unit file shadows, ordered by After=/Before= (then rc link order).

stop: every unit our records say we started, newest first (units were started in dependency
order, so this is the reverse dependency order), through the same stop jobs as `systemctl stop`:
each with its ExecStop= and TimeoutStopSec=.
"""

import os
import sys

TRANSACTION_MODULE = "shim.engine.transaction"
WANTS_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
              "/lib/systemd/system", "/usr/lib/systemd/system")


def _cli(argv) -> int:
    from shim import cli
    return cli.main(argv)


def _context():
    from shim.context import Context
    env = os.environ
    return Context(root=env.get("SYSTEMCTL_SHIM_ROOT") or "/",
                   state_dir=env.get("SYSTEMCTL_SHIM_STATE_DIR", ""))


def boot_set(manager) -> list:
    """Unit ids of the default target's wants and the enabled init scripts, in start order."""
    ctx = manager.ctx
    target = manager.index.resolve("default.target")
    names = []
    for directory in WANTS_DIRS:
        for name in target.names or (target.id,):
            try:
                entries = sorted(os.listdir(ctx.path(os.path.join(directory, name + ".wants"))))
            except OSError:
                continue
            names.extend(e for e in entries if e.endswith(".service") and e not in names)
    units, seen = [], set()
    for unit in manager.units(names, allow_globs=False):
        if unit.found and unit.id not in seen and not manager.is_masked(unit):
            units.append(unit)
            seen.update(unit.names or (unit.id,))
    level_links = _rc_start_links(ctx)
    for unit in manager.index.all():
        if unit.script and unit.name in level_links and not (set(unit.names) & seen) \
                and not manager.is_masked(unit):
            units.append(unit)
            seen.update(unit.names)
    rank = {unit.id: (level_links.get(unit.name, "S99"), unit.id) for unit in units}
    return _ordered(manager, units, rank)


def _rc_start_links(ctx) -> dict:
    """{script name: 'S02'} for the S links of the default runlevel (empty without rc dirs)."""
    from shim.backends.sysv import default_runlevel
    found = {}
    try:
        entries = os.listdir(ctx.path("/etc/rc%s.d" % default_runlevel(ctx)))
    except OSError:
        return found
    for entry in entries:
        if len(entry) > 3 and entry[0] == "S" and entry[1:3].isdigit():
            found.setdefault(entry[3:], entry[:3])
    return found


def _ordered(manager, units, rank) -> list:
    """Kahn's sort on After=/Before= within the set; ties and cycles fall back to `rank`."""
    by_name = {}
    for unit in units:
        for name in unit.names or (unit.id,):
            by_name.setdefault(name, unit.id)
    before = {unit.id: set() for unit in units}       # id -> ids that must start first
    for unit in units:
        config = manager.config(unit)
        for name in getattr(config, "after", ()) or ():
            if by_name.get(name) not in (None, unit.id):
                before[unit.id].add(by_name[name])
        for name in getattr(config, "before", ()) or ():
            if by_name.get(name) not in (None, unit.id):
                before[by_name[name]].add(unit.id)
    order = []
    while before:
        ready = sorted((uid for uid, deps in before.items() if not deps), key=rank.get) or \
            sorted(before, key=rank.get)[:1]              # a cycle: break it at the first
        for uid in ready:
            order.append(uid)
            del before[uid]
        for deps in before.values():
            deps.difference_update(ready)
    return order


def start(units) -> int:
    if units:
        return _cli(["start", "--"] + list(units))
    import importlib.util
    if importlib.util.find_spec(TRANSACTION_MODULE) is not None:
        return _cli(["start", "default.target"])
    from shim.manager import Manager
    ids = boot_set(Manager(_context()))
    return _cli(["start", "--"] + ids) if ids else 0


def started_units(ctx) -> list:
    """Units our records say are started, newest first."""
    from shim.state import StateStore
    records = StateStore(ctx.state_dir, ctx.proc).all_records()
    started = [(record.active_since, unit_id) for unit_id, record in records.items()
               if record.state == "started"]
    return [unit_id for _, unit_id in sorted(started, reverse=True)]


def stop() -> int:
    ids = started_units(_context())
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
