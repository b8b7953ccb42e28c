"""Which processes belong to a unit *now* (docs/ARCHITECTURE.md, "Membership rule")."""
from __future__ import annotations

import os
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Iterable, Optional, Sequence, Set

from shim.plain import Plain
from shim.proc import cgroup as cgroups
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Proc, Snapshot
from shim.proc.tracking import Tracking

INIT_PID = 1


class Membership(Plain):
    pids = None         # {pid}
    mode = "none"       # "cgroup" | "tracked" | "adopted" | "none"
    logins = None       # {pid} left out because they are interactive logins
    _factories = {"pids": set, "logins": set}


def ancestors(snapshot: Snapshot, pid: int) -> Set[int]:
    found: Set[int] = set()
    proc = snapshot.get(pid)
    while proc is not None and proc.ppid > 0 and proc.ppid not in found:
        found.add(proc.ppid)
        proc = snapshot.get(proc.ppid)
    return found


def protected_pids(snapshot: Snapshot, self_pid: Optional[int] = None,
                   allow: Iterable[int] = (), keepers: Iterable[int] = ()) -> Set[int]:
    """Never members, never signalled: PID 1, ourselves, every ancestor (the shell that runs us,
    sudo, the sshd connection we came in through, a service's script that runs `systemctl kill` on
    itself), and kernel threads.

    `allow`: the unit's validated main process, which may be an ancestor only as some service's
    daemon that spawned the caller's session: outside our session, without a terminal, a child of
    init or of the unit's keeper (`keepers`), i.e. a daemon, never a process in between. Over ssh
    every systemctl runs below the sshd listener, and `systemctl kill ssh` must reach it; the
    connection we came in through stays protected, so the caller is never cut off."""
    me = os.getpid() if self_pid is None else self_pid
    above = ancestors(snapshot, me)
    protected = {INIT_PID, me} | above
    protected.update(p.pid for p in snapshot.procs.values() if p.is_kernel_thread)
    mine = snapshot.get(me)
    for pid in allow:
        proc = snapshot.get(pid) if pid else None
        if proc is not None and mine is not None and pid in above and pid != INIT_PID \
                and proc.sid != mine.sid and proc.tty_nr == 0 and not proc.is_kernel_thread \
                and (proc.ppid in (0, INIT_PID) or proc.ppid in set(keepers)):
            protected.discard(pid)
    return protected


def _alive(proc: Optional[Proc], protected: Set[int]) -> bool:
    return proc is not None and not proc.is_zombie and proc.pid not in protected


def _group_guard(snapshot: Snapshot, refs: Iterable[ProcessRef]) -> Dict[int, int]:
    """Recorded sessions/groups still safe to use, as {id: leader starttime}. An id can be handed to
    a new process only once nothing uses it as pid, pgid or sid any more (kernel/pid.c), so the
    group is still ours if its leader is gone or is still the recorded leader. Ids 0 (leader outside
    our PID namespace) and 1 (init) are never ids of a service's group."""
    usable = {}
    for ref in refs:
        if ref.pid <= INIT_PID:
            continue
        leader = snapshot.get(ref.pid)
        if leader is None or leader.starttime == ref.starttime:
            usable[ref.pid] = ref.starttime
    return usable


