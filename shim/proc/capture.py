"""Run an init script so that we know, afterwards, which processes it left behind."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Set

from shim.plain import Plain
from shim.proc import membership
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Snapshot
from shim.proc.tracking import Tracking

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
LOGINUID_UNSET = "4294967295"      # (uid_t) -1: "no login", set in the child so that a login
                                   # started inside the service later is told apart by pam_loginuid
TERM_GRACE = 5.0                   # seconds between SIGTERM and SIGKILL for a script that timed out


class CaptureResult(Plain):
    returncode = None       # exit status, None if killed by a signal
    signal = None           # the signal that killed the script
    timed_out = False
    tracking = None         # Tracking
    control = None          # ProcessRef of the script process itself


def _prctl():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl


def _get_subreaper() -> int:
    value = ctypes.c_int(0)
    if _prctl()(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return 0
    return value.value


def _set_subreaper(on: int) -> None:
    _prctl()(PR_SET_CHILD_SUBREAPER, on, 0, 0, 0)


def _child_setup(cgroup: Optional[str], proc_root: str) -> Callable[[], None]:
    """Runs in the forked child (after setsid) before exec: join the unit's cgroup, so every
    process the script forks is in it from the start, and reset the login uid. Best effort."""
    procs_file = os.path.join(cgroup, "cgroup.procs") if cgroup else None
    loginuid_file = f"{proc_root}/self/loginuid"

    def setup() -> None:
        for path, text in ((procs_file, "0"), (loginuid_file, LOGINUID_UNSET)):
            if path is None:
                continue
            try:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
            except OSError:
                pass
    return setup


def _wait(process: subprocess.Popen, timeout: Optional[float]) -> bool:
    """Wait for the script; on timeout SIGTERM, then SIGKILL, its process group. True if timed out.
    The group id is the script's own pid (start_new_session), never a looked-up id that could be 0."""
    try:
        process.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        pass
    for signo, grace in ((signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, None)):
        if process.pid > 1:
            try:
                os.killpg(process.pid, signo)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    return True


def _groups(snapshot: Snapshot, key: str, pids: Set[int], control: Optional[ProcessRef],
            protected: Set[int], logins: Set[int]) -> List[ProcessRef]:
    """Sessions (key 'sid') or process groups ('pgid') the service created: the script's own and
    those of its new processes. Never 0 or 1, never ours, never one with a terminal or with a
    protected or login process in it. The script's own is keyed by the script's start time (it
    led both), so a reused id is never mistaken for it."""
    ids = {getattr(snapshot.get(pid), key) for pid in pids}
    if control is not None:
        ids.add(control.pid)
    mine = getattr(snapshot.get(os.getpid()), key, None)
    by_group: Dict[int, List] = {}
    for proc in snapshot.procs.values():
        if getattr(proc, key) in ids and not proc.is_zombie:
            by_group.setdefault(getattr(proc, key), []).append(proc)
    refs = []
    for group_id in sorted(ids):
        if group_id <= 1 or group_id == mine:
            continue
        members = by_group.get(group_id, [])
        if any(p.pid in protected or p.pid in logins or p.tty_nr != 0 for p in members):
            continue
        if control is not None and group_id == control.pid:
            refs.append(control)
        else:
            refs.append(membership.group_ref(snapshot, key, group_id))
    return refs


def _anchor(argv, env, cwd, log_path, cgroup, timeout, proc_root, report_fd, release_fd) -> None:
    """The forked anchor of one capture: child subreaper of the script it runs, so that
    everything the script leaves behind (double-forked, setsid'd, with a cleared environment) is
    re-parented to it and is exactly its descendants. Reports the script's identity, then its
    outcome, and exits when the caller has looked (or is gone). Never returns."""
    status = 1
    try:
        _set_subreaper(1)
        log_fd = os.open(log_path or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log_fd,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                preexec_fn=_child_setup(cgroup, proc_root))
        finally:
            os.close(log_fd)
        # Not yet waited for, so the pid cannot have been reused: this is the script.
        control = ProcessRef.of(process.pid, proc_root)
        _send(report_fd, "control %d %d" % (process.pid, control.starttime if control else 0))
        timed_out = _wait(process, timeout)
        _reap_orphans()
        _send(report_fd, "exit %d %d" % (process.returncode, int(timed_out)))
        os.read(release_fd, 1)          # EOF or a byte: the caller has taken its snapshot
        status = 0
    except BaseException as error:      # noqa: BLE001 - a forked child must never unwind
        try:
            _send(report_fd, "error %s: %s" % (type(error).__name__, error))
        except OSError:
            pass
    finally:
        os._exit(status)


def _send(fd: int, line: str) -> None:
    os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))


def _reap_orphans() -> None:
    """Collect the anchor's dead children (processes of the script that already ended)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_captured(argv: List[str], *, env: Dict[str, str], invocation_id: str, cwd: str = "/",
                 log_path: Optional[str] = None, cgroup: Optional[str] = None,
                 timeout: Optional[float] = 300.0,
                 on_spawn: Optional[Callable[[ProcessRef], None]] = None,
                 proc_root: str = "/proc") -> CaptureResult:
    """Run argv in a new session, marked with INVOCATION_ID, inside `cgroup` when given, and
    return what it left behind.

    What counts is anchored at the script, never at the caller: the script runs under a forked
    anchor process that is its child subreaper, so the processes it leaves are exactly the
    anchor's descendants when it ends. The caller's other children (a supervisor's, a test
    runner's, PID 1's) can never be credited to the unit."""
    child_env = dict(env)
    child_env["INVOCATION_ID"] = invocation_id
    report_r, report_w = os.pipe()
    release_r, release_w = os.pipe()
    anchor = os.fork()
    if anchor == 0:
        os.close(report_r)
        os.close(release_w)
        _anchor(argv, child_env, cwd, log_path, cgroup, timeout, proc_root, report_w, release_r)
    os.close(report_w)
    os.close(release_r)
    try:
        with os.fdopen(report_r, "rb") as report:
            control = None
            outcome = None
            for raw in report:
                word, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
                if word == "control":
                    pid, starttime = (int(x) for x in rest.split())
                    control = ProcessRef(pid, starttime) if starttime else None
                    if on_spawn is not None and control is not None:
                        on_spawn(control)
                elif word == "exit":
                    code, timed_out = (int(x) for x in rest.split())
                    outcome = (code, bool(timed_out))
                    break
                elif word == "error":
                    raise OSError("cannot run %s: %s" % (argv[0], rest))
            if outcome is None:
                raise OSError("cannot run %s: its anchor process died" % argv[0])
        after = Snapshot.take(proc_root)
        new = after.descendants([anchor]) - {control.pid if control else 0}
        protected = membership.protected_pids(after, os.getpid()) | {anchor}
        alive = {pid for pid in new if not after.get(pid).is_zombie and pid not in protected}
        members, logins = membership.expand(after, alive, protected)
        tracking = Tracking(
            invocation_id=invocation_id,
            processes=[after.get(pid).ref for pid in sorted(members)],
            sessions=_groups(after, "sid", members, control, protected, logins),
            pgroups=_groups(after, "pgid", members, control, protected, logins),
            cgroup=cgroup,
        )
    finally:
        os.close(release_w)             # the anchor may exit now; what it held re-parents
        _wait_anchor(anchor)
    code, timed_out = outcome
    return CaptureResult(
        returncode=code if code >= 0 else None, signal=-code if code < 0 else None,
        timed_out=timed_out, tracking=tracking, control=control)


def _wait_anchor(pid: int) -> None:
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            return
        except InterruptedError:
            continue
