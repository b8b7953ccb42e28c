"""systemctl kill (src/systemctl/systemctl-kill.c): the command line, then the engine's
unit_kill() (`shim/engine/kill.py`) per unit.

`--kill-whom=main|control|all` (also spelled --kill-who, any unambiguous prefix), `--fail` making
it `<whom>-fail`, `-s` in all of systemd's spellings, `--kill-value=` queued with sigqueue to the
main and control processes. No output on success; `Failed to kill unit X: ...` per failure.
"""

from shim.engine import kill as engine
from shim.errors import ShimError
from shim.manager import Manager
from shim.proc.signals import parse_kill_value, parse_signal


def resolve_signal(ctx) -> int:
    text = ctx.options.signal
    if text is None:
        return 15
    try:
        return parse_signal(text)
    except ValueError:
        raise ShimError('Failed to parse signal string "%s".' % text, 1) from None


def kill(ctx, verb, patterns) -> int:
    options = ctx.options
    signo = resolve_signal(ctx)
    value = None
    if options.kill_value not in (None, ""):
        try:
            value = parse_kill_value(options.kill_value)
        except ValueError:
            raise ShimError("Unable to parse signal queue value: %s" % options.kill_value) from None
    whom = options.kill_whom or "all"
    if options.job_mode == "fail":
        whom += "-fail"
    manager = Manager(ctx)
    code = 0
    for unit in manager.units(patterns, include=manager.loaded_filter()):
        try:
            engine.kill_unit(manager, unit, whom, signo, value)
        except ShimError as error:
            ctx.warn("Failed to kill unit %s: %s" % (unit.id, error.message))
            code = 1
    return code
