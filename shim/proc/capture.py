"""Run an init script so that we know, afterwards, which processes it left behind."""
import ctypes
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set

from shim.proc import membership
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Snapshot
from shim.proc.tracking import Tracking

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
LOGINUID_UNSET = "4294967295"      # (uid_t) -1: "no login", set in the child so that a login
                                   # started inside the service later is told apart by pam_loginuid
TERM_GRACE = 5.0                   # seconds between SIGTERM and SIGKILL for a script that timed out


@dataclass
class CaptureResult:
    returncode: Optional[int]           # exit status, None if killed by a signal
    signal: Optional[int]               # the signal that killed the script
    timed_out: bool
    tracking: Tracking
    control: Optional[ProcessRef]       # the script process itself


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


def _reap_new_zombies(snapshot: Snapshot, new: Set[int]) -> None:
    """Collect zombie children of ours that the script left (we were their subreaper). Only pids
    that are new and zombies now, so we never steal a child another part of the program waits for."""
    me = os.getpid()
    for pid in new:
        proc = snapshot.get(pid)
        if proc is not None and proc.is_zombie and proc.ppid == me:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


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


def run_captured(argv: List[str], *, env: Dict[str, str], invocation_id: str, cwd: str = "/",
                 log_path: Optional[str] = None, cgroup: Optional[str] = None,
                 timeout: Optional[float] = 300.0,
                 on_spawn: Optional[Callable[[ProcessRef], None]] = None,
                 proc_root: str = "/proc") -> CaptureResult:
    """Run argv in a new session, marked with INVOCATION_ID, with us as child subreaper (so the
    daemons it double-forks re-parent to us and stay visible as our descendants until we exit),
    inside `cgroup` when given; return what it left behind."""
    me = os.getpid()
    was_subreaper = _get_subreaper()
    _set_subreaper(1)
    try:
        before = Snapshot.take(proc_root).descendants([me])
        child_env = dict(env)
        child_env["INVOCATION_ID"] = invocation_id
        log_fd = os.open(log_path or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            process = subprocess.Popen(
                argv, env=child_env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log_fd,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                preexec_fn=_child_setup(cgroup, proc_root))
        finally:
            os.close(log_fd)
        # Not yet waited for, so the pid cannot have been reused: this is the script.
        control = ProcessRef.of(process.pid, proc_root)
        if on_spawn is not None and control is not None:
            on_spawn(control)
        timed_out = _wait(process, timeout)
        after = Snapshot.take(proc_root)
        new = after.descendants([me]) - before - {process.pid}
        _reap_new_zombies(after, new)
        protected = membership.protected_pids(after, me)
        alive = {pid for pid in new if not after.get(pid).is_zombie and pid not in protected}
        members, logins = membership.expand(after, alive, protected)
        tracking = Tracking(
            invocation_id=invocation_id,
            processes=[after.get(pid).ref for pid in sorted(members)],
            sessions=_groups(after, "sid", members, control, protected, logins),
            pgroups=_groups(after, "pgid", members, control, protected, logins),
            cgroup=cgroup,
        )
        code = process.returncode
        return CaptureResult(
            returncode=code if code is not None and code >= 0 else None,
            signal=-code if code is not None and code < 0 else None,
            timed_out=timed_out, tracking=tracking, control=control)
    finally:
        _set_subreaper(was_subreaper)
