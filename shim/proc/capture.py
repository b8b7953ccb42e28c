"""Run an init script so that we know, afterwards, which processes it left behind."""
from __future__ import annotations

import os
import subprocess
import sys
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Sequence, Set

from shim.plain import Plain
from shim.proc import membership
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Snapshot
from shim.proc.tracking import Tracking


class CaptureResult(Plain):
    returncode = None       # exit status, None if killed by a signal
    signal = None           # the signal that killed the command
    timed_out = False
    tracking = None         # Tracking
    control = None          # ProcessRef of the command process itself
    keeper = None           # ProcessRef of the keeper left holding the tree (keep=True)


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
                 proc_root: str = "/proc", keep: bool = False, exit_path: Optional[str] = None,
                 pidfiles: Sequence[str] = (), log_name: str = "", ready: str = "exit",
                 credentials: Optional[dict] = None, extra: Optional[dict] = None) -> CaptureResult:
    """Run argv in a new session, marked with INVOCATION_ID, inside `cgroup` when given, and
    return what it left behind.
    Output goes to `log_path` (with `keep`, as timestamped lines tagged `log_name[pid]`).

    What counts is anchored at the command, never at the caller: it runs under an anchor process
    that is its child subreaper (`shim/proc/anchor.py`), so the processes it leaves are exactly
    the anchor's descendants when it ends. The caller's other children (a supervisor's, a test
    runner's, PID 1's) can never be credited to the unit. With `keep`, the anchor is a fresh,
    small interpreter that stays as the tree's keeper (result.keeper; tracking.keeper), watching
    the main process (a pidfile among `pidfiles` naming one of the tree, else the only process
    left) and writing its end to `exit_path`. Without, a forked anchor exits once we have looked."""
    child_env = dict(env)
    child_env["INVOCATION_ID"] = invocation_id
    spec = {"argv": list(argv), "env": child_env, "cwd": cwd, "log_path": log_path,
            "cgroup": cgroup, "timeout": timeout, "proc_root": proc_root, "keep": keep,
            "exit_path": exit_path, "log_name": log_name, "ready": ready}
    spec.update(credentials or {})      # uid, gid, groups, umask
    spec.update(extra or {})            # notify, on_exit, console, rlimits, nice, stdout, ... (anchor.serve)
    report_r, report_w = os.pipe()
    release_r, release_w = os.pipe()
    keeper_process = None
    if keep:
        keeper_process = _spawn_keeper(spec, report_w, release_r)
        anchor = keeper_process.pid
    else:
        anchor = os.fork()
        if anchor == 0:
            os.close(report_r)
            os.close(release_w)
            from shim.proc.anchor import run_forked
            run_forked(spec, report_w, release_r)
    os.close(report_w)
    os.close(release_r)
    anchor_ref = ProcessRef.of(anchor, proc_root)
    main = None
    try:
        control, (code, timed_out), started = _read_report(report_r, argv, on_spawn)
        after = Snapshot.take(proc_root)
        new = after.descendants([anchor])
        died = started is _DIED
        if died:
            started = None
            root = after.get(control.pid)
            if root is not None and root.starttime == control.starttime:
                new = after.descendants([control.pid]) | {control.pid}
        if ready == "exit" and not died:
            new -= {control.pid if control else 0}      # the finished command itself
        protected = membership.protected_pids(after, os.getpid()) | {anchor}
        alive = {pid for pid in new if not after.get(pid).is_zombie and pid not in protected}
        members, logins = membership.expand(after, alive, protected)
        main = _main_of(after, members, pidfiles)
        if started is not None:
            # simple/exec: the command; notify: it or MAINPID=. Also when it has already ended
            # (a zombie its keeper has yet to reap): its keeper writes down how, for this ref.
            main = after.get(started.pid).ref if started.pid in members else started
        tracking = Tracking(
            invocation_id=invocation_id,
            processes=[after.get(pid).ref for pid in sorted(members)],
            sessions=_groups(after, "sid", members, control, protected, logins),
            pgroups=_groups(after, "pgid", members, control, protected, logins),
            cgroup=cgroup,
            keeper=anchor_ref if keep and members else None,
            main=main,
        )
    finally:
        # The anchor may go on now (as keeper: watching `main`), or exit; what it held re-parents.
        try:
            os.write(release_w, b"main %d %d\n" % ((main.pid, main.starttime) if main else (0, 0)))
        except OSError:
            pass
        os.close(release_w)
        if keeper_process is None:
            _wait_anchor(anchor)
    return CaptureResult(
        returncode=code if code >= 0 else None, signal=-code if code < 0 else None,
        timed_out=timed_out, tracking=tracking, control=control,
        keeper=tracking.keeper)


