"""daemon-reload, daemon-reexec, is-system-running, get-default, show-environment."""

import os

from shim.errors import ShimError
from shim.manager import Manager


def daemon_reload(ctx, verb, patterns) -> int:
    """Nothing to reload: every command reads the scripts afresh. Permission is still checked."""
    if os.geteuid() != 0:
        raise ShimError("Failed to reload daemon: Access denied", 1)
    return 0


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
