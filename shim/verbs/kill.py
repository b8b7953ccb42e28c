"""systemctl kill (src/systemctl/systemctl-kill.c, and the manager's unit_kill()).

`--kill-whom=main|control|all` (also spelled --kill-who, any unambiguous prefix), `--fail` making
it `<whom>-fail`, `-s` in all of systemd's spellings, `--kill-value=` queued with sigqueue to the
main and control processes. One signal per process: control first, then main, then the rest of
the unit's processes, frozen first so that a fork storm cannot outrun us. No output on success.
"""

import os
import time

from shim.errors import ShimError
from shim.manager import Manager
from shim.proc import killer, membership
from shim.proc.signals import parse_kill_value, parse_signal, signal_name

WHOM = ("main", "control", "all", "main-fail", "control-fail", "all-fail")


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
            _kill_one(manager, unit, whom, signo, value)
        except ShimError as error:
            ctx.warn("Failed to kill unit %s: %s" % (unit.id, error.message))
            code = 1
    return code


def _kill_one(manager, unit, whom, signo, value) -> None:
    ctx = manager.ctx
    if not unit.found:
        raise ShimError("Unit %s not loaded." % unit.id)
    if whom not in WHOM:
        raise ShimError("Invalid who argument %s" % whom)
    if unit.backend == "target":
        raise ShimError("Operation not supported")
    if value is not None and not 34 <= signo <= 64:
        raise ShimError("Value parameter only accepted for realtime signals (SIGRTMIN…SIGRTMAX), "
                        "refusing for signal SIG%s." % signal_name(signo))
    if os.geteuid() != 0:
        raise ShimError("Access denied")
    inspector = manager.inspector
    rt = inspector.inspect(unit)
    base = whom.replace("-fail", "")
    main, control = rt.main, rt.control
    if base == "main" and not main:
        raise ShimError("No main process to kill")
    if base == "control" and not control:
        raise ShimError("No control process to kill")

    first = [ref.pid for ref in (control, main) if ref is not None and
             (base == "all" or (base == "main" and ref is main) or (base == "control" and ref is control))]
    tracking = inspector.tracking_for(rt)

    def collect(snapshot):
        alive = {ref.pid for ref in (control, main) if ref is not None
                 and (snapshot.get(ref.pid) and snapshot.get(ref.pid).starttime == ref.starttime)}
        chosen = set(first) & alive
        if base == "all" and value is None:
            chosen |= membership.compute(snapshot, tracking, main_pid=rt.main_pid or None,
                                         extra_cgroups=rt.extra_cgroups).pids
            if control is not None and control.pid in alive:
                chosen |= snapshot.descendants([control.pid])   # the script's own children
        return chosen

    cgroup_dirs = [d for d in [tracking.cgroup] + list(rt.extra_cgroups) if d]
    report = killer.send(collect, signo, value=value, first=first, cgroups=cgroup_dirs,
                         freeze=(base == "all" and value is None), proc_root=ctx.proc)
    if report.signalled and base in ("main", "all"):
        record = manager.store.load(unit.id)
        if record.state == "started":
            # Lets the state logic tell "killed on request with TERM" (inactive) from a crash.
            record.kill_signal = signo
            record.inactive_since = time.time()     # when it died, as near as we know
            manager.store.save(unit.id, record)
    if whom.endswith("-fail") and not report.signalled:
        raise ShimError("No matching processes to kill")
