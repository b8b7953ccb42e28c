"""Jobs of a native unit (a `.service` file): the same Runner as for scripts, with the commands,
environment and credentials taken from its `UnitConfig` the way systemd 252 runs them
(unit-files.md sections 8-10).

Start: the start rate limit, ExecCondition=, ExecStartPre= (each a control process),
ExecStart= (Type=simple/exec/idle: the command is the main process, held by the unit's keeper;
notify: the same, started once READY=1 came over its notify socket; forking: the command's exit
ends the start and the keeper holds what it left; oneshot: each line in turn), ExecStartPost=.
Stop: ExecStop= with $MAINPID, the kill step of KillMode= (`shim/engine/stopping.py`), then
ExecStopPost=. Reload: ExecReload=. When the main process ends on its own, its keeper becomes
`shim/engine/afterexit.py`, which finishes the run the same way and applies Restart=.
"""

import os
import sys
import time
import uuid

from shim.backends import envfile, execline
from shim.engine import restart, stopping
from shim.engine.jobs import JobFailed, Runner, _log, enter
from shim.errors import ShimError
from shim.proc import capture, cgroup as cgroups
from shim.proc.signals import signal_name
from shim.proc.tracking import Tracking
from shim.state import Control

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SIMPLE_TYPES = ("simple", "exec", "idle", "dbus")


