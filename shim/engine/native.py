"""Jobs of a native unit (a `.service` file): the same Runner as for scripts, with the commands,
environment and credentials taken from its `UnitConfig` the way systemd 252 runs them
(unit-files.md sections 8-10).

Start: ExecStartPre= (each a control process), ExecStart= (Type=simple/exec/idle: the command
is the main process, held by the unit's keeper; forking: the command's exit ends the start and
the keeper holds what it left; oneshot: each line in turn), ExecStartPost=. Stop: ExecStop= with
$MAINPID, then the kill step, then ExecStopPost=. Reload: ExecReload=.
Not yet: Type=notify (refused with a clear message rather than reported started), Restart=,
Condition*, dependencies.
"""

import os
import time
import uuid

from shim.backends import envfile, execline
from shim.engine.jobs import JobFailed, Runner, _log, enter
from shim.errors import ShimError
from shim.proc import capture
from shim.proc.signals import signal_name
from shim.proc.tracking import Tracking
from shim.state import Control

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SIMPLE_TYPES = ("simple", "exec", "idle", "dbus")


class NativeRunner(Runner):
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

    # --- running -------------------------------------------------------------------------------
    def _run(self, verb: str, record, *, cgroup=None):
        """All the commands of one job, in systemd's order. Returns (result of the command that
        counts, invocation id, outcome) as Runner._run does for a script."""
        config, unit = self.config, self.unit
        if verb == "start" and config.type == "notify":
            raise ShimError("Failed to start %s: Type=notify is not supported yet by "
                            "systemctl-shim (READY=1 would never be awaited)." % unit.id)
        invocation = uuid.uuid4().hex
        log = self.store.prepare_log(unit.id)
        _log(log, "%s %s..." % ({"start": "Starting", "stop": "Stopping",
                                 "reload": "Reloading"}.get(verb, verb), unit.id))
        main_pid = self.rt.main_pid if self.rt else 0
        extra = {"MAINPID": str(main_pid)} if verb in ("stop", "reload") and main_pid else {}
        if verb == "start":
            steps = ([(c, "control") for c in config.exec_start_pre] +
                     [(c, "main") for c in config.exec_start] +
                     [(c, "control") for c in config.exec_start_post])
        elif verb == "stop":
            steps = [(c, "control") for c in config.exec_stop]
        else:
            steps = [(c, "control") for c in config.exec_reload]
        kept = None
        outcome = "success"
        keys = {id(c): k for k, cs in (("ExecStartPre", config.exec_start_pre),
                                       ("ExecStart", config.exec_start),
                                       ("ExecStartPost", config.exec_start_post),
                                       ("ExecStop", config.exec_stop),
                                       ("ExecReload", config.exec_reload)) for c in cs}
        for command, role in steps:
            self._key = keys.get(id(command), "ExecStart")
            keep = role == "main" and config.type != "oneshot"
            ready = "exec" if keep and config.type in SIMPLE_TYPES else "exit"
            result, outcome = self._one(command, verb, record, invocation, log, extra,
                                        keep=keep, ready=ready, cgroup=cgroup)
            if keep:
                kept = result
            if outcome != "success" and not command.ignore_errors:
                break
            outcome = "success"
        if kept is None:
            kept = capture.CaptureResult(returncode=0, tracking=Tracking())
        return kept, invocation, outcome

    def _one(self, command, verb, record, invocation, log, extra, *, keep, ready, cgroup):
        unit, ctx, config = self.unit, self.ctx, self.config
        env = self.environment(extra)

        def on_spawn(ref):
            record.control = Control(ref.pid, ref.starttime, verb)
            self.store.save(unit.id, record)
        try:
            argv = self.argv(command, env)
            result = capture.run_captured(
                argv, env=env, invocation_id=invocation, cwd=self.working_directory(),
                log_path=log, cgroup=cgroup, on_spawn=on_spawn, proc_root=ctx.proc, keep=keep,
                timeout=None if ready == "exec" else (config.timeout_start_usec / 1e6
                                                      if config.timeout_start_usec < 2 ** 63 else None),
                exit_path=self.store.exit_path(unit.id) if keep else None,
                pidfiles=(config.pid_file,) if keep and config.pid_file else (),
                log_name=os.path.basename(command.path), ready=ready,
                credentials=self.credentials(command))
        except OSError as error:
            # systemd: status=203/EXEC, the unit fails (with '-': skipped, counts as success)
            record.control = None
            record.last_exec = {"verb": verb, "pid": 0, "code": "exited", "status": 203,
                                "time": time.time(), "key": self._key,
                                "cmd": " ".join(command.argv)}
            _log(log, "%s: Failed to execute %s: %s" % (unit.id, command.path,
                                                        error.strerror or error))
            return capture.CaptureResult(returncode=203, tracking=Tracking()), \
                ("success" if command.ignore_errors else "exit-code")
        record.control = None
        if ready == "exec":
            return result, "success"            # the main process: shown as Main PID, not Process:
        if result.timed_out:
            code, status, outcome = "killed", "KILL", "timeout"
        elif result.signal:
            code, status, outcome = "killed", signal_name(result.signal), "signal"
        else:
            clean = config.is_success(result.returncode)
            code, status, outcome = "exited", result.returncode, "success" if clean else "exit-code"
        record.last_exec = {"verb": verb, "pid": result.control.pid if result.control else 0,
                            "code": code, "status": status, "time": time.time(), "key": self._key,
                            "cmd": " ".join(command.argv)}
        return result, outcome

    # --- jobs ----------------------------------------------------------------------------------
    def start(self):
        super().start()
        if self.config.type == "oneshot" and not self.config.remain_after_exit:
            record = self.store.load(self.unit.id)
            if record.state == "started" and not record.tracking.processes:
                enter(record, "stopped")            # a oneshot that finished: inactive (dead)
                record.inactive_since = time.time()
                self.store.save(self.unit.id, record)

    def reload(self):
        if not self.config.exec_reload:
            raise ShimError("Failed to reload %s: Job type reload is not applicable for unit %s."
                            % (self.unit.id, self.unit.id), 3)
        super().reload()
