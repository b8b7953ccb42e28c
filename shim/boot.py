"""The boot hook: enabled native units start at boot and stop at shutdown.

On systemd, PID 1 starts what the default target wants. Here init starts its own scripts, and one
hook of ours (`/etc/init.d/systemctl-shim-units`, written by `systemctl-shim install`: an LSB
script on sysvinit, an openrc-run service on OpenRC) runs this module late at boot and early at
shutdown:

  start   the native units (unit files) wanted by the default target, through `.wants/` and
          `.requires/` links (what `systemctl enable` creates), in After=/Before= order, with
          `systemctl start`. Units that resolve to an init script are left alone: init starts
          those from their own rc links or runlevels, and their `.wants/` links (Debian's
          deb-systemd-helper makes them for cron, ssh, ...) must not override a script the
          admin disabled with update-rc.d or rc-update.
  stop    every native unit the shim is running, in reverse order, with `systemctl stop`.
  status  the boot units and their state; rc 0 once the hook has started (3 before).

Nothing here runs `systemctl start <default target>`: that target also stands for the runlevel
(its members include the init scripts), and starting a script from inside a script that init's rc
is running would race init for it.
"""

import os
import sys

HOOK_NAME = "systemctl-shim-units"
# systemd's chain below the default target (these machines have no unit files for them): what
# sysinit.target wants starts first, then basic.target's, then multi-user.target's, ...
IMPLIED_TARGETS = {"graphical.target": "multi-user.target", "multi-user.target": "basic.target",
                   "basic.target": "sysinit.target"}
ACTIVE_STATES = ("active", "activating", "reloading", "deactivating")


def _context():
    """The Context systemctl itself would build (SYSTEMCTL_SHIM_ROOT, state directory, ...)."""
    from shim import cli
    return cli.build_context(cli.parse(["is-system-running"]))


def _wanted_by(files, target: str) -> list:
    """Names linked from `<target>.wants/` and `.requires/` across the unit search path."""
    names = []
    for directory in files.unit_dirs():
        for kind in ("wants", "requires"):
            try:
                entries = sorted(os.listdir(files.path("%s/%s.%s" % (directory, target, kind))))
            except OSError:
                continue
            names.extend(name for name in entries if name not in names)
    return names


def _target_chain(default: str) -> list:
    chain = [default]
    while chain[-1] in IMPLIED_TARGETS:
        chain.append(IMPLIED_TARGETS[chain[-1]])
    return chain[::-1]                           # sysinit.target first


def boot_units(manager) -> list:
    """Native service units the default target wants (through the targets below it and the
    targets they want), in start order."""
    files = manager.index.unit_files()
    wanted = {}                                  # service name -> rank of the target wanting it
    for rank, top in enumerate(_target_chain(manager.loader.default_target())):
        pending, seen = [top], set()
        while pending:
            target = pending.pop(0)
            if target in seen:
                continue
            seen.add(target)
            for name in _wanted_by(files, target):
                if name.endswith(".target"):
                    pending.append(name)
                elif name.endswith(".service") and not name.endswith("@.service"):
                    wanted.setdefault(name, rank)
    # Whatever an init script answers to is init's, even where unit files are preferred
    # (SYSTEMCTL_SHIM_PREFER_NATIVE=1): init starts that script from its own links. Not under
    # the shim's own PID 1 (shim/init uses this list too): there unit files win, as on systemd.
    scripts = set() if under_our_init(manager.ctx) else \
        {name for unit in manager.index.scripts() for name in unit.names}
    units, ranks = [], {}
    for name, rank in wanted.items():
        unit = manager.index.resolve(name)
        if unit.backend == "native" and not manager.is_masked(unit) and unit.id not in ranks \
                and not set(unit.names) & scripts:
            units.append(unit)
            ranks[unit.id] = rank
    return ordered(manager, units, ranks)