class NativeRunner(Runner):
    restarting = False          # this stop is a restart's (run_job sets it)

    def __init__(self, manager, unit, config):
        super().__init__(manager, unit)
        self.config = config

    # --- what a command runs with ----------------------------------------------------------------
    def environment(self, extra=None) -> dict:
        """systemd's: the manager's LANG and PATH, the user's, Environment=, EnvironmentFile=
        (wins), PassEnvironment=, UnsetEnvironment= last. Nothing of the caller's leaks."""
        config, outer = self.config, self.ctx.env
        env = {"LANG": outer.get("LANG") or "C.UTF-8", "PATH": DEFAULT_PATH}
        user = self._user()
        if user is not None:
            env.update({"USER": user.pw_name, "LOGNAME": user.pw_name})
            if user.pw_name == "root":
                env.update({"HOME": "/root", "SHELL": "/bin/sh"})
            elif user.pw_name != "nobody":
                if user.pw_dir not in ("", "/"):
                    env["HOME"] = user.pw_dir
                if not user.pw_shell.endswith(("nologin", "false")):
                    env["SHELL"] = user.pw_shell
        for assignment in config.environment:
            key, _, value = assignment.partition("=")
            env[key] = value

        def read(path):     # read at spawn time on the running machine, like the command's paths
            with open(path, "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        try:
            from_files, _ = envfile.load(config.environment_files, read, unit=self.unit.id)
        except OSError:
            raise JobFailed("resources") from None
        env.update(from_files)
        for key in config.pass_environment:
            if key in outer:
                env[key] = outer[key]
        for key in config.unset_environment:
            name, sep, value = key.partition("=")
            if not sep or env.get(name) == value:
                env.pop(name, None)
        env.update(extra or {})
        return env

    def _user(self):
        if not self.config.user:
            return None
        import pwd
        try:
            return pwd.getpwnam(self.config.user)
        except KeyError:
            raise JobFailed("resources") from None

    def credentials(self, command) -> dict:
        config = self.config
        creds = {"umask": config.umask}
        if command.full_privileges or command.no_setuid or not (config.user or config.group):
            return creds
        import grp
        user = self._user()
        try:
            gid = grp.getgrnam(config.group).gr_gid if config.group else (user.pw_gid if user else None)
            extra = [grp.getgrnam(name).gr_gid for name in config.supplementary_groups]
        except KeyError:
            raise JobFailed("resources") from None
        groups = (os.getgrouplist(user.pw_name, gid) if user else []) + extra
        creds.update(uid=user.pw_uid if user else None, gid=gid, groups=sorted(set(groups)))
        return creds

    def working_directory(self) -> str:
        config = self.config
        if config.working_directory_home:
            user = self._user()
            return user.pw_dir if user else "/root"
        path = config.working_directory or "/"
        if config.working_directory_optional and not os.path.isdir(path):
            return "/"
        return path

    def argv(self, command, env) -> list:
        argv = execline.expand_command(command, env)
        path = command.path
        if "/" not in path:
            found = execline.find_executable(path)
            if found is None:
                raise FileNotFoundError(2, "No such file or directory", path)
            path = found
        return [path] + list(argv[1:]) if argv and argv[0] == command.path else [path] + list(argv)

    # --- running ---------------------------------------------------------------------------------
    def _steps(self, verb: str) -> list:
        """(command, role, directive) for one job, in systemd's order."""
        config = self.config
        if verb == "start":
            return ([(c, "condition", "ExecCondition") for c in config.exec_condition] +
                    [(c, "control", "ExecStartPre") for c in config.exec_start_pre] +
                    [(c, "main", "ExecStart") for c in config.exec_start] +
                    [(c, "control", "ExecStartPost") for c in config.exec_start_post])
        if verb == "stop":
            return [(c, "control", "ExecStop") for c in config.exec_stop]
        if verb == "stop-post":
            return [(c, "control", "ExecStopPost") for c in config.exec_stop_post]
        return [(c, "control", "ExecReload") for c in config.exec_reload]

    def _run(self, verb: str, record, *, cgroup=None, extra_env=None):
        """All the commands of one job, in systemd's order. Returns (result of the command that
        counts, invocation id, outcome) as Runner._run does for a script; outcome "condition"
        when ExecCondition= said no (exit 1-254: the unit is skipped, not failed)."""
        config, unit = self.config, self.unit
        invocation = record.invocation_id if verb != "start" and record.invocation_id \
            else uuid.uuid4().hex
        self._invocation = invocation
        log = self.store.prepare_log(unit.id)
        if verb in ("start", "stop", "reload"):
            _log(log, "%s %s..." % ({"start": "Starting", "stop": "Stopping",
                                     "reload": "Reloading"}[verb], self.title()))
        main_pid = self.rt.main_pid if self.rt else 0
        extra = self.directory_environment()
        extra.update(extra_env or {})
        if verb in ("stop", "reload") and main_pid:
            extra["MAINPID"] = str(main_pid)
        kept = None
        outcome = "success"
        # NotifyAccess=exec/all: control processes may talk to the keeper's socket too
        self._notify_socket = ""
        if config.notify_access in ("exec", "all") and self.rt is not None and \
                self.rt.tracking.keeper is not None and verb != "start":
            self._notify_socket = os.path.join(self.store.directory, "notify",
                                               str(self.rt.tracking.keeper.pid))
        for command, role, key in self._steps(verb):
            self._key = key
            if self._notify_socket and not (role == "main" and config.type != "oneshot"):
                extra["NOTIFY_SOCKET"] = self._notify_socket
            keep = role == "main" and config.type != "oneshot"
            ready = ("notify" if config.type == "notify" else
                     "exec" if config.type in SIMPLE_TYPES else "exit") if keep else "exit"
            result, outcome = self._one(command, verb, record, invocation, log, extra,
                                        keep=keep, ready=ready, cgroup=cgroup)
            if keep:
                kept = result
                if result.keeper is not None and config.notify_access in ("exec", "all"):
                    self._notify_socket = os.path.join(self.store.directory, "notify",
                                                       str(result.keeper.pid))
            elif role == "main" and result.control is not None:
                # a oneshot: the ExecStart= that ran is its main process (Main PID: ... (code=))
                killed = result.signal or (9 if result.timed_out else 0)
                record.main_exit = {"pid": result.control.pid, "code": "killed" if killed else "exited",
                                    "status": killed or result.returncode or 0, "time": time.time()}
            if role == "condition" and outcome == "exit-code" and 0 < (result.returncode or 0) < 255:
                outcome = "condition"
            if outcome != "success" and not command.ignore_errors:
                break
            outcome = "success"
        if kept is None:
            kept = capture.CaptureResult(returncode=0, tracking=Tracking())
        return kept, invocation, outcome

    def title(self) -> str:
        """How systemd names the unit in its messages: "name - Description"."""
        description = self.config.description
        return "%s - %s" % (self.unit.id, description) if description else self.unit.id

    def _spec_extra(self, keep: bool, ready: str) -> dict:
        """What the anchor needs beyond the command: the execution environment, and for a
        keeper its notify socket, its console copy and what it becomes after the main process."""
        extra = self.exec_extras()
        if not keep:
            return extra
        store, unit, config = self.store, self.unit, self.config
        extra["unit"] = unit.id
        console = store.console_path()
        if console:
            extra["console"] = console
        if ready == "notify" or config.notify_access not in ("", "none") or config.watchdog_usec:
            extra["notify"] = {"dir": os.path.join(store.directory, "notify"),
                               "access": config.notify_access or "main",
                               "state_path": store.notify_path(unit.id)}
            if config.watchdog_usec and config.watchdog_usec < 2 ** 63:
                extra["watchdog_usec"] = config.watchdog_usec
        extra["on_exit"] = [sys.executable, "-S", "-s", "-m", "shim.engine.afterexit", unit.id,
                            self._invocation, "--log-name", self._log_name]
        env = {k: v for k, v in self.ctx.env.items() if k.startswith("SYSTEMCTL_SHIM_")}
        env.update(PATH=DEFAULT_PATH, PYTHONPATH=capture.keeper_pythonpath(),
                   LANG=self.ctx.env.get("LANG") or "C.UTF-8")
        extra["on_exit_env"] = env
        return extra

    def exec_extras(self) -> dict:
        """Limits, nice level and output targets for the anchor (shim/engine/execenv.py)."""
        from shim.engine import execenv
        return execenv.spawn_extras(self.config, warn=self._warn_in_log)

    def _warn_in_log(self, text: str) -> None:
        _log(self.store.log_path(self.unit.id), "%s: %s" % (self.unit.id, text))

    def _one(self, command, verb, record, invocation, log, extra, *, keep, ready, cgroup):
        unit, ctx, config = self.unit, self.ctx, self.config
        env = self.environment(extra)

        def on_spawn(ref):
            record.control = Control(ref.pid, ref.starttime, verb)
            self.store.save(unit.id, record)
        if ready == "exec":
            timeout = None
        elif verb.startswith("stop"):
            timeout = config.timeout_stop_usec / 1e6 if 0 < config.timeout_stop_usec < 2 ** 63 else None
        else:
            timeout = config.timeout_start_usec / 1e6 if 0 < config.timeout_start_usec < 2 ** 63 else None
        self._log_name = os.path.basename(command.path)
        try:
            argv = self.argv(command, env)
            result = capture.run_captured(
                argv, env=env, invocation_id=invocation, cwd=self.working_directory(),
                log_path=log, cgroup=cgroup, on_spawn=on_spawn, proc_root=ctx.proc, keep=keep,
                timeout=timeout,
                exit_path=self.store.exit_path(unit.id) if keep else None,
                pidfiles=(config.pid_file,) if keep and config.pid_file else (),
                log_name=os.path.basename(command.path), ready=ready,
                credentials=self.credentials(command), extra=self._spec_extra(keep, ready))
        except OSError as error:
            # systemd: status=203/EXEC, the unit fails (with '-': skipped, counts as success)
            record.control = None
            record.last_exec = {"verb": verb, "pid": 0, "code": "exited", "status": 203,
                                "time": time.time(), "key": self._key,
                                "cmd": " ".join(command.argv)}
            record.execs = tuple(record.execs)[-15:] + (record.last_exec,)
            _log(log, "%s: Failed to execute %s: %s" % (unit.id, command.path,
                                                        error.strerror or error))
            return capture.CaptureResult(returncode=203, tracking=Tracking()), \
                ("success" if command.ignore_errors else "exit-code")
        record.control = None
        if ready in ("exec", "notify") and not result.timed_out and result.returncode == 0 \
                and not result.signal:
            return result, "success"            # the main process: shown as Main PID, not Process:
        if result.timed_out:
            code, status, outcome = "killed", "KILL", "timeout"
            if ready == "notify":
                _log(log, "%s: start operation timed out. Terminating." % unit.id)
        elif result.signal:
            code, status, outcome = "killed", signal_name(result.signal), "signal"
        else:
            clean = config.is_success(result.returncode)
            code, status, outcome = "exited", result.returncode, "success" if clean else "exit-code"
        if ready == "notify" and not result.timed_out:
            from shim.render.status import exit_status_text
            _log(log, "%s: Main process exited, code=%s, status=%s" % (
                unit.id, code, exit_status_text(status, lsb=True) if code == "exited" else status))
        record.last_exec = {"verb": verb, "pid": result.control.pid if result.control else 0,
                            "code": code, "status": status, "time": time.time(), "key": self._key,
                            "cmd": " ".join(command.argv)}
        record.execs = tuple(record.execs)[-15:] + (record.last_exec,)
        return result, outcome

    # --- jobs ----------------------------------------------------------------------------------
    def start(self, automatic: bool = False):
        """A start job. A start that fails is retried as Restart= says (after RestartSec=,
        within the start rate limit), the job going on meanwhile as systemd's does (the unit is
        activating (auto-restart) between tries); then it fails with the last run's result."""
        try:
            os.unlink(self.store.cancel_path(self.unit.id))    # a stale mark of an earlier job
        except OSError:
            pass
        while True:
            try:
                return self._start_once(automatic)
            except _LimitHit as hit:
                raise JobFailed(hit.result) from None
            except JobFailed as failed:
                if self._cancelled():
                    raise JobFailed("canceled") from None
                if not self._retry_after(failed.result):
                    raise
                automatic = True

    def _cancelled(self) -> bool:
        """A stop cancelled this start (jobs._cancel_running_start): the unit ends inactive,
        as after the stop that replaced it, and the job reports "canceled"."""
        path = self.store.cancel_path(self.unit.id)
        try:
            os.unlink(path)
        except OSError:
            return False
        record = self.store.load(self.unit.id)
        if record.state == "failed":
            enter(record, "stopped")
            record.result = "success"
            self.store.save(self.unit.id, record)
        _log(self.store.log_path(self.unit.id), "%s: Start job canceled by a stop." % self.unit.id)
        return True

    def _retry_after(self, result: str) -> bool:
        config, store, unit = self.config, self.store, self.unit
        record = store.load(unit.id)
        ended = record.main_exit or {}
        if result in ("start-limit-hit", "resources", "protocol") or record.state != "failed" or \
                not restart.shall_restart(config, result, ended.get("code", ""), ended.get("status", 0)):
            return False
        enter(record, "auto-restart")
        store.save(unit.id, record)
        time.sleep(config.restart_usec / 1e6)
        record = store.load(unit.id)
        record.n_restarts += 1
        store.save(unit.id, record)
        _log(store.log_path(unit.id), "%s: Scheduled restart job, restart counter is at %d."
             % (unit.id, record.n_restarts))
        return True

    def _start_once(self, automatic: bool):
        """One start of the unit. `automatic`: Restart='s (the rate limit then ends the unit
        with its last result, as systemd does)."""
        unit, config, store = self.unit, self.config, self.store
        if config.dynamic_user and not config.user:
            # Never run as root what asked for a transient unprivileged user.
            raise ShimError("Failed to start %s: DynamicUser= is not supported by systemctl-shim "
                            "(no transient users here); set User= in a drop-in." % unit.id)
        self._await_reaping()
        record = store.load(unit.id)
        now = time.time()
        log = store.prepare_log(unit.id)
        if not restart.within_limit(config, record.start_times, now):
            # The unit keeps the result of its last run if that failed (what Restart= was
            # retrying, and what a manual start then reports); else start-limit-hit [measured].
            _log(log, "%s: Start request repeated too quickly." % unit.id)
            result = record.result if record.result != "success" else "start-limit-hit"
            _log(log, "%s: Failed with result '%s'." % (unit.id, result))
            enter(record, "failed")
            record.result, record.inactive_since = result, now
            store.save(unit.id, record)
            _log(log, "Failed to start %s." % self.title())
            raise _LimitHit(result)
        record.start_times = tuple(restart.recent_starts(config, tuple(record.start_times) + (now,), now))
        record.execs = ()                             # a new run: its own Process: lines
        unit_cgroup = self._new_cgroup()
        if config.type == "dbus":
            _log(log, "%s: Type=dbus is run as Type=simple: without a D-Bus manager here, "
                 "the appearance of BusName=%s is not waited for." % (unit.id, config.bus_name))
        try:
            extra_env = self.prepare_directories()
        except _DirectoryFailed as failed:
            # systemd: the command that was to run exits with 233..241 without running
            command, _, key = (self._steps("start") or [(None, "", "ExecStart")])[0]
            _log(log, "%s: %s" % (unit.id, failed.error.message))
            record.last_exec = {"verb": "start", "pid": 0, "code": "exited",
                                "status": failed.error.status, "time": time.time(), "key": key,
                                "cmd": " ".join(command.argv) if command else ""}
            record.execs = (record.last_exec,)
            if config.type in ("simple", "idle", "dbus"):
                # the job was done once the main process was forked; then it exited 233
                record.main_exit = {"pid": 0, "code": "exited", "status": failed.error.status,
                                    "time": time.time()}
                record.execs = ()
                self._finish_failed_start(record, Tracking(), "exit-code")
                return
            self._finish_failed_start(record, Tracking(), "exit-code")
            raise JobFailed("exit-code") from None
        result, invocation, outcome = self._run("start", record, cgroup=unit_cgroup,
                                                extra_env=extra_env)
        tracking = self._adopt_run(record, result, invocation, unit_cgroup)
        if outcome == "condition":
            _log(log, "%s was skipped because of an unmet condition check (ExecCondition=)."
                 % self.title())
            self._finish_failed_start(record, tracking, "success", skipped=True)
            return
        if outcome == "success" and config.type == "forking" and config.pid_file \
                and tracking.main is None:
            _log(log, "%s: Can't open PID file %s (yet?) after start: No such file or directory"
                 % (unit.id, config.pid_file))
            outcome = "protocol"
        if outcome != "success":
            if result.control is not None and config.type != "oneshot":
                # the main process ended before it was started (notify), or exec failed
                record.main_exit = store.main_exit(unit.id, result.control) or record.main_exit
            self._finish_failed_start(record, tracking, outcome)
            raise JobFailed(outcome)
        enter(record, "started")
        record.result, record.active_since = "success", time.time()
        store.save(unit.id, record)
        from shim.backends import reloadstate
        reloadstate.stamp(self.manager, unit, record)   # what this run was loaded from
        if config.type == "oneshot" and not config.remain_after_exit:
            self.refresh()
            if not self.manager.inspector.members(self.rt):
                self._run("stop-post", record, extra_env=self._result_env("success"))
                record = store.load(unit.id)
                enter(record, "stopped")            # a oneshot that finished: inactive (dead)
                record.inactive_since = time.time()
                record.tracking = Tracking()
                store.save(unit.id, record)
                _log(log, "%s: Deactivated successfully." % unit.id)
                _log(log, "Finished %s." % self.title())
                return
        _log(log, ("Finished %s." if config.type == "oneshot" else "Started %s.") % self.title())

    def _finish_failed_start(self, record, tracking, result, skipped=False):
        """A start that failed (or was skipped) leaves nothing behind: the kill step, then
        ExecStopPost= (systemd runs it after a failed start too), then failed (or inactive)."""
        store, unit = self.store, self.unit
        store.save(unit.id, record)
        stopping.kill_step(self, tracking, main_pid=tracking.main.pid if tracking.main else 0)
        self._run("stop-post", record, extra_env=self._result_env(result))
        record.control = None
        enter(record, "stopped" if skipped else "failed")
        record.result, record.inactive_since = result, time.time()
        record.tracking = Tracking()
        store.save(unit.id, record)
        self.remove_directories()
        if not skipped:
            _log(store.log_path(unit.id), "%s: Failed with result '%s'." % (unit.id, result))
            _log(store.log_path(unit.id), "Failed to start %s." % self.title())

    def _result_env(self, result: str, main_exit=None) -> dict:
        """$SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS for ExecStop=/ExecStopPost= (systemd.exec)."""
        env = {"SERVICE_RESULT": result}
        if main_exit:
            env["EXIT_CODE"] = main_exit["code"]
            status = main_exit["status"]
            env["EXIT_STATUS"] = str(status) if main_exit["code"] == "exited" else \
                signal_name(status)
        return env

    def stop(self):
        unit, store = self.unit, self.store
        rt = self.rt
        tracking = self.manager.inspector.tracking_for(rt)
        if not rt.is_active and rt.active_state not in ("activating", "deactivating", "reloading") \
                and not self.manager.inspector.members(rt):
            if tracking.cgroup:
                cgroups.remove(tracking.cgroup)
            self.remove_directories()
            return self._mark_stopped(keep_failed=True)
        record = store.load(unit.id)
        if record.state == "auto-restart":            # stop cancels the pending restart
            return self._mark_stopped()
        self.finish_run(record, tracking, rt.main_pid, ran_ok=record.state == "started")

    def finish_run(self, record, tracking, main_pid, *, ran_ok, result="success", main_exit=None,
                   announce=True, restarting=None):
        """systemd's stop sequence: ExecStop= (only after a good start), the kill step,
        ExecStopPost=, then inactive, or failed with the run's result (a stop timeout, an
        unclean main exit). Returns the unit's Result."""
        unit, store = self.unit, self.store
        log = store.log_path(unit.id)
        if ran_ok and self.config.exec_stop:
            self._run("stop", record, extra_env=self._result_env(result, main_exit))
            store.save(unit.id, record)
        elif ran_ok and announce:
            _log(log, "Stopping %s..." % self.title())
        timed_out = stopping.kill_step(self, tracking, main_pid=main_pid)
        if main_exit is None and tracking.main is not None:
            main_exit = self._await_main_exit(tracking)
        if result == "success" and main_exit:
            result = restart.main_result(self.config, main_exit["code"], main_exit["status"])
        if timed_out:
            result = "timeout"
        _, _, post = self._run("stop-post", record, extra_env=self._result_env(result, main_exit))
        if post == "timeout":
            _log(log, "%s: State 'stop-post' timed out. Terminating." % unit.id)
            if result == "success":
                result = "timeout"          # the run's first failure stays its result
        if tracking.cgroup:
            cgroups.remove(tracking.cgroup)
        self.remove_directories(self.restarting if restarting is None else restarting)
        record = store.load(unit.id)
        record.control = None
        record.tracking = Tracking()
        record.kill_signal = 0
        record.inactive_since = time.time()
        if main_exit:
            record.main_exit = dict(main_exit)
        if result == "success":
            enter(record, "stopped")
            record.result = "success"
            _log(log, "%s: Deactivated successfully." % unit.id)
        else:
            enter(record, "failed")
            record.result = result
            _log(log, "%s: Failed with result '%s'." % (unit.id, result))
        store.save(unit.id, record)
        if announce:
            _log(log, "Stopped %s." % self.title())
        self.refresh()
        return result

    def _await_main_exit(self, tracking, timeout=1.0):
        """The main process is gone (the kill step saw it go): its keeper reaps it and writes how
        it ended a moment later."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.store.main_exit(self.unit.id, tracking.main)
            if found or time.monotonic() >= deadline or \
                    not (tracking.keeper and tracking.keeper.alive(self.ctx.proc)):
                return found or self.store.main_exit(self.unit.id, tracking.main)
            time.sleep(0.01)

    def reload(self):
        if not self.config.exec_reload:
            raise ShimError("Failed to reload %s: Job type reload is not applicable for unit %s."
                            % (self.unit.id, self.unit.id), 3)
        super().reload()
        if self.config.type == "notify":
            self._await_reload_done()
        _log(self.store.log_path(self.unit.id), "Reloaded %s." % self.title())

    def _await_reload_done(self) -> None:
        """A notify service that said RELOADING=1 is reloaded once it says READY=1 again
        (systemd's reload job waits for it, within TimeoutStartSec=)."""
        config = self.config
        limit = config.timeout_start_usec / 1e6 if 0 < config.timeout_start_usec < 2 ** 63 else 90.0
        began = time.monotonic()
        seen = False
        while time.monotonic() < began + limit:
            reloading = self.store.notify_state(self.unit.id).get("reloading")
            seen = seen or reloading
            # RELOADING=1 is sent by the service on ExecReload='s signal, a moment after the
            # command ended: give it 50 ms to arrive before taking the reload as done
            if not reloading and (seen or time.monotonic() > began + 0.05):
                return
            time.sleep(0.01)

    # --- the unit's directories (RuntimeDirectory= and friends) --------------------------------
    def prepare_directories(self) -> dict:
        from shim.engine import execenv
        user = self._user()
        uid = user.pw_uid if user else 0
        gid = user.pw_gid if user else 0
        if self.config.group:
            import grp
            try:
                gid = grp.getgrnam(self.config.group).gr_gid
            except KeyError:
                raise JobFailed("resources") from None
        try:
            return execenv.prepare_directories(self.ctx, self.config, uid, gid,
                                               warn=self._warn_in_log) or {}
        except execenv.ExecDirectoryError as error:
            raise _DirectoryFailed(error) from None
        except OSError:
            raise JobFailed("resources") from None

    def directory_environment(self) -> dict:
        """$RUNTIME_DIRECTORY and friends, for every command of the unit (stop ones too)."""
        from shim.engine import execenv
        return execenv.directory_environment(self.ctx, self.config)

    def remove_directories(self, restarting: bool = False) -> None:
        from shim.engine import execenv
        try:
            execenv.remove_runtime_directories(self.ctx, self.config, restarting=restarting)
        except OSError:
            pass


class _LimitHit(JobFailed):
    """The start rate limit refused a start (its result: the unit's)."""


class _DirectoryFailed(Exception):
    def __init__(self, error):
        super().__init__(error.message)
        self.error = error
