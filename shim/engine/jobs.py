"""Jobs on one unit, under its lock (systemd's job engine, small): start, stop, restart, reload and
the conditional variants, with the unit's record kept truthful as they go.

Every job runs under the unit's lock, so twenty concurrent `systemctl start cron` start one cron:
the first runs the script, the others find the unit active and have nothing to do. A command runs
as systemd's control process would: recorded in the unit's record while it runs (so `kill
--kill-whom=control` can reach it), its tree captured when it is done, and a start leaves a keeper
(`shim/proc/capture.py`, `shim/proc/anchor.py`).
"""

import os
import signal
import time
import uuid

from shim import pidfile
from shim.backends import openrc
from shim.core import states
from shim.errors import ShimError
from shim.proc import capture, cgroup as cgroups, killer, membership
from shim.proc.signals import signal_name
from shim.proc.tracking import Tracking
from shim.state import Control



def enter(record, word: str) -> None:
    """Move the record's state ("started", "stopped", "failed") the way the state table allows
    (shim/core/states.py): the one place a stored state changes."""
    current = states.RECORD_STATES.get(record.state, states.Active.INACTIVE)   # damaged: none
    states.change(current, states.RECORD_STATES[word])
    record.state = word


class JobFailed(Exception):
    def __init__(self, result: str):
        super().__init__(result)
        self.result = result


def run_job(manager, unit, job_type: str, action: str) -> None:
    """One job (`action`: start, stop, restart, try-restart, reload, reload-or-restart,
    reload-or-try-restart) on one unit. Raises ShimError with systemd's message, or JobFailed."""
    if not unit.found and unit.id.endswith(".target"):
        from shim.engine import transaction        # a target from a unit file, or systemd's own
        unit = transaction.resolve(manager, unit.id)
    if not unit.found and job_type != "stop" and manager.is_masked(unit):
        if action in ("try-restart", "reload-or-try-restart"):
            return                             # a masked unit file resolves to nothing: still masked
        raise ShimError("Failed to %s %s: Unit %s is masked." % (job_type, unit.id, unit.id), 1)
    if not unit.found:
        reason = "not found" if job_type != "stop" else "not loaded"
        raise ShimError("Failed to %s %s: Unit %s %s." % (job_type, unit.id, unit.id, reason), 5)
    if unit.backend == "target":
        from shim.engine import transaction        # a grouping: its members do the work
        return transaction.run_target(manager, unit, job_type, action)
    masked = manager.is_masked(unit)
    if masked and action in ("try-restart", "reload-or-try-restart"):
        return                                 # systemd silently ignores these on masked units
    if masked and action != "stop":
        raise ShimError("Failed to %s %s: Unit %s is masked." % (job_type, unit.id, unit.id), 1)
    if action == "reload" and not unit.can_reload:
        raise ShimError("Failed to reload %s: Job type reload is not applicable for unit %s."
                        % (unit.id, unit.id), 3)
    if os.geteuid() != 0:
        raise ShimError("Failed to %s %s: Access denied\nSee system logs and 'systemctl status %s'"
                        " for details." % (job_type, unit.id, unit.id), 4)
    if unit.backend == "native":
        config = manager.config(unit)
        if config.load_state == "bad-setting":
            raise ShimError("Failed to %s %s: Unit %s has a bad unit file setting.\nSee system logs "
                            "and 'systemctl status %s' for details." % (job_type, unit.id, unit.id, unit.id))
        from shim.engine.native import NativeRunner
        runner = NativeRunner(manager, unit, config)
    else:
        runner = Runner(manager, unit)

    def start():
        # Condition*/Assert* first (systemd: before ExecCondition= and ExecStartPre=)
        if unit.backend == "native":
            from shim.engine import conditions
            if not conditions.check(manager, unit, config):
                return                             # skipped: the job is done, nothing ran
        runner.start()

    if action == "stop" and unit.backend == "native":
        _cancel_running_start(manager, unit)
    with manager.store.lock(unit.id):
        runner.refresh()
        active = runner.rt.is_active or runner.rt.active_state == "activating"
        # a stop that a start follows (RestartKillSignal=, RuntimeDirectoryPreserve=restart)
        runner.restarting = action not in ("start", "stop", "reload")
        if action == "start":
            if not active:
                start()
        elif action == "stop":
            runner.stop()
        elif action == "restart":
            runner.stop()
            start()
        elif action == "try-restart":
            if active:
                runner.stop()
                start()
        elif action == "reload":
            if not runner.rt.is_active:
                raise ShimError("%s is not active, cannot reload." % unit.id, 1)
            runner.reload()
        elif action == "reload-or-restart":
            if active and unit.can_reload:
                runner.reload()
            else:
                runner.stop()
                start()
        elif action == "reload-or-try-restart":
            if active:
                if unit.can_reload:
                    runner.reload()
                else:
                    runner.stop()
                    start()


