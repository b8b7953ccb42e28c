"""Signals to every process of a unit, one per process, race-free against forking.

send() is `systemctl kill`: freeze, rescan until stable, signal each member exactly once, thaw.
terminate() is `stop` (KillMode=control-group): signal + SIGCONT, wait, then the final signal.
"""
from __future__ import annotations

import os
import signal
import time
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Iterable, List, Sequence, Set

from shim.plain import Plain
from shim.proc import cgroup as cgroup_fs
from shim.proc.deliver import signal_ref
from shim.proc.identity import ProcessRef
from shim.proc.membership import protected_pids
from shim.proc.identity import read_stat
from shim.proc.snapshot import Snapshot, parse_stat

Collect = "Callable[[Snapshot], Iterable[int]]"   # a type for the reader

FREEZE_DEADLINE = 5.0       # seconds to get every member stopped before signalling anyway
MAX_ROUNDS = 1000           # rescans without freezing (a fork storm we are not allowed to stop)
FINAL_WAIT = 5.0            # seconds for the final signal (SIGKILL) to take effect
# A stop signal sent to a process we hold with SIGSTOP would be discarded by our own SIGCONT
# (the kernel drops pending stop signals when SIGCONT is generated), so these are sent unfrozen.
_STOP_SIGNALS = {signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
_STOPPED_STATES = ("T", "t")


class KillReport(Plain):
    signalled = None        # [ProcessRef]
    froze = "none"          # "cgroup" | "sigstop" | "none"
    rounds = 0
    _factories = {"signalled": list}


class TerminateReport(Plain):
    escalated = False
    survivors = None        # [ProcessRef]
    signalled = None        # [ProcessRef]


def _members(collect: Collect, snapshot: Snapshot, protected: Set[int]) -> Dict[int, ProcessRef]:
    """What collect names, as refs, without zombies (they ignore signals) or protected processes."""
    found = {}
    for pid in collect(snapshot):
        proc = snapshot.get(pid)
        if proc is not None and not proc.is_zombie and pid not in protected and not proc.is_kernel_thread:
            found[pid] = proc.ref
    return found


def _exclusive_cgroups(paths: Sequence[str], snapshot: Snapshot, members: Set[int], protected: Set[int]) -> List[str]:
    """Existing cgroups among paths that hold no process we must not touch: nothing protected, and
    no non-member (a login left in the service's cgroup) that the snapshot knows. Processes newer
    than the snapshot are children born in the cgroup (a running fork storm): they belong to it.
    Only such cgroups may be frozen or killed as a whole."""
    usable = []
    for path in paths:
        if not path or not os.path.isdir(path):
            continue
        inside = set(cgroup_fs.procs(path))
        strangers = {pid for pid in inside - members
                     if snapshot.get(pid) is not None and not snapshot.get(pid).is_zombie}
        if not strangers and not inside & protected:
            usable.append(path)
    return usable


class _Freezer:
    """Holds members still while we collect them: cgroup.freeze where the members' cgroups allow
    it, SIGSTOP otherwise. Remembers exactly what it froze so that thaw() undoes only that."""

    def __init__(self, proc_root: str):
        self.proc_root = proc_root
        self.frozen_paths: List[str] = []
        self.stopped: List[ProcessRef] = []      # SIGSTOPped by us
        self.pending: Set[ProcessRef] = set()    # SIGSTOP sent, not yet seen stopped

    def freeze_cgroups(self, paths: Sequence[str], snapshot: Snapshot, members: Set[int],
                       protected: Set[int]) -> bool:
        """Freeze the members' cgroups that hold only members; members elsewhere get SIGSTOP."""
        usable = _exclusive_cgroups(paths, snapshot, members, protected)
        if not usable:
            return False
        for path in usable:
            self.frozen_paths.append(path)
            if not cgroup_fs.freeze(path, True):
                return False
        return True

    def in_frozen_cgroup(self) -> Set[int]:
        return {pid for path in self.frozen_paths for pid in cgroup_fs.procs(path)}

    def hold(self, snapshot: Snapshot, refs: Iterable[ProcessRef]) -> None:
        """SIGSTOP these (unless already stopped by someone else, which we must not undo later)."""
        for ref in refs:
            proc = snapshot.get(ref.pid)
            if proc is None or proc.state in _STOPPED_STATES:
                continue
            if signal_ref(ref, signal.SIGSTOP, proc_root=self.proc_root):
                self.stopped.append(ref)
                self.pending.add(ref)

    def settle(self, snapshot: Snapshot) -> None:
        """Forget pending stops that took effect. A process that has stopped has finished any fork
        it was in, so its children are visible in the next snapshot."""
        still = set()
        for ref in self.pending:
            proc = snapshot.get(ref.pid)
            if proc is not None and proc.starttime == ref.starttime and proc.state not in _STOPPED_STATES + ("Z", "X"):
                still.add(ref)
        self.pending = still

    def thaw(self, keep_stopped: Set[ProcessRef]) -> None:
        for path in self.frozen_paths:
            cgroup_fs.freeze(path, False)
        for ref in self.stopped:
            if ref not in keep_stopped:
                signal_ref(ref, signal.SIGCONT, proc_root=self.proc_root)


def _hold_still(collect: Collect, freezer: _Freezer, snapshot: Snapshot, members: Dict[int, ProcessRef],
                cgroup_paths: Sequence[str], protected: Set[int], proc_root: str):
    """Freeze, then rescan until the set of members is closed. Returns (members, how, rounds).

    A snapshot is not atomic: /proc is listed first, then each stat is read, so a member seen
    stopped (or dead) in snapshot N may have forked a child after N's listing began. The set is
    therefore closed only when a snapshot *taken after* every known member was confirmed stopped,
    dead or cgroup-frozen shows no new member."""
    how = "cgroup" if freezer.freeze_cgroups(cgroup_paths, snapshot, set(members), protected) else "none"
    if how == "none" and freezer.frozen_paths:
        freezer.thaw(set())
        freezer.frozen_paths = []
    known: Dict[int, ProcessRef] = {}
    zombies: Set[ProcessRef] = set()
    rounds = 1
    confirmed_before = False     # were all known members held before this snapshot was taken?
    deadline = time.monotonic() + FREEZE_DEADLINE
    while True:
        new = [ref for pid, ref in members.items() if known.get(pid) != ref]
        frozen = freezer.in_frozen_cgroup() if freezer.frozen_paths and new else set()
        to_stop = [ref for ref in new if ref.pid not in frozen]
        if to_stop:
            freezer.hold(snapshot, to_stop)
            how = "sigstop" if how == "none" else how
        known.update((ref.pid, ref) for ref in new)
        # A member that forked and exited between the listing and the stat read shows up only as
        # a zombie (or not at all): its child may be missing from this snapshot. News either way.
        fresh_zombies = _new_zombies(snapshot, known, zombies)
        if not new and not fresh_zombies and confirmed_before:
            return members, how, rounds
        if time.monotonic() > deadline:
            return members, how, rounds          # e.g. a vfork parent or D state: signal anyway
        confirmed_before = not new and not freezer.pending and not fresh_zombies
        if freezer.pending and not new:
            time.sleep(0.0005)                   # let the SIGSTOPs land
        snapshot = _closed_snapshot(proc_root)
        rounds += 1
        freezer.settle(snapshot)
        members = {**members, **_members(collect, snapshot, protected)}
        members = {pid: ref for pid, ref in members.items()
                   if snapshot.get(pid) is not None and snapshot.get(pid).starttime == ref.starttime}


def _new_zombies(snapshot: Snapshot, known: Dict[int, ProcessRef], seen: Set[ProcessRef]) -> bool:
    """Zombies not seen before whose parent is a known member or init: a member's child that
    forked and died while we were looking. Adds them to seen."""
    fresh = False
    for proc in snapshot.procs.values():
        if proc.is_zombie and (proc.ppid in known or proc.ppid <= 1) and proc.ref not in seen:
            seen.add(proc.ref)
            fresh = True
    return fresh


def _closed_snapshot(proc_root: str) -> Snapshot:
    """A snapshot, then /proc listed again and the pids that appeared meanwhile added, so that a
    process forked while we were reading stat files is not missed for a whole round."""
    snapshot = Snapshot.take(proc_root)
    for name in os.listdir(proc_root):
        if name.isdigit() and int(name) not in snapshot.procs:
            raw = read_stat(int(name), proc_root)
            proc = parse_stat(int(name), raw) if raw is not None else None
            if proc is not None:
                snapshot.procs[proc.pid] = proc
    return snapshot


def _ordered(members: Dict[int, ProcessRef], first: Sequence[int], protected: Set[int]) -> List[ProcessRef]:
    """`first` (control, then main) if they are members, then the rest by pid."""
    head = [members[pid] for pid in dict.fromkeys(first) if pid in members and pid not in protected]
    return head + [ref for pid, ref in sorted(members.items()) if ref not in head]


def send(collect: Collect, signo: int, *, value: int = None, first: Sequence[int] = (),
         cgroups: Sequence[str] = (), freeze: bool = True, proc_root: str = "/proc",
         allow: Sequence[int] = (), keepers: Sequence[int] = ()) -> KillReport:
    """Signal every member once. collect(snapshot) names the members (membership.compute).
    `allow`: the unit's main pid, which may be signalled though an ancestor of ours when it is
    outside our session (membership.protected_pids)."""
    snapshot = Snapshot.take(proc_root)
    protected = protected_pids(snapshot, allow=allow, keepers=keepers)
    members = _members(collect, snapshot, protected)
    report = KillReport()
    if value is not None:
        # sigqueue() goes to main and control only, as in systemd (QueueSignalUnit); nothing to freeze
        for pid in dict.fromkeys(first):
            ref = members.get(pid)
            if ref is not None and signal_ref(ref, signo, value=value, proc_root=proc_root):
                report.signalled.append(ref)
        report.rounds = 1
        return report
    if not freeze or signo in _STOP_SIGNALS:
        return _send_unfrozen(collect, signo, members, first, protected, proc_root)
    freezer = _Freezer(proc_root)
    done: Set[ProcessRef] = set()
    try:
        members, report.froze, report.rounds = _hold_still(
            collect, freezer, snapshot, members, cgroups, protected, proc_root)
        for ref in _ordered(members, first, protected):
            if ref not in done and signal_ref(ref, signo, proc_root=proc_root):
                report.signalled.append(ref)
            done.add(ref)
    finally:
        # SIGSTOP must stay in force; after SIGCONT or SIGKILL a second SIGCONT is pointless
        keep = set(report.signalled) if signo in (signal.SIGSTOP, signal.SIGCONT, signal.SIGKILL) else set()
        freezer.thaw(keep)
    return report


def _send_unfrozen(collect: Collect, signo: int, members: Dict[int, ProcessRef], first: Sequence[int],
                   protected: Set[int], proc_root: str) -> KillReport:
    """systemd's cg_kill_recursive loop: signal, rescan, signal the new ones, until none is new."""
    report = KillReport()
    done: Set[ProcessRef] = set()
    while report.rounds < MAX_ROUNDS:
        report.rounds += 1
        new = [ref for ref in _ordered(members, first, protected) if ref not in done]
        if not new:
            break
        for ref in new:
            done.add(ref)
            if signal_ref(ref, signo, proc_root=proc_root):
                report.signalled.append(ref)
        members = _members(collect, Snapshot.take(proc_root), protected)
    return report


def _remaining(collect: Collect, proc_root: str, allow: Sequence[int] = (),
               keepers: Sequence[int] = ()) -> Dict[int, ProcessRef]:
    snapshot = Snapshot.take(proc_root)
    return _members(collect, snapshot, protected_pids(snapshot, allow=allow, keepers=keepers))


def _wait_empty(collect: Collect, timeout: float, proc_root: str,
                allow: Sequence[int] = (), keepers: Sequence[int] = ()) -> Dict[int, ProcessRef]:
    """Poll (20 ms, growing) until no member is left or the timeout passes; zombies do not count."""
    deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
    delay = 0.02
    while True:
        left = _remaining(collect, proc_root, allow, keepers)
        now = time.monotonic()
        if not left or now >= deadline:
            return left
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 1.5, 0.25)