def keeper_pythonpath() -> str:
    """The package found where we found it, for interpreters started with -S (keepers)."""
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)


def _spawn_keeper(spec: dict, report_w: int, release_r: int) -> subprocess.Popen:
    """A fresh interpreter, not a fork of ours: a keeper stays for the unit's whole life, and a
    fork would keep (and, once we exit, own) every page of this command's interpreter. Its own
    session (no terminal's SIGHUP), no stdout/stderr of ours (a `$(systemctl start x)` must not
    wait for it), and the package found where we found it."""
    import marshal
    from shim.proc import prctl
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": keeper_pythonpath()}
    # (bytecode may be written: a keeper compiling its modules from source keeps the compiler's
    # memory, about 1.4 MB of private pages, for its whole life)
    spec = dict(spec, report_fd=report_w, release_fd=release_r, subreaper_set=True)
    # The subreaper flag survives execve: set in the child, it spares the keeper ctypes.
    process = subprocess.Popen([sys.executable, "-S", "-s", "-m", "shim.proc.anchor"], env=env,
                               cwd="/", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, pass_fds=(report_w, release_r),
                               start_new_session=True,
                               preexec_fn=lambda: prctl.set_child_subreaper(1))
    try:
        process.stdin.write(marshal.dumps(spec))
    finally:
        process.stdin.close()
    return process


def _read_report(report_r: int, argv, on_spawn):
    """(control ref, (code, timed_out), main ref once started) from the anchor's report lines."""
    control = None
    with os.fdopen(report_r, "rb") as report:
        for raw in report:
            word, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
            if word == "control":
                pid, starttime = (int(x) for x in rest.split())
                control = ProcessRef(pid, starttime) if starttime else None
                if on_spawn is not None and control is not None:
                    on_spawn(control)
            elif word == "exit":
                code, timed_out = (int(x) for x in rest.split())
                return control, (code, bool(timed_out)), None
            elif word == "ready":                    # started: the main process runs on
                pid, starttime = (int(x) for x in rest.split())
                return control, (0, False), ProcessRef(pid, starttime) if starttime else control
            elif word == "error":
                raise OSError("cannot run %s: %s" % (argv[0], rest))
    if control is not None:
        # The command ran, then its anchor died (SIGKILLed): what it started is still to be
        # found (from the command itself), and the job ends as if the command was killed.
        return control, (-9, False), _DIED
    raise OSError("cannot run %s: its anchor process died" % argv[0])


_DIED = ProcessRef(0, 0)             # _read_report: the anchor died after the command ran


def _main_of(snapshot: Snapshot, members: Set[int], pidfiles: Sequence[str]) -> Optional[ProcessRef]:
    """The main process right after start, as systemd finds it for Type=forking: a pidfile that
    names one of the tree (anything else is not believed), else the only process left."""
    from shim.pidfile import parse_pid
    for path in pidfiles:
        try:
            with open(path, "rb") as handle:
                pid = parse_pid(handle.read(64).decode("ascii", "replace"))
        except OSError:
            continue
        if pid in members:
            return snapshot.get(pid).ref
    if len(members) == 1:
        return snapshot.get(next(iter(members))).ref
    return None


def _wait_anchor(pid: int) -> None:
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            return
        except InterruptedError:
            continue