class _Tree:
    """Login detection over a snapshot: "does this subtree contain a controlling terminal?"."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self._has_tty: Dict[int, bool] = {}

    def subtree_has_tty(self, pid: int) -> bool:
        if pid in self._has_tty:
            return self._has_tty[pid]
        # iterative post-order: deep process chains must not hit the recursion limit
        stack, order = [pid], []
        while stack:
            current = stack.pop()
            if current in self._has_tty or current in order:
                continue
            order.append(current)
            stack.extend(c.pid for c in self.snapshot.children(current) if c.pid not in self._has_tty)
        for current in reversed(order):
            proc = self.snapshot.get(current)
            self._has_tty[current] = bool(proc and proc.tty_nr != 0) or any(
                self._has_tty.get(c.pid, False) for c in self.snapshot.children(current))
        return self._has_tty[pid]

    def is_login(self, proc: Proc) -> bool:
        """A new session (sid == pid, not its parent's session) with a terminal somewhere below:
        an interactive login (sshd's per-connection `[priv]` process, a user's shell, script(1)).
        A cron job is a new session too, but has no terminal, and stays with its service."""
        if proc.sid != proc.pid:
            return False
        parent = self.snapshot.get(proc.ppid)
        if parent is not None and parent.sid == proc.sid:
            return False
        return self.subtree_has_tty(proc.pid)


def expand(snapshot: Snapshot, direct: Set[int], protected: Set[int], exempt: Set[int] = frozenset()):
    """Direct members plus their descendants, minus interactive logins and their subtrees.
    Returns (members, logins)."""
    tree = _Tree(snapshot)
    members: Set[int] = set()
    logins: Set[int] = set()
    stack = []
    for pid in direct:
        proc = snapshot.get(pid)
        if not _alive(proc, protected):
            continue
        if pid not in exempt and tree.is_login(proc):
            logins.add(pid)
            logins |= snapshot.descendants([pid])
            continue
        stack.append(pid)
    seen = set(stack)
    while stack:
        pid = stack.pop()
        members.add(pid)
        for child in snapshot.children(pid):
            if child.pid in seen or child.pid in protected:
                continue
            seen.add(child.pid)
            if tree.is_login(child):
                logins.add(child.pid)
                logins |= snapshot.descendants([child.pid])
            else:
                stack.append(child.pid)
    members = {pid for pid in members if not snapshot.get(pid).is_zombie} - logins
    return members, logins


def _cgroup_pids(paths: Iterable[str], cgroup_root: Optional[str]) -> Optional[Set[int]]:
    """pids of the existing cgroups among paths (None if none exists). With cgroup_root, only
    paths strictly below it count, so a damaged record cannot name the root cgroup."""
    found: Optional[Set[int]] = None
    for path in paths:
        if not path:
            continue
        if cgroup_root is not None:
            path = os.path.normpath(os.path.join(cgroup_root, path))
            if os.path.commonpath([path, cgroup_root]) != cgroup_root or path == os.path.normpath(cgroup_root):
                continue
        if os.path.isdir(path):
            found = (found or set()) | set(cgroups.procs(path))
    return found


def _orphans_with_marker(snapshot: Snapshot, invocation_id: str, since: Optional[int],
                         protected: Set[int]) -> Set[int]:
    """Children of init carrying INVOCATION_ID=<ours>. environ is read for those orphans only, and
    only for those that started after the invocation did (cost: 10,000 processes on a host)."""
    found = set()
    if not invocation_id:
        return found
    for proc in snapshot.procs.values():
        if proc.ppid not in (0, INIT_PID) or not _alive(proc, protected):
            continue
        if since is not None and proc.starttime < since:
            continue
        if snapshot.environ_has(proc.pid, "INVOCATION_ID", invocation_id):
            found.add(proc.pid)
    return found


def _approximation(snapshot: Snapshot, tracking: Tracking, protected: Set[int]) -> Set[int]:
    """Rules 2 to 4: recorded processes, recorded sessions/groups (reuse-guarded), marked orphans."""
    direct = set()
    for ref in tracking.processes:
        proc = snapshot.get(ref.pid)
        if proc is not None and proc.starttime == ref.starttime:
            direct.add(ref.pid)
    sessions = _group_guard(snapshot, tracking.sessions)
    pgroups = _group_guard(snapshot, tracking.pgroups)
    if sessions or pgroups:
        for proc in snapshot.procs.values():
            if proc.sid > INIT_PID and proc.sid in sessions and proc.starttime >= sessions[proc.sid]:
                direct.add(proc.pid)
            elif proc.pgid > INIT_PID and proc.pgid in pgroups and proc.starttime >= pgroups[proc.pgid]:
                direct.add(proc.pid)
    direct |= _orphans_with_marker(snapshot, tracking.invocation_id, tracking.earliest_start(), protected)
    keeper = tracking.keeper
    if keeper is not None:
        proc = snapshot.get(keeper.pid)
        if proc is not None and proc.starttime == keeper.starttime and not proc.is_zombie:
            # Exact: the keeper is child subreaper of everything the unit started, so whatever
            # is below it now (double-forked, setsid'd, environment cleared) is the unit's.
            direct |= {child.pid for child in snapshot.children(keeper.pid)}
    return direct


def _main_pid_acceptable(snapshot: Snapshot, main_pid: Optional[int], tracking: Tracking,
                         provable: Set[int], protected: Set[int]) -> bool:
    """The main pid (from a pidfile) is a member only if it is not someone else's: if it carries an
    INVOCATION_ID it must be ours; if it carries none and we started the unit, it must already be
    provably ours (a pidfile may point at another service's daemon)."""
    if main_pid is None or main_pid <= 0 or not _alive(snapshot.get(main_pid), protected):
        return False
    marker = snapshot.environ(main_pid).get("INVOCATION_ID")
    if marker is not None:
        return marker == tracking.invocation_id and bool(marker)
    if tracking.empty or tracking.adopted:
        return True
    return main_pid in provable


def compute(snapshot: Snapshot, tracking: Tracking, *, main_pid: Optional[int] = None,
            extra_cgroups: Sequence[str] = (), cgroup_root: Optional[str] = None) -> Membership:
    protected = protected_pids(snapshot, allow=(main_pid,) if main_pid else (),
                               keepers=(tracking.keeper.pid,) if tracking.keeper else ())
    exempt = {ref.pid for ref in tracking.processes}
    own_cgroup = _cgroup_pids([tracking.cgroup] if tracking.cgroup else [], cgroup_root)
    extra = _cgroup_pids(extra_cgroups, cgroup_root) or set()
    if own_cgroup is not None:
        # Rule 1: the unit's cgroup is exact, nothing else counts (OpenRC's own cgroups, which
        # openrc-run may move a daemon into, are unioned in).
        direct = {pid for pid in own_cgroup | extra if _alive(snapshot.get(pid), protected)}
        main = snapshot.get(main_pid) if main_pid else None
        members, logins = _within(snapshot, direct, protected,
                                  exempt | ({main_pid} if main is not None and main.tty_nr != 0 else set()))
        return Membership(members, "cgroup", logins)
    direct = _approximation(snapshot, tracking, protected) | extra
    main = snapshot.get(main_pid) if main_pid else None
    if main is not None and main.tty_nr != 0:
        # a getty-like daemon owns its terminal itself and stays; a pidfile naming the top of
        # someone's login (sshd's `[priv]`: the terminal is only below it) does not pull it in
        exempt.add(main_pid)
    members, logins = expand(snapshot, direct, protected, exempt)
    if main_pid not in members and _main_pid_acceptable(snapshot, main_pid, tracking, members, protected):
        members, logins = expand(snapshot, direct | {main_pid}, protected, exempt)
    if tracking.empty:
        mode = "cgroup" if extra else "none"
    else:
        mode = "adopted" if tracking.adopted else "tracked"
    return Membership(members, mode, logins)


def _within(snapshot: Snapshot, pids: Set[int], protected: Set[int], exempt: Set[int]):
    """Login exclusion inside a cgroup: a login subtree is taken out (also one whose parent, the
    daemon, died: it is then init's child but still a login), and nothing outside is added."""
    tree = _Tree(snapshot)
    logins: Set[int] = set()
    for pid in pids:
        proc = snapshot.get(pid)
        if pid not in exempt and proc is not None and tree.is_login(proc):
            logins.add(pid)
            logins |= snapshot.descendants([pid])
    return (pids - logins) - protected, logins & pids


def _safe_group(snapshot: Snapshot, key: str, group_id: int, allowed: Set[int], protected: Set[int]) -> bool:
    """A session or process group may be adopted only if every process in it is the daemon or one of
    its descendants: no terminal, nothing protected, not init's, not shared with strangers."""
    if group_id <= INIT_PID:
        return False
    init = snapshot.get(INIT_PID)
    if init is not None and getattr(init, key) == group_id:
        return False
    for proc in snapshot.procs.values():
        if getattr(proc, key) != group_id or proc.is_zombie:
            continue
        if proc.pid in protected or proc.tty_nr != 0 or proc.pid not in allowed:
            return False
    return True


def group_ref(snapshot: Snapshot, key: str, group_id: int) -> ProcessRef:
    """(id, leader starttime). With the leader gone, the earliest member's start time is a safe
    lower bound: the leader started no later than any process in its group."""
    leader = snapshot.get(group_id)
    if leader is not None and getattr(leader, key) == group_id:
        return ProcessRef(group_id, leader.starttime)
    starts = [p.starttime for p in snapshot.procs.values() if getattr(p, key) == group_id]
    return ProcessRef(group_id, min(starts) if starts else 0)


def adopt(snapshot: Snapshot, main_pid: int) -> Tracking:
    """Tracking for a service we did not start (boot, `service`, rc-service): the main pid, its
    descendants (logins excluded) and its session/process group when adopting them is safe."""
    protected = protected_pids(snapshot, allow=(main_pid,))
    main = snapshot.get(main_pid)
    if main_pid <= 0 or not _alive(main, protected):
        return Tracking(adopted=True)
    members, _ = expand(snapshot, {main_pid}, protected, exempt={main_pid})
    refs = [snapshot.get(pid).ref for pid in sorted(members)]
    tracking = Tracking(processes=refs, adopted=True)
    if _safe_group(snapshot, "sid", main.sid, members, protected):
        tracking.sessions.append(group_ref(snapshot, "sid", main.sid))
    if _safe_group(snapshot, "pgid", main.pgid, members, protected):
        tracking.pgroups.append(group_ref(snapshot, "pgid", main.pgid))
    return tracking
