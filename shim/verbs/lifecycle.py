"""start, stop, restart, reload and friends (src/systemctl/systemctl-start-unit.c): the command
line, systemctl's job messages, and the engine's jobs (`shim/engine/jobs.py`) per unit."""

import os

from shim.engine import jobs, transaction
from shim.errors import ShimError
from shim.manager import Manager
from shim.runtime import parent_pid
from shim.proc.identity import ProcessRef
from shim.proc.tracking import Tracking

# verb -> (job type systemd names in its messages, what we do)
JOBS = {
    "start": ("start", "start"),
    "stop": ("stop", "stop"),
    "condstop": ("stop", "stop"),
    "restart": ("restart", "restart"),
    "try-restart": ("try-restart", "try-restart"),
    "condrestart": ("try-restart", "try-restart"),
    "reload": ("reload", "reload"),
    "reload-or-restart": ("reload-or-restart", "reload-or-restart"),
    "try-reload-or-restart": ("reload-or-try-restart", "reload-or-try-restart"),
    "reload-or-try-restart": ("reload-or-try-restart", "reload-or-try-restart"),
    "force-reload": ("reload-or-try-restart", "reload-or-try-restart"),
    "condreload": ("reload-or-try-restart", "reload-or-try-restart"),
}
_WHY = {"exit-code": "the control process exited with error code",
        "protocol": "the service did not take the steps required by its unit configuration",
        "signal": "a fatal signal was delivered to the control process",
        "timeout": "a timeout was exceeded",
        "resources": "of unavailable resources or another system error",
        "core-dump": "a fatal signal was delivered causing the control process to dump core",
        "watchdog": "the service failed to send watchdog ping",
        "start-limit-hit": "start of the service was attempted too often",
        "oom-kill": "of an out-of-memory (OOM) siutation"}      # sic: systemd 252's spelling


def job(ctx, verb, patterns) -> int:
    """One command line: its units' jobs and what they pull in, as one transaction
    (shim/engine/transaction.py), with systemctl's message for each unit that fails."""
    manager = Manager(ctx)
    job_type, action = JOBS[verb]
    if any("*" in p or "?" in p or "[" in p for p in patterns) and not (ctx.options.all or ctx.options.quiet):
        ctx.warn("Warning: %s called with a glob pattern." % ("systemctl " + verb))
        ctx.warn("Hint: unit globs expand to loaded units, so start will usually have no effect.\n"
                 "      Passing --all will also load units which are pending to be started.")
    code = 0
    tx = transaction.Transaction(manager)
    for unit in manager.units(patterns, include=manager.loaded_filter()):
        if not unit.found and unit.id.endswith(".target"):
            unit = transaction.resolve(manager, unit.id)   # a unit file's target, or systemd's own
        if unit.script and _called_by_own_script(manager, unit):
            nested = _run_nested(ctx, unit, verb)
            code = code or nested
            continue
        if unit.backend == "native":
            from shim.verbs.system import warn_if_changed
            warn_if_changed(ctx, manager, unit)     # "changed on disk": daemon-reload needed
        try:
            kind = None
            if unit.found and os.geteuid() == 0 and (unit.backend == "target"
                                                     or not manager.is_masked(unit)):
                kind = transaction.kind_for(tx.graph, unit, job_type, action)
            if kind is None:                    # reload, a no-op, or refused: the engine says so
                jobs.run_job(manager, unit, job_type, action)
            else:
                tx.add_anchor(unit, job_type, action, kind)
        except (ShimError, jobs.JobFailed) as outcome:
            failed = _report(ctx, unit, outcome)       # always printed; the first code wins
            code = code or failed
    if ctx.options.no_block:
        _in_background(tx.run)          # enqueued: systemctl --no-block does not wait for jobs
        return code
    for unit, outcome in tx.run():
        if outcome is not None:
            failed = _report(ctx, unit, outcome)       # always printed; the first code wins
            code = code or failed
    return code


def _in_background(run) -> None:
    """--no-block: the jobs run on in a detached process (new session, no terminal, none of the
    caller's descriptors on stdio), the way systemd's queue runs them after systemctl returned.
    Their outcome is in the units' state and logs, as it is in systemd's journal."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        for _ in run():
            pass
    except BaseException:          # noqa: BLE001 - a detached job has nobody to tell
        os._exit(1)
    os._exit(0)


def _report(ctx, unit, outcome) -> int:
    """systemctl's words for a job that failed (bus-wait-for-jobs.c); its exit code."""
    if isinstance(outcome, ShimError):
        ctx.warn(outcome.message)
        return outcome.code
    if not ctx.options.quiet:
        if outcome.result == "dependency":
            ctx.warn("A dependency job for %s failed. See 'journalctl -xe' for details." % unit.id)
        elif outcome.result == "assert":
            ctx.warn("Assertion failed on job for %s." % unit.id)
        elif outcome.result == "canceled":
            ctx.warn("Job for %s canceled." % unit.id)          # a stop replaced the start
        else:
            why = _WHY.get(outcome.result)
            ctx.warn(("Job for %s failed because %s." % (unit.id, why)) if why
                     else "Job for %s failed." % unit.id)
            ctx.warn('See "systemctl status %s" and "journalctl -xeu %s" for details.'
                     % (unit.id, unit.id))
            if outcome.result == "start-limit-hit":
                ctx.warn('To force a start use "systemctl reset-failed %s"\nfollowed by '
                         '"systemctl start %s" again.' % (unit.id, unit.id))
    return 1


def _called_by_own_script(manager, unit) -> bool:
    """Are we running inside the unit's own control process? (Its script called systemctl back
    for itself, e.g. through Debian's LSB redirect hook when something dropped
    SYSTEMCTL_SKIP_REDIRECT.) Waiting for the unit's lock would then wait for ourselves."""
    control = manager.store.load(unit.id).control
    if control is None:
        return False
    pid, proc = os.getppid(), manager.ctx.proc
    for _ in range(4096):                     # bounded: ancestry cannot be longer than that
        if pid <= 1:
            return False
        ref = ProcessRef.of(pid, proc)
        if ref is None:
            return False
        if ref == ProcessRef(control.pid, control.starttime):
            return True
        pid = parent_pid(pid, proc)
    return False


def _run_nested(ctx, unit, verb) -> int:
    """Do what the script asked for, directly: the outer job holds the lock and captures all of
    this as part of its own control process."""
    import subprocess
    env = ctx.script_env()
    return subprocess.call([unit.script, verb], env=env, cwd="/", stdin=subprocess.DEVNULL)


def reset_failed(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    units = manager.units(patterns) if patterns else manager.index.all()
    if os.geteuid() != 0:
        raise ShimError("Failed to reset failed state of unit %s: Access denied"
                        % (units[0].id if units else ""), 1)
    for unit in units:
        if not unit.found:
            ctx.warn("Failed to reset failed state of unit %s: Unit %s not loaded." % (unit.id, unit.id))
            return 1
        with manager.store.lock(unit.id):
            record = manager.store.load(unit.id)
            if record.state == "failed" or (record.state == "started" and
                                             manager.inspector.inspect(unit).active_state == "failed"):
                jobs.enter(record, "stopped")
                record.result = "success"
                record.tracking = Tracking()
            if record.state or record.n_restarts or record.start_times:
                # also the start rate limit's count and NRestarts=, as systemd's reset-failed
                record.n_restarts, record.start_times = 0, ()
                manager.store.save(unit.id, record)
    return 0
