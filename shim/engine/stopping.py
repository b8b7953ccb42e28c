"""The kill step of a native unit's stop, as KillMode= says (reference/unit-files.md §13.4).

control-group (default): KillSignal= (+ SIGCONT, + SIGHUP with SendSIGHUP=) to every process of
the unit, TimeoutStopSec=, then FinalKillSignal= to what is left if SendSIGKILL=. mixed: the
signal to the main process only, and once it is gone (or the timeout passed) the final signal to
the rest. process: the main process only; the rest is left running. none: nothing.
"""

import signal

from shim.proc import cgroup as cgroups, killer, membership

_MODES = ("control-group", "mixed", "process", "none")


def kill_step(runner, tracking, main_pid: int) -> bool:
    """Signal the unit's processes for a stop. True if the stop timed out (Result=timeout)."""
    config, ctx = runner.config, runner.ctx
    extra = runner.rt.extra_cgroups if runner.rt else ()
    mode = config.kill_mode if config.kill_mode in _MODES else "control-group"
    if mode == "none":
        return False
    keepers = (tracking.keeper.pid,) if tracking.keeper else ()
    allow = (main_pid,) if main_pid else ()
    cgroup_dirs = [d for d in [tracking.cgroup] + list(extra) if d]
    timeout = config.timeout_stop_usec / 1e6 if 0 < config.timeout_stop_usec < 2 ** 63 else None
    final = config.final_kill_signal if config.send_sigkill else 0
    also = (signal.SIGHUP,) if config.send_sighup and config.kill_signal != signal.SIGHUP else ()

    def everyone(snapshot):
        return membership.compute(snapshot, tracking, main_pid=main_pid or None,
                                  extra_cgroups=extra).pids

    def main_only(snapshot):
        proc = snapshot.get(main_pid) if main_pid else None
        if proc is None or (tracking.main is not None and tracking.main.pid == main_pid
                            and proc.starttime != tracking.main.starttime):
            return set()
        return {main_pid} & everyone(snapshot)

    first = everyone if mode == "control-group" else main_only
    signo = config.kill_signal
    if getattr(runner, "restarting", False) and config.restart_kill_signal:
        signo = config.restart_kill_signal        # RestartKillSignal=, for a restart's stop
    report = killer.terminate(first, signo=signo, timeout=timeout, final=final,
                              cgroups=cgroup_dirs, proc_root=ctx.proc, allow=allow,
                              keepers=keepers, also=also)
    timed_out = report.escalated or bool(report.survivors)
    if mode == "mixed" and final:
        # The main process is gone (or was killed): the rest get the final signal at once.
        rest = killer.terminate(everyone, signo=final, timeout=killer.FINAL_WAIT, final=0,
                                cgroups=cgroup_dirs, proc_root=ctx.proc, allow=allow,
                                keepers=keepers)
        report.survivors = rest.survivors
    from shim.engine.jobs import _log
    log = runner.store.log_path(runner.unit.id)
    if report.escalated or (timed_out and not final):
        _log(log, "%s: State 'stop-sigterm' timed out. %s." % (
            runner.unit.id, "Killing" if final else "Skipping SIGKILL"))
    if report.survivors:
        _log(log, "%s: Unit process%s %s remain%s running after unit stopped." % (
            runner.unit.id, "es" if len(report.survivors) > 1 else "",
            ", ".join(str(ref.pid) for ref in report.survivors),
            "" if len(report.survivors) > 1 else "s"))
    if tracking.cgroup and not report.survivors:
        cgroups.remove(tracking.cgroup)
    return timed_out