def ordered(manager, units, ranks=None) -> list:
    """Start order by After=/Before= among `units` (the transaction orders again; this keeps the
    hook right without it); else by the rank of the target that wants them, then by name. A
    cycle is broken by taking the first remaining unit."""
    ranks = ranks or {}
    ids = {name: unit for unit in units for name in unit.names}
    later = {unit.id: set() for unit in units}            # unit -> units that must start after it
    for unit in units:
        config = manager.config(unit)
        for name in config.after if config else ():
            if name in ids and ids[name].id != unit.id:
                later[ids[name].id].add(unit.id)
        for name in config.before if config else ():
            if name in ids and ids[name].id != unit.id:
                later[unit.id].add(ids[name].id)
    waiting = {unit.id: 0 for unit in units}
    for followers in later.values():
        for follower in followers:
            waiting[follower] += 1
    order, by_id = [], {unit.id: unit for unit in units}
    while waiting:
        ready = [u for u, count in waiting.items() if count == 0] or list(waiting)
        unit_id = min(ready, key=lambda u: (ranks.get(u, 0), u))
        del waiting[unit_id]
        order.append(by_id[unit_id])
        for follower in later[unit_id]:
            if follower in waiting:
                waiting[follower] -= 1
    return order


def running_units(manager) -> list:
    """Native units the shim runs now, in start order (stop them reversed)."""
    at_boot = {unit.id: rank for rank, unit in enumerate(boot_units(manager))}
    units = [unit for unit in manager.index.all() if unit.backend == "native" and
             manager.inspector.inspect(unit).active_state in ACTIVE_STATES]
    return ordered(manager, units, {u.id: at_boot.get(u.id, len(at_boot)) for u in units})


def marker_path(ctx) -> str:
    return os.path.join(ctx.state_dir, "boot-hook.started")


def _systemctl(verb, unit_ids) -> int:
    from shim import cli
    return cli.main([verb, *unit_ids]) if unit_ids else 0


def under_our_init(ctx) -> bool:
    """The shim's own init is PID 1 (a container, shim/init): it starts and stops the units
    itself, the hook (an enabled init script there too) has nothing to add."""
    return os.path.exists(os.path.join(ctx.state_dir, "init.json"))


def start(ctx) -> int:
    from shim.manager import Manager
    if under_our_init(ctx):
        return 0
    units = [unit.id for unit in boot_units(Manager(ctx))]
    code = _systemctl("start", units)
    os.makedirs(ctx.state_dir, exist_ok=True)
    with open(marker_path(ctx), "w") as handle:
        handle.write(" ".join(units) + "\n")
    return code


def stop(ctx) -> int:
    from shim.manager import Manager
    if under_our_init(ctx):
        return 0
    units = [unit.id for unit in reversed(running_units(Manager(ctx)))]
    try:
        os.unlink(marker_path(ctx))
    except OSError:
        pass
    return _systemctl("stop", units)


def status(ctx) -> int:
    from shim.manager import Manager
    manager = Manager(ctx)
    started = os.path.exists(marker_path(ctx))
    ctx.print("%s: %s (native units of %s)" % (HOOK_NAME, "started" if started else "not started",
                                                 manager.loader.default_target()))
    for unit in boot_units(manager):
        ctx.print("  %s: %s" % (unit.id, manager.inspector.inspect(unit).active_state))
    return 0 if started else 3


ACTIONS = {"start": start, "stop": stop, "status": status}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ACTIONS:
        sys.stderr.write("Usage: %s {start|stop|status}\n" % HOOK_NAME)
        return 3 if not argv or argv[0] not in ("-h", "--help") else 0
    from shim.errors import ShimError
    try:
        return ACTIONS[argv[0]](_context())
    except ShimError as error:
        if error.message:
            sys.stderr.write(error.message + "\n")
        return error.code
    except OSError as error:
        sys.stderr.write("%s: %s: %s\n" % (HOOK_NAME, error.filename or "", error.strerror))
        return 1


if __name__ == "__main__":
    sys.exit(main())
