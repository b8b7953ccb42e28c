"""unit_kill(): signal some or all processes of a unit (systemd's src/core/unit.c unit_kill()).

One signal per process: control first, then main, then the rest of the unit's processes,
frozen first so that a fork storm cannot outrun us. The errors carry the manager's own texts.
"""

import os
import time

from shim.errors import ShimError
from shim.proc import killer, membership
from shim.proc.signals import signal_name

WHOM = ("main", "control", "all", "main-fail", "control-fail", "all-fail")


def kill_unit(manager, unit, whom: str, signo: int, value=None) -> None:
    """`whom`: main, control or all, with -fail: an error if nothing was signalled."""
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
                         freeze=(base == "all" and value is None), proc_root=ctx.proc,
                         allow=(main.pid,) if main else (),
                         keepers=(tracking.keeper.pid,) if tracking.keeper else ())
    if report.signalled and base in ("main", "all"):
        record = manager.store.load(unit.id)
        if record.state in ("started", "auto-restart"):
            # Lets the state logic tell "killed on request with TERM" (inactive) from a crash.
            record.kill_signal = signo
            record.inactive_since = time.time()     # when it died, as near as we know
            manager.store.save(unit.id, record)
        else:
            # Running though we did not start it (init at boot, the script by hand): whatever
            # our record said of an earlier run is stale; what counts now is this signal.
            from shim.engine.jobs import enter
            enter(record, "")
            record.kill_signal = signo
            record.inactive_since = time.time()     # when it died, as near as we know
            manager.store.save(unit.id, record)
    if whom.endswith("-fail") and not report.signalled:
        raise ShimError("No matching processes to kill")
