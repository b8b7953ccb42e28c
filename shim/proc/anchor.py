"""The anchor of one command tree: child subreaper of a command and of everything it leaves.

`capture.run_captured()` runs every command of a unit under an anchor, so that the processes the
command leaves behind (double-forked, setsid'd, with a cleared environment) are re-parented to it
and are exactly its descendants; the caller's other children are never among them. For a start,
the anchor stays as the unit's **keeper**: a small resident process, `python3 -m
shim.proc.anchor`, in its own session, that holds the unit's tree for as long as any of it
lives, reaps it, and writes down how the main process ended. It answers nobody: everything it
knows is in /proc (its descendants) or in the file it writes, so a keeper that is SIGKILLed
costs exactness, never correctness (membership falls back to the recorded processes, sessions
and INVOCATION_ID markers).

Protocol with the caller, one line each on `report_fd`: `control PID STARTTIME` once the command
runs, `exit CODE TIMED_OUT` when it ended (CODE negative for a signal), `error TEXT` if it could
not run. The caller answers on `release_fd` with `main PID STARTTIME` (or `main 0 0`) once it
has looked at the tree, or closes it. Knows nothing of units.
"""

import os
import sys
import time

try:
    import _signal as signal    # the C module: `signal` wraps it in enum (and functools, ...)
except ImportError:             # pragma: no cover - another Python implementation
    import signal

from shim.proc.identity import ProcessRef

# A keeper lives as long as its unit: it imports nothing it does not need (no subprocess, json,
# re or ctypes: together they would triple its private memory). The spec comes as marshal, the
# caller sets PR_SET_CHILD_SUBREAPER before exec (it survives execve), the command is spawned
# with fork and exec.

LOGINUID_UNSET = "4294967295"      # (uid_t) -1: "no login", set in the child so that a login
                                   # started inside the service later is told apart by pam_loginuid
TERM_GRACE = 5.0                   # seconds between SIGTERM and SIGKILL for a command that timed out
RATE_INTERVAL, RATE_BURST = 30.0, 10000    # journald's defaults, per unit's log, and at most
RATE_BYTES = 192 * 1024                    # this much text per interval: less than the log's
                                           # rotation size, so a flood never rotates away what
                                           # the shim itself said about the unit


class _Timeout(Exception):
    pass