def _cancel_running_start(manager, unit) -> None:
    """systemd's stop replaces a start job still running (job mode replace): the start is
    cancelled ("Job for X canceled.") and the stop goes on. Our jobs serialise on the unit's
    lock, so a start waiting for READY=1 (or in a long ExecStartPre=) would make the stop wait
    for TimeoutStartSec=: mark the start cancelled and end its control process (SIGTERM, the
    process identified by pid and start time); the start job then gives the lock up."""
    store = manager.store
    if not store.lock_is_held(unit.id):
        return
    control = store.load(unit.id).control
    if control is None or control.verb != "start":
        return
    from shim.proc.deliver import signal_ref
    from shim.proc.identity import ProcessRef
    ref = ProcessRef(control.pid, control.starttime)
    try:
        with open(store.cancel_path(unit.id), "w") as handle:
            handle.write("%d %d\n" % (ref.pid, ref.starttime))
        signal_ref(ref, signal.SIGTERM, proc_root=manager.ctx.proc)
    except OSError:
        pass


def cgroup_base(ctx):
    """Where per-unit cgroups go: SYSTEMCTL_SHIM_CGROUP (a directory, or 'none'), else a
    `systemctl-shim` directory in the first cgroup2 we can write to, else None (approximation)."""
    configured = ctx.env.get("SYSTEMCTL_SHIM_CGROUP")
    if configured is not None:
        return None if configured in ("", "none", "no", "0") else configured
    mount = cgroups.writable_cgroup2(ctx.proc)
    return os.path.join(mount, "systemctl-shim") if mount else None


