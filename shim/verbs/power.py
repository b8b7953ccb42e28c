"""The container's PID 1 from the command line: `init` (PID-1 mode), `poweroff`, `halt`, `reboot`,
`exit [CODE]` (src/systemctl/systemctl-start-special.c), and is-system-running's answers while
that mode runs (starting, running, degraded, stopping).

The verbs talk to PID 1 the way systemd's own do underneath: a signal (SIGRTMIN+3 halt, +4
poweroff, +5 reboot; SIGTERM for exit, after leaving the code in the state directory), sent only
after `<state dir>/init.json` proved that PID 1 is our init (its pid and start time)."""

import os
try:
    import _signal as signal    # the C module: `signal` wraps it in enum (PID 1 stays small)
except ImportError:             # pragma: no cover - another Python implementation
    import signal

from shim.errors import ShimError
from shim.init import status

REQUESTS = {"halt": signal.SIGRTMIN + 3, "poweroff": signal.SIGRTMIN + 4,
            "reboot": signal.SIGRTMIN + 5, "exit": signal.SIGTERM}
NOT_BOOTED = ("System has not been booted with systemd as init system (PID 1). Can't operate.\n"
              "Failed to connect to bus: Host is down")


def init(ctx, verb, units) -> int:
    """Become the init: boot the default target (or UNITs), reap, stop everything on a signal."""
    running = status.read(ctx.state_dir, ctx.proc)
    if running is not None and running[0].pid != os.getpid():
        raise ShimError("systemctl-shim is already running as init (PID %d), state %s."
                        % (running[0].pid, ctx.state_dir), 1)
    from shim.init.main import run
    return run(ctx, units)


def _our_init(ctx):
    """PID 1, if it is our init mode (alive, same start time as it recorded), else refuse as
    systemctl does on a machine that was not booted with systemd."""
    found = status.read(ctx.state_dir, ctx.proc)
    if found is None or found[0].pid != 1:
        raise ShimError(NOT_BOOTED, 1)
    return found


def request(ctx, verb, args) -> int:
    """poweroff, halt, reboot [ARG], exit [CODE]."""
    if len(args) > (1 if verb in ("reboot", "exit") else 0):
        raise ShimError("Too many arguments.", 1)
    code = None
    if verb == "exit" and args:
        text = args[0]
        if not (text.isdigit() and len(text) <= 3 and int(text) <= 255):   # safe_atou8()
            raise ShimError("Invalid exit code.", 1)
        code = int(text)
    _our_init(ctx)
    if os.geteuid() != 0:
        raise ShimError("Failed to start %s.target: Access denied" % verb, 1)
    if verb == "exit":
        status.write_exit_code(ctx.state_dir, code or 0)
    try:
        os.kill(1, REQUESTS[verb])
    except OSError as error:
        raise ShimError("Failed to start %s.target: %s" % (verb, error.strerror), 1) from None
    return 0


def is_system_running(ctx, verb, patterns) -> int:
    """starting / stopping while our PID 1 boots or shuts down; running or degraded (a unit
    failed) once it runs; otherwise the machine's answer (shim/verbs/system.py)."""
    found = None if ctx.offline else status.read(ctx.state_dir, ctx.proc)
    if found is None:
        from shim.verbs import system
        return system.is_system_running(ctx, verb, patterns)
    state = found[1]
    if state == "running":
        from shim.manager import Manager
        manager = Manager(ctx)
        if any(manager.inspector.inspect(u).active_state == "failed" for u in manager.index.all()):
            state = "degraded"
    if not ctx.options.quiet:
        ctx.print(state)
    return 0 if state == "running" else 1
