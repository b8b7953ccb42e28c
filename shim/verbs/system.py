"""daemon-reload, daemon-reexec, is-system-running, get-default, show-environment."""

import os

from shim.errors import ShimError
from shim.manager import Manager


def daemon_reload(ctx, verb, patterns) -> int:
    """What a reload means without a daemon (docs/USAGE.md, "daemon-reload"): the parse cache is
    rebuilt from the unit files as they are now, and every started or failed native unit is
    stamped as loaded from them, which clears its NeedDaemonReload. Prints nothing, as systemd."""
    if os.geteuid() != 0:
        raise ShimError("Failed to reload daemon: Access denied", 1)
    from shim.backends import reloadstate
    manager = Manager(ctx)
    files = manager.index.unit_files()
    if files.cache is not None:
        files.cache.clear()
    manager.index.all()                      # parses every unit file once: a fresh cache
    loaded = []
    for unit_id, record in sorted(manager.store.all_records().items()):
        if record.state in ("started", "failed"):
            unit = manager.index.resolve(unit_id)
            if unit.backend == "native":
                loaded.append((unit, record))
    reloadstate.stamp_many(manager, loaded, replace=True)
    return 0


def warn_if_changed(ctx, manager, unit, record=None) -> bool:
    """For start, stop, restart (shim/verbs/lifecycle.py), before the job: systemctl's
    "changed on disk" warning on stderr when the unit needs a daemon-reload."""
    if unit.backend != "native":
        return False                         # scripts are read afresh: nothing to reload
    from shim.backends import reloadstate
    return reloadstate.warn_if_changed(ctx, manager, unit, record)


def is_system_running(ctx, verb, patterns) -> int:
    """running, or degraded if any unit failed. With --root: offline, as systemctl says."""
    if ctx.offline:
        state = "offline"
    else:
        manager = Manager(ctx)
        failed = any(manager.inspector.inspect(u).active_state == "failed" for u in manager.index.all())
        state = "degraded" if failed else "running"
    if not ctx.options.quiet:
        ctx.print(state)
    return 0 if state == "running" else 1


def get_default(ctx, verb, patterns) -> int:
    ctx.print(Manager(ctx).loader.default_target())
    return 0


def show_environment(ctx, verb, patterns) -> int:
    """The environment init scripts get from us (what `service` would give them)."""
    for key, value in sorted(ctx.script_env().items()):
        ctx.print("%s=%s" % (key, value))
    return 0