class Runner:
    """Runs one unit's script for one job, keeping the unit's record truthful as it goes."""

    def __init__(self, manager, unit):
        self.manager = manager
        self.ctx = manager.ctx
        self.unit = unit
        self.store = manager.store
        self.rt = None

    def refresh(self):
        """Re-read state under the lock: another shim may have just finished a job."""
        self.manager.inspector._snapshot = None
        self.manager.inspector._records = None
        self.rt = self.manager.inspector.inspect(self.unit)

    # --- the script ----------------------------------------------------------------------------
    def _run(self, verb: str, record, *, cgroup=None):
        ctx, unit = self.ctx, self.unit
        if unit.backend == "openrc" and openrc.ensure_softlevel(ctx) and not ctx.options.quiet:
            ctx.warn("OpenRC did not boot this machine; created %s so that its services can run."
                     % ctx.path(openrc.RC_SVCDIR + "/softlevel"))
        invocation = uuid.uuid4().hex
        log = self.store.prepare_log(unit.id)
        _log(log, "%s %s..." % ({"start": "Starting", "stop": "Stopping",
                                 "reload": "Reloading"}.get(verb, verb), unit.id))

        def on_spawn(ref):
            record.control = Control(ref.pid, ref.starttime, verb)
            self.store.save(unit.id, record)

        # A start leaves a keeper holding what the script started (exact membership, the main
        # process's exit status); stop and reload need only a transient anchor.
        keep = verb == "start"
        result = capture.run_captured(
            self.manager.loader.runner(unit) + [verb], env=ctx.script_env(),
            invocation_id=invocation, cwd="/", log_path=log, cgroup=cgroup,
            timeout=ctx.start_timeout, on_spawn=on_spawn, proc_root=ctx.proc, keep=keep,
            exit_path=self.store.exit_path(unit.id) if keep else None,
            pidfiles=unit.pidfiles if keep else (), log_name=unit.name)
        record.control = None
        if result.timed_out:
            outcome = ("killed", "KILL", "timeout")
        elif result.signal:
            outcome = ("killed", signal_name(result.signal), "signal")
        else:
            clean = result.returncode == 0 or (verb == "start" and unit.has_lsb
                                               and result.returncode in (5, 6))
            outcome = ("exited", result.returncode, "success" if clean else "exit-code")
        record.last_exec = {"verb": verb, "pid": result.control.pid if result.control else 0,
                            "code": outcome[0], "status": outcome[1], "time": time.time()}
        return result, invocation, outcome[2]

    # --- jobs ----------------------------------------------------------------------------------
    def start(self):
        unit = self.unit
        self._await_reaping()
        self._reconcile_openrc()
        record = self.store.load(unit.id)
        unit_cgroup = self._new_cgroup()
        result, invocation, outcome = self._run("start", record, cgroup=unit_cgroup)
        tracking = self._adopt_run(record, result, invocation, unit_cgroup)
        if outcome == "success":
            enter(record, "started")
            record.result, record.active_since = "success", time.time()
            self.store.save(unit.id, record)
            if self._left_a_daemon():
                _log(self.store.log_path(unit.id), "Started %s." % unit.id)
                return
            # The script said yes, but the daemon it was to leave (a pidfile is declared or
            # was recorded) is not there: systemd fails a Type=forking unit whose PIDFile= never
            # names a live process and whose cgroup is empty (Result: protocol).
            outcome = "protocol"
        # A failed start leaves nothing behind that we started (KillMode=control-group).
        enter(record, "failed")
        record.result, record.inactive_since = outcome, time.time()
        self.store.save(unit.id, record)
        self._terminate(tracking, main_pid=None)
        record.tracking = Tracking()
        self.store.save(unit.id, record)
        _log(self.store.log_path(unit.id), "Failed to start %s." % unit.id)
        raise JobFailed(outcome)

    def _new_cgroup(self):
        """The unit's own cgroup for a start, where the kernel lets us make one (else None)."""
        base = cgroup_base(self.ctx)
        if base:
            path = os.path.join(base, self.unit.id)
            if cgroups.create(path):
                return path
        return None

    @staticmethod
    def _adopt_run(record, result, invocation, unit_cgroup):
        """The record takes what a start's commands left: the run's tracking and invocation."""
        tracking = result.tracking
        if unit_cgroup:
            tracking.cgroup = unit_cgroup
        record.invocation_id = invocation
        record.tracking = tracking
        record.kill_signal = 0
        return tracking

    def _await_reaping(self, timeout=2.0):
        """A daemon killed a moment ago (`systemctl kill`, then `start` at once) can still be a
        zombie its parent has not reaped yet. We count it as dead, but the script's own check
        (`start-stop-daemon --pidfile`, `kill -0 $(cat pidfile)`) sees it running and refuses
        ("already running"). systemd starts the unit only once it has seen its main process
        die; wait for that here too, briefly: a zombie nobody reaps does not block for long."""
        unit, proc = self.unit, self.ctx.proc
        pids = {ref.pid for ref in self.store.load(unit.id).tracking.processes}
        for path in list(unit.pidfiles) + openrc.recorded_pidfiles(self.ctx, unit.name):
            try:
                with open(path) as handle:
                    pids.add(pidfile.parse_pid(handle.read(64)))
            except (OSError, ValueError):
                pass
        pids.discard(0)
        deadline = time.monotonic() + timeout
        while any(_is_zombie(pid, proc) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _reconcile_openrc(self):
        """OpenRC's mark against the process truth, before a start (start, restart, try-restart,
        reload-or-restart all come here). A service killed behind OpenRC's back (`systemctl
        kill`, a crash, invoke-rc.d force-stop) is still marked started, whatever our state says
        of it (inactive after a clean kill, failed after a crash): openrc-run's start would
        answer "already started", exit 0 and run nothing. When nothing of the service runs,
        reset the mark (`zap`, as Ansible's service module does for a crashed OpenRC service)."""
        ctx, unit = self.ctx, self.unit
        if openrc.service_state(ctx, unit.name) not in openrc.MARKS_THAT_BLOCK_START:
            return
        self.refresh()
        rt = self.rt
        if rt.main or rt.control or self.manager.inspector.members(rt):
            return                              # something of it runs: OpenRC may be right
        openrc.zap(ctx, self.manager.loader.runner(unit), unit.script)

    def _left_a_daemon(self) -> bool:
        """After a start whose script exited 0: did it do what the unit declares? With PIDFile=
        (an LSB `# pidfile:` header, OpenRC's `pidfile=` or the pidfile OpenRC recorded) a
        process of the service must run now, as systemd's Type=forking demands. Without one,
        systemd's generated unit (RemainAfterExit=yes, GuessMainPID) succeeds whatever is left
        (a PIDFILE= variable in the script is not a PIDFile=)."""
        unit = self.unit
        if not (unit.pidfile or openrc.recorded_pidfiles(self.ctx, unit.name)):
            return True
        self.refresh()
        return self.rt.is_active or self.rt.active_state == "activating"

    def stop(self):
        ctx, unit = self.ctx, self.unit
        rt = self.rt
        tracking = self.manager.inspector.tracking_for(rt)
        if not rt.is_active and rt.active_state not in ("activating", "deactivating", "reloading") \
                and not self.manager.inspector.members(rt):
            if tracking.cgroup:
                cgroups.remove(tracking.cgroup)     # empty by now; leave no cgroup behind
            return self._mark_stopped(keep_failed=True)
        record = self.store.load(unit.id)
        result, _, outcome = self._run("stop", record)
        if outcome != "success" and not ctx.options.quiet:
            ctx.warn("%s: the init script's stop exited with status %s; stopping its processes."
                     % (unit.id, record.last_exec.get("status")))
        self.store.save(unit.id, record)
        self._terminate(tracking, main_pid=rt.main_pid)
        self._mark_stopped()
        self.refresh()

    def reload(self):
        unit = self.unit
        record = self.store.load(unit.id)
        tracking_before = record.tracking
        result, _, outcome = self._run("reload", record, cgroup=tracking_before.cgroup)
        # Whatever the reload spawned belongs to the unit too (a daemon may re-exec itself).
        record.tracking = tracking_before.merged(result.tracking) if record.state == "started" \
            else record.tracking
        self.store.save(unit.id, record)
        self.refresh()
        if outcome != "success":
            raise JobFailed(outcome)

    # --- helpers -------------------------------------------------------------------------------
    def _terminate(self, tracking, main_pid):
        """systemd's KillMode=control-group after a stop: TERM (+CONT), then KILL after a timeout."""
        ctx, unit = self.ctx, self.unit
        extra = self.rt.extra_cgroups if self.rt else ()

        def collect(snapshot):
            return membership.compute(snapshot, tracking, main_pid=main_pid,
                                      extra_cgroups=extra).pids

        cgroup_dirs = [d for d in [tracking.cgroup] + list(extra) if d]
        report = killer.terminate(collect, signo=signal.SIGTERM, timeout=ctx.stop_timeout,
                                  cgroups=cgroup_dirs, proc_root=ctx.proc,
                                  allow=(main_pid,) if main_pid else (),
                                  keepers=(tracking.keeper.pid,) if tracking.keeper else ())
        if report.escalated and not ctx.options.quiet:
            ctx.warn("%s: processes remained %gs after SIGTERM; sent SIGKILL." % (unit.id, ctx.stop_timeout))
        if report.survivors:
            ctx.warn("%s: could not stop process%s %s." % (
                unit.id, "es" if len(report.survivors) > 1 else "",
                ", ".join(str(ref.pid) for ref in report.survivors)))
        if tracking.cgroup:
            cgroups.remove(tracking.cgroup)

    def _mark_stopped(self, keep_failed=False):
        record = self.store.load(self.unit.id)
        if keep_failed and record.state == "failed":
            return
        if record.state or record.tracking.processes or record.control:
            enter(record, "stopped")
            record.inactive_since = time.time()
            record.tracking = Tracking()
            record.control = None
            record.kill_signal = 0
            self.store.save(self.unit.id, record)
        _log(self.store.log_path(self.unit.id), "Stopped %s." % self.unit.id)


def _is_zombie(pid: int, proc_root: str) -> bool:
    try:
        with open("%s/%d/stat" % (proc_root, pid), "rb") as handle:
            data = handle.read()
        return data[data.rindex(b")") + 2:][:1] == b"Z"
    except (OSError, ValueError):
        return False


def _log(path, message):
    """A journal-like line in the unit's log, shown by `status`."""
    try:
        with open(path, "a") as handle:
            handle.write("%s %s systemctl[%d]: %s\n" % (time.strftime("%b %d %H:%M:%S"),
                                                    os.uname().nodename.split(".")[0], os.getpid(), message))
    except OSError:
        pass