def terminate(collect: Collect, *, signo: int = signal.SIGTERM, timeout: float = 90.0,
              final: int = signal.SIGKILL, cgroups: Sequence[str] = (), proc_root: str = "/proc",
              allow: Sequence[int] = (), keepers: Sequence[int] = (),
              also: Sequence[int] = ()) -> TerminateReport:
    """Stop a unit's processes the way systemd does with KillMode=control-group: the signal and a
    SIGCONT (so stopped members see it) to every member, then each of `also` (SendSIGHUP=),
    wait (`timeout` None: for ever), then `final` to what is left (0: nothing)."""
    report = send(collect, signo, cgroups=cgroups, proc_root=proc_root, allow=allow, keepers=keepers)
    signalled = list(report.signalled)
    if signo not in (signal.SIGCONT, signal.SIGKILL):
        for ref in signalled:
            signal_ref(ref, signal.SIGCONT, proc_root=proc_root)
    for extra in also:
        for ref in signalled:
            signal_ref(ref, extra, proc_root=proc_root)
    left = _wait_empty(collect, timeout, proc_root, allow, keepers)
    if not left or not final:
        return TerminateReport(False, sorted(left.values()), signalled)
    snapshot = Snapshot.take(proc_root)
    protected = protected_pids(snapshot, allow=allow, keepers=keepers)
    for path in _exclusive_cgroups(cgroups, snapshot, set(_members(collect, snapshot, protected)), protected):
        cgroup_fs.kill(path)
    signalled += send(collect, final, cgroups=cgroups, proc_root=proc_root, allow=allow,
                      keepers=keepers).signalled
    left = _wait_empty(collect, FINAL_WAIT, proc_root, allow, keepers)
    return TerminateReport(True, sorted(left.values()), signalled)

