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

The keeper's own work (reaping, the log, the notify socket, the hand-over to the engine) is in
`shim/proc/keeper.py`; this module spawns the command and speaks with the caller.

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
    from shim.proc.keeper import Keeper, Log, Wakeup, notify_module
    output_r = output_w = None
    log = wakeup = notify = None
    if spec.get("keep") and spec.get("log_path"):
        wakeup = Wakeup()
        output_r, output_w = os.pipe()
        log = Log(spec["log_path"], spec.get("log_name") or os.path.basename(spec["argv"][0]),
                   console=spec.get("console") or "", unit=spec.get("unit") or "")
    if spec.get("notify"):
        wanted = spec["notify"]
        notify = notify_module().NotifySocket(wanted["dir"], wanted.get("access", "main"),
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
    keeper = Keeper(spec, output_r, log, wakeup, notify) if spec.get("keep") else None
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