def _write_file(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def _spawn(spec: dict, output_fd=None) -> int:
    """fork + exec the command: a new session, the unit's cgroup joined before exec (so all it
    forks is in it from the start), login uid reset, stdin /dev/null, output to the log. An exec
    failure comes back through a close-on-exec pipe as OSError, like subprocess's."""
    proc_root = spec.get("proc_root", "/proc")
    if output_fd is not None:
        log_fd = os.dup(output_fd)           # the keeper's pipe: it timestamps the lines
    else:
        log_fd = os.open(spec.get("log_path") or os.devnull,
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    null_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    # StandardOutput=/StandardError=: opened here, as root, before the uid change (as systemd's
    # PID 1 opens them); None is the unit's log.
    out_fd = _open_output(spec.get("stdout"), log_fd, null_fd)
    err_target = spec.get("stderr")           # ("inherit",): wherever stdout goes
    err_fd = out_fd if err_target and err_target[0] == "inherit" else \
        _open_output(err_target, log_fd, null_fd)
    err_r, err_w = os.pipe()                 # both O_CLOEXEC (PEP 446)
    argv, env = spec["argv"], spec["env"]
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if spec.get("cgroup"):
                _write_file(os.path.join(spec["cgroup"], "cgroup.procs"), "0")
            _write_file("%s/self/loginuid" % proc_root, LOGINUID_UNSET)
            for signo in (signal.SIGPIPE, signal.SIGHUP, signal.SIGINT, signal.SIGTERM,
                          signal.SIGALRM, signal.SIGCHLD):
                signal.signal(signo, signal.SIG_DFL)
            os.dup2(null_fd, 0)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            os.closerange(3, err_w)
            os.closerange(err_w + 1, 65536)
            if spec.get("rlimits"):
                _set_limits(spec["rlimits"])
            if spec.get("nice") is not None:
                os.setpriority(os.PRIO_PROCESS, 0, spec["nice"])
            if spec.get("umask") is not None:
                os.umask(spec["umask"])
            if spec.get("gid") is not None:          # group first: setuid drops the right to
                os.setgroups(spec.get("groups") or [])
                os.setgid(spec["gid"])
            if spec.get("uid") is not None:
                os.setuid(spec["uid"])
            if spec.get("watchdog_usec"):     # WatchdogSec=: the main process is this one
                env = dict(env, WATCHDOG_USEC=str(spec["watchdog_usec"]), WATCHDOG_PID=str(os.getpid()))
            os.chdir(spec.get("cwd") or "/")
            os.execvpe(argv[0], argv, env)
        except OSError as error:
            os.write(err_w, ("%d:%s" % (error.errno or 0, error.strerror or error)).encode())
        except Exception as error:          # noqa: BLE001 - whatever it is, the parent hears it
            os.write(err_w, ("0:%s: %s" % (type(error).__name__, error)).encode())
        finally:
            os._exit(127)
    os.close(err_w)
    for fd in {log_fd, null_fd, out_fd, err_fd}:
        os.close(fd)
    failure = b""
    while True:
        chunk = os.read(err_r, 512)
        if not chunk:
            break
        failure += chunk
    os.close(err_r)
    if failure:
        os.waitpid(pid, 0)
        errno, _, text = failure.decode("utf-8", "replace").partition(":")
        raise OSError(int(errno) if errno.isdigit() else 0, "%s: %s" % (text, argv[0]))
    return pid


def _set_limits(limits) -> None:
    """Limit*= in the child. A hard limit above what this process may raise it to (no
    CAP_SYS_RESOURCE, as in many containers) is lowered to the most it can have, rather than
    failing the unit over systemd's DefaultLimitNOFILE=1024:524288."""
    import resource                          # only in the child, only when asked for
    for number, soft, hard in limits:
        try:
            resource.setrlimit(number, (soft, hard))
        except (ValueError, OSError):
            ceiling = resource.getrlimit(number)[1]
            if ceiling != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > ceiling):
                hard = ceiling
            if soft == resource.RLIM_INFINITY or (hard != resource.RLIM_INFINITY and soft > hard):
                soft = hard
            resource.setrlimit(number, (soft, hard))


def _open_output(target, log_fd: int, null_fd: int) -> int:
    """A descriptor for one StandardOutput=/StandardError= target: (mode, path) or None (the
    log). file: writes from the start without truncating, append: appends, truncate: truncates,
    null and inherit (of stdin, which is /dev/null) go nowhere, tty: the path, for writing."""
    if target is None:
        return os.dup(log_fd)
    mode, path = target[0], target[1] if len(target) > 1 else ""
    if mode in ("null", "inherit") or not path:       # stdout's inherit: stdin, /dev/null
        return os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOCTTY | os.O_CLOEXEC
    flags |= {"append": os.O_APPEND, "truncate": os.O_TRUNC}.get(mode, 0)
    if mode == "tty":
        flags &= ~os.O_CREAT
    return os.open(path, flags, 0o644)


def _waitpid(pid: int, timeout):
    """Exit status of pid, or None if `timeout` seconds passed first (SIGALRM, not polling)."""
    if timeout is None or timeout <= 0:
        return os.waitpid(pid, 0)[1]

    def expire(signo, frame):
        raise _Timeout()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return os.waitpid(pid, 0)[1]
    except _Timeout:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _wait(pid: int, timeout):
    """(wait status, timed_out). On timeout SIGTERM, then SIGKILL, the command's process group
    (its own pid: it leads a new session), never a looked-up id."""
    status = _waitpid(pid, timeout)
    if status is not None:
        return status, False
    for signo, grace in ((signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(pid, signo)
        except ProcessLookupError:
            pass
        status = _waitpid(pid, grace)
        if status is not None:
            return status, True
    return os.waitpid(pid, 0)[1], True


def _send(fd: int, line: str) -> None:
    os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))


def _reap_ready() -> list:
    """Collect the dead children now (processes of the tree that already ended)."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append((pid, status))


def _read_release(fd: int):
    """The caller's answer: the main process to watch, or None (also when the caller is gone)."""
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = os.read(fd, 64)
        except InterruptedError:
            continue
        if not chunk:
            break
        data += chunk
    words = data.decode("ascii", "replace").split()
    if len(words) == 3 and words[0] == "main" and words[1].isdigit() and words[2].isdigit():
        pid, starttime = int(words[1]), int(words[2])
        return ProcessRef(pid, starttime) if pid > 1 else None
    return None


def exit_record(pid: int, starttime: int, status: int) -> dict:
    """How a process ended, in systemd's words (ExecMainCode/ExecMainStatus)."""
    if os.WIFSIGNALED(status):
        code = "dumped" if os.WCOREDUMP(status) else "killed"
        value = os.WTERMSIG(status)
    else:
        code, value = "exited", os.WEXITSTATUS(status)
    return {"pid": pid, "starttime": starttime, "code": code, "status": value, "time": time.time()}


def write_exit(path: str, record: dict) -> None:
    """Atomically, as JSON (written by hand: only numbers and a fixed word go in)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    text = '{"pid": %d, "starttime": %d, "code": "%s", "status": %d, "time": %r}' % (
        record["pid"], record["starttime"], record["code"], record["status"], record["time"])
    try:
        with open(tmp, "w") as handle:
            handle.write(text)
        os.rename(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class _Log:
    """The unit's output as journal-like lines ('Dec 01 21:40:00 host name[pid]: text'), appended
    to its log file, which is rotated once (to .1) when it passes `limit` bytes."""

    def __init__(self, path, name, limit=256 * 1024, console="", unit=""):
        self.path, self.name, self.limit = path, name, limit
        self.host = os.uname().nodename.split(".")[0]
        self.partial = b""
        self.pid = 0
        self.unit = unit or name
        self.window, self.count, self.bytes, self.suppressed = time.monotonic(), 0, 0, 0
        self.console = -1
        if console:
            # The container's PID 1 asked for a copy (`docker logs`): never block on it, a full
            # pipe loses lines rather than stalling the unit.
            try:
                self.console = os.open(console, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY |
                                       os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                self.console = -1

    def feed(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > 4096:             # an endless line is cut, as journald does
            lines.append(self.partial)
            self.partial = b""
        self._write(self._rate_limited(lines))

    def _rate_limited(self, lines) -> list:
        """journald's per-service rate limit (RateLimitIntervalSec=30s, RateLimitBurst=10000),
        plus RATE_BYTES: a firehose cannot rotate away what the shim logs about the unit."""
        now = time.monotonic()
        notice = []
        if now - self.window >= RATE_INTERVAL:
            if self.suppressed:
                notice = [b"Suppressed %d messages from %s" % (self.suppressed, self.unit.encode())]
            self.window, self.count, self.bytes, self.suppressed = now, 0, 0, 0
        kept = []
        for line in lines:
            if self.count >= RATE_BURST or self.bytes + len(line) > RATE_BYTES:
                self.suppressed += 1
                continue
            self.count += 1
            self.bytes += len(line) + 1
            kept.append(line)
        return notice + kept

    def close(self) -> None:
        if self.partial:
            self._write([self.partial])
            self.partial = b""

    def _write(self, lines) -> None:
        if not lines or not self.path:
            return
        stamp = time.strftime("%b %d %H:%M:%S")
        head = "%s %s %s[%d]: " % (stamp, self.host, self.name, self.pid)
        texts = [line.decode("utf-8", "replace").rstrip("\r") for line in lines]
        text = "".join(head + line + "\n" for line in texts)
        if self.console >= 0:
            prefix = "%s[%d]: " % (self.unit, self.pid)
            try:
                os.write(self.console, "".join(prefix + line + "\n" for line in texts)
                         .encode("utf-8", "replace"))
            except OSError:
                pass
        try:
            if os.path.getsize(self.path) > self.limit:
                os.replace(self.path, self.path + ".1")
        except OSError:
            pass
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                os.write(fd, text.encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass


class _Keeper:
    """A start's anchor once the command runs: holds the tree until nothing of it lives, reaps
    whatever dies (orphans re-parent here), writes down the main process's end, turns the tree's
    output into log lines and, for a unit that speaks sd_notify, listens on its socket. Woken by
    SIGCHLD (through a wakeup descriptor), output and notify messages: there is no polling."""

    def __init__(self, spec, output_r, log, wakeup, notify):
        self.spec = spec
        self.exit_path = spec.get("exit_path")
        self.output_r, self.log, self.notify = output_r, log, notify
        self.wakeup = wakeup or _Wakeup()
        self.main = None

    def _watched(self) -> list:
        return [fd for fd in (self.wakeup.r, self.output_r,
                              self.notify.fileno() if self.notify else None) if fd is not None]

    def _service(self, ready) -> list:
        """Handle what woke us: output to the log, notify messages (returned)."""
        if self.wakeup.r in ready:
            self.wakeup.clear()
        if self.output_r is not None and self.output_r in ready:
            data = os.read(self.output_r, 65536)
            if data:
                self.log.feed(data)
            else:
                os.close(self.output_r)
                self.output_r = None
        messages = []
        if self.notify is not None and self.notify.fileno() in ready:
            messages = self.notify.receive(self.main.pid if self.main else 0,
                                           self._is_ours, self._log_line)
            for fields in messages:
                self.notify.apply(fields)
                if "MAINPID" in fields:
                    self._new_main(fields)
        return messages

    def _new_main(self, fields) -> None:
        """MAINPID=, as systemd's service_is_suitable_main_pid(): never PID 1 or this keeper,
        never a dead process, and a process outside the unit only on root's word ("Supervising
        process X which is not our child"); otherwise refused, the main process unchanged."""
        text = fields["MAINPID"].strip()
        pid = int(text) if text.isdigit() else 0
        unit = self.spec.get("unit", "")
        if self.main is not None and pid == self.main.pid:
            return
        if pid <= 1 or pid == os.getpid():
            self._log_line("%s: New main PID %d %s, refusing." % (
                unit, pid, "is the manager" if pid else "is invalid"))
            return
        ref = ProcessRef.of(pid, self.spec.get("proc_root", "/proc"))
        if ref is None:
            self._log_line("%s: New main PID %d does not exist or is a zombie." % (unit, pid))
            return
        if not self._is_ours(pid):
            if fields.get("\0uid") != 0:
                self._log_line("%s: New main PID %d does not belong to service, refusing."
                               % (unit, pid))
                return
            self._log_line("%s: Supervising process %d which is not our child. We'll most "
                           "likely not notice when it exits." % (unit, pid))
        self.main = ref
        self.notify.state["mainpid"], self.notify.state["mainstart"] = pid, ref.starttime
        _notify_module().write_state(self.notify.state_path, self.notify.state)

    def _is_ours(self, pid: int) -> bool:
        """A process of the unit: a descendant of this keeper, or one of this invocation's
        control processes (NotifyAccess=exec/all; they run under other anchors and carry the
        unit's INVOCATION_ID)."""
        proc_root = self.spec.get("proc_root", "/proc")
        if self._below_us(pid, proc_root):
            return True
        marker = ("INVOCATION_ID=%s" % self.spec["env"].get("INVOCATION_ID", "")).encode()
        try:
            with open("%s/%d/environ" % (proc_root, pid), "rb") as handle:
                return len(marker) > 14 and marker in handle.read(1 << 20).split(b"\0")
        except OSError:
            return False

    def _below_us(self, pid: int, proc_root: str) -> bool:
        for _ in range(4096):
            try:
                with open("%s/%d/stat" % (proc_root, pid), "rb") as handle:
                    data = handle.read()
                pid = int(data[data.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if pid == os.getpid():
                return True
            if pid <= 1:
                return False
        return False

    def _log_line(self, text: str) -> None:
        if self.log is not None:
            self.log._write([text.encode("utf-8", "replace")])

    def _main_ended(self, reaped) -> bool:
        for pid, status in reaped:
            if self.main is not None and pid == self.main.pid:
                if self.exit_path:
                    write_exit(self.exit_path, exit_record(self.main.pid, self.main.starttime, status))
                self.main = None
                return True
        return False

    def await_ready(self, control, timeout):
        """Type=notify: wait for READY=1 from the main process (or whom NotifyAccess= allows),
        extended by EXTEND_TIMEOUT_USEC=. Returns ("ready", None), ("exit", wait status) when
        the main process ended first, or ("timeout", None)."""
        import select
        self.main = control
        deadline = None if not timeout or timeout <= 0 else time.monotonic() + timeout
        while True:
            watched = self.main
            for pid, status in _reap_ready():
                if watched is not None and pid == watched.pid:
                    if self.exit_path:
                        write_exit(self.exit_path, exit_record(pid, watched.starttime, status))
                    self.main = None
                    return "exit", status
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return "timeout", None
            try:
                ready, _, _ = select.select(self._watched(), [], [], remaining)
            except InterruptedError:
                continue
            for fields in self._service(ready):
                extend = _notify_module().extend_usec(fields)
                if extend and deadline is not None:
                    deadline = max(deadline, time.monotonic() + extend / 1e6)
            if self.notify.state["ready"]:
                return "ready", None

    def hold(self, main) -> None:
        import select
        for signo in (signal.SIGHUP, signal.SIGINT):
            signal.signal(signo, signal.SIG_IGN)
        self.main = main
        watchdog = (self.spec.get("watchdog_usec") or 0) / 1e6 if self.notify and main else 0
        deadline = time.monotonic() + watchdog if watchdog else None
        while True:
            if self._main_ended(_reap_ready()) and self.spec.get("on_exit"):
                self._hand_over()               # does not return
            try:
                os.waitpid(-1, os.WNOHANG)          # probe only: raises once no child is left
            except ChildProcessError:
                break
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ready, _, _ = select.select(self._watched(), [], [], timeout)
            except InterruptedError:
                continue
            for fields in self._service(ready):
                if fields.get("WATCHDOG_USEC", "").isdigit():
                    watchdog = int(fields["WATCHDOG_USEC"]) / 1e6
                if fields.get("WATCHDOG") == "1" and watchdog:
                    deadline = time.monotonic() + watchdog
                elif fields.get("WATCHDOG") == "trigger":
                    deadline = time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                deadline = None
                self._watchdog_expired(watchdog)
        self._drain_output()
        if self.notify is not None:
            self.notify.close()

    def _watchdog_expired(self, limit: float) -> None:
        """WatchdogSec= passed without WATCHDOG=1: WatchdogSignal= (SIGABRT) to the main process;
        its end then counts as Result=watchdog."""
        if self.main is None:
            return
        signo = self.spec.get("watchdog_signal") or signal.SIGABRT
        self._log_line("%s: Watchdog timeout (limit %s)!" % (self.spec.get("unit", ""),
                                                          _seconds(limit)))
        self._log_line("%s: Killing process %d with signal %d." % (
            self.spec.get("unit", ""), self.main.pid, signo))
        self.notify.watchdog_fired()
        try:
            os.kill(self.main.pid, signo)        # our child (or re-parented to us): not reused
        except ProcessLookupError:
            pass

    def _drain_output(self) -> None:
        if self.output_r is not None:           # the last writers are gone with the tree
            os.set_blocking(self.output_r, False)
            try:
                while True:
                    data = os.read(self.output_r, 65536)
                    if not data:
                        break
                    self.log.feed(data)
            except BlockingIOError:
                pass
        if self.log is not None:
            self.log.close()

    def _hand_over(self) -> None:
        """The main process ended and the unit wants the engine to decide what follows
        (systemd's service_sigchld_event: ExecStop, the kill step, ExecStopPost, Restart=): become
        that program, in this same process, so that what is left of the tree stays our children
        and the keeper's identity (pid, start time) stays valid while it runs. The log pipe is
        passed on, so the tree's last words still reach the log."""
        if self.log is not None:
            self.log.close()
        if self.notify is not None:
            self.notify.close()
        argv = list(self.spec["on_exit"])
        if self.output_r is not None:
            os.set_inheritable(self.output_r, True)
            argv += ["--log-fd", str(self.output_r)]
            if self.log is not None:
                argv += ["--log-pid", str(self.log.pid)]
        try:
            os.execve(argv[0], argv, self.spec.get("on_exit_env") or {})
        except OSError:
            self.spec["on_exit"] = None          # keep holding, as without a handler
            self.hold(None)
            os._exit(0)


def _seconds(value: float) -> str:
    return ("%g" % value) + "s" if value < 60 else "%gmin" % (value / 60)


def _notify_module():
    from shim.proc import notify
    return notify


def serve(spec: dict, report_fd: int, release_fd: int) -> int:
    """The anchor's whole life. `spec`: argv, env, cwd, log_path, cgroup, timeout, proc_root,
    keep (stay as keeper), exit_path (where the main process's end is written), subreaper_set
    (the caller already made us child subreaper), ready ("exit": the command's exit ends the
    job, as for a forking or oneshot start; "exec": it is the main process, started once
    exec'd; "notify": started when it sends READY=1), notify ({dir, access, state_path}: the
    unit's notify socket), on_exit/on_exit_env (what to become once the main process ended),
    console (a copy of the log lines), uid/gid/groups/umask/rlimits/nice/stdout/stderr."""
    proc_root = spec.get("proc_root", "/proc")
    if not spec.get("subreaper_set"):
        from shim.proc import prctl
        prctl.set_child_subreaper(1)
    output_r = output_w = None
    log = wakeup = notify = None
    if spec.get("keep") and spec.get("log_path"):
        wakeup = _Wakeup()
        output_r, output_w = os.pipe()
        log = _Log(spec["log_path"], spec.get("log_name") or os.path.basename(spec["argv"][0]),
                   console=spec.get("console") or "", unit=spec.get("unit") or "")
    if spec.get("notify"):
        wanted = spec["notify"]
        notify = _notify_module().NotifySocket(wanted["dir"], wanted.get("access", "main"),
                                               wanted.get("state_path", ""))
        spec = dict(spec, env=dict(spec["env"], NOTIFY_SOCKET=notify.path))
    try:
        pid = _spawn(spec, output_w)
    finally:
        if output_w is not None:
            os.close(output_w)
    if log is not None:
        log.pid = pid
    # Not yet waited for, so the pid cannot have been reused: this is the command.
    control = ProcessRef.of(pid, proc_root)
    _send(report_fd, "control %d %d" % (pid, control.starttime if control else 0))
    keeper = _Keeper(spec, output_r, log, wakeup, notify) if spec.get("keep") else None
    if spec.get("ready") == "exec":
        # Type=simple/exec: started once exec succeeded (_spawn saw it), and the command is the
        # main process from now on, held like everything else it will start.
        _send(report_fd, "ready %d %d" % (pid, control.starttime if control else 0))
        os.close(report_fd)
        main = _read_release(release_fd) or control
        os.close(release_fd)
        keeper.hold(main)
        return 0
    if spec.get("ready") == "notify":
        outcome, status = keeper.await_ready(control, spec.get("timeout"))
        if outcome == "ready":
            main = keeper.main or control
            _send(report_fd, "ready %d %d" % (main.pid, main.starttime))
        elif outcome == "exit":
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            _send(report_fd, "exit %d 0" % code)
        else:
            _send(report_fd, "exit 0 1")             # TimeoutStartSec= passed without READY=1
        os.close(report_fd)
        main = _read_release(release_fd) or keeper.main
        os.close(release_fd)
        if outcome != "ready":
            spec["on_exit"] = None                  # a failed start: the start job cleans up
        keeper.hold(main)
        return 0
    if output_r is not None:
        status, timed_out = _pump_while_waiting(pid, spec.get("timeout"), output_r, log, wakeup)
    else:
        status, timed_out = _wait(pid, spec.get("timeout"))
    reaped = _reap_ready()
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    _send(report_fd, "exit %d %d" % (code, int(timed_out)))
    os.close(report_fd)
    main = _read_release(release_fd)
    os.close(release_fd)
    if keeper is not None:
        if main is not None and log is not None:
            log.pid = main.pid
        keeper.main = main
        if keeper._main_ended(reaped):           # the main process may be gone already
            main = None
            if spec.get("on_exit"):
                keeper._hand_over()
        keeper.hold(main)
    return 0


class _Wakeup:
    """A descriptor that becomes readable when SIGCHLD arrives (signal.set_wakeup_fd)."""

    def __init__(self):
        self.r, self.w = os.pipe()
        os.set_blocking(self.w, False)
        os.set_blocking(self.r, False)
        signal.signal(signal.SIGCHLD, lambda signo, frame: None)
        signal.set_wakeup_fd(self.w)

    def clear(self) -> None:
        try:
            while os.read(self.r, 512):
                pass
        except BlockingIOError:
            pass


def _pump_while_waiting(pid, timeout, output_r, log, wakeup):
    """_wait(), while moving the command's output into the log (a chatty start script must not
    block on a full pipe). Woken by output or SIGCHLD, or by the timeout: no polling."""
    import select
    deadline = None if not timeout or timeout <= 0 else time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0, False
        if done:
            _drain(output_r, log)
            return status, False
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            _drain(output_r, log)
            return _wait(pid, 0.001)             # TERM, then KILL, its process group
        try:
            ready, _, _ = select.select([output_r, wakeup.r], [], [], remaining)
        except InterruptedError:
            continue
        if wakeup.r in ready:
            wakeup.clear()
        if output_r in ready:
            data = os.read(output_r, 65536)
            if data:
                log.feed(data)


def _drain(output_r, log, rounds=64):
    """What is in the pipe now, without waiting for writers that stay (daemons)."""
    import select
    for _ in range(rounds):
        if not select.select([output_r], [], [], 0)[0]:
            return
        data = os.read(output_r, 65536)
        if not data:
            return
        log.feed(data)


def run_forked(spec: dict, report_fd: int, release_fd: int) -> None:
    """Body of a forked (transient) anchor. Never returns: a forked child must never unwind
    into its parent's code."""
    status = 1
    try:
        status = serve(spec, report_fd, release_fd)
    except BaseException as error:      # noqa: BLE001
        try:
            _send(report_fd, "error %s: %s" % (type(error).__name__, error))
        except OSError:
            pass
    finally:
        os._exit(status)


def main() -> int:
    """`python3 -m shim.proc.anchor`: a keeper. The spec comes as marshal data on stdin, with
    the two descriptors the caller passed."""
    import marshal              # built in: no import cost
    try:
        spec = marshal.loads(sys.stdin.buffer.read())
        report_fd, release_fd = int(spec["report_fd"]), int(spec["release_fd"])
    except (ValueError, KeyError, TypeError, EOFError) as error:
        sys.stderr.write("shim.proc.anchor: bad spec: %s\n" % error)
        return 2
    try:
        return serve(spec, report_fd, release_fd)
    except Exception as error:          # noqa: BLE001 - report, never a traceback
        try:
            _send(report_fd, "error %s: %s" % (type(error).__name__, error))
        except OSError:
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
