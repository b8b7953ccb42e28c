import os
import time

from shim.proc import membership
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Snapshot
from shim.proc.tracking import Tracking
from proctest import wait_for


def test_protected(pidns):
    snapshot = Snapshot.take()
    protected = membership.protected_pids(snapshot)
    assert {1, os.getpid(), os.getppid()} <= protected
    tracking = Tracking(processes=[snapshot.get(1).ref, snapshot.get(os.getpid()).ref])
    assert membership.compute(snapshot, tracking).pids == set()


def test_hostile_session_ids_are_ignored(pidns):
    """Sessions 0 (leader outside the namespace: pytest's own, here) and 1 are never a service's."""
    snapshot = Snapshot.take()
    assert snapshot.get(os.getpid()).sid in (0, snapshot.get(os.getpid()).sid)
    tracking = Tracking(invocation_id="x", sessions=[ProcessRef(0, 0), ProcessRef(1, 0)], pgroups=[ProcessRef(0, 0)])
    assert membership.compute(snapshot, tracking).pids == set()


def test_tracked_login_and_cron_job(lab):
    """A cron-like job (new session, no terminal) stays; an interactive login (new session with a
    pty below it) leaves; both are children of the daemon."""
    service = lab.start("svc", '"$PY" "$DAEMON" solo "$R" &\nwait_ready solo.ready\n')
    main = service.read_pids("solo.pids")[0]
    members = service.members()
    assert members.pids == {main} and members.mode == "tracked"
    cron = lab.popen(["setsid", "sleep", "1000"])   # stand-in; real children come next
    cron.kill()
    cron.wait()
    # children of the daemon, started through the daemon's session: use the login helper directly
    login = lab.start("login", '"$PY" "$DAEMON" login "$R" &\nsetsid sleep 1000 &\nwait_ready login.ready\n')
    snapshot = Snapshot.take()
    logins = set(login.read_pids("login.pids"))
    m = login.members(snapshot)
    assert not m.pids & logins
    assert len(m.pids) == 1 and snapshot.get(next(iter(m.pids))).comm == "sleep"   # the setsid job


def test_adopt(lab):
    """adopt(): the daemon, its descendants, and its own session and group (it leads them)."""
    service = lab.start("svc", '"$PY" "$DAEMON" solo "$R" &\nwait_ready solo.ready\n')
    main = service.read_pids("solo.pids")[0]
    snapshot = Snapshot.take()
    tracking = membership.adopt(snapshot, main)
    assert tracking.adopted and tracking.processes == [snapshot.get(main).ref]
    assert tracking.sessions == [snapshot.get(main).ref] and tracking.pgroups == [snapshot.get(main).ref]
    members = membership.compute(snapshot, tracking, main_pid=main)
    assert members.pids == {main} and members.mode == "adopted"


def test_adopt_refuses_shared_or_protected_groups(lab):
    # a daemon in the test runner's session and group (shared with strangers): only the process
    sleeper = lab.popen(["sleep", "1000"])
    wait_for(lambda: Snapshot.take().get(sleeper.pid) is not None)
    snapshot = Snapshot.take()
    tracking = membership.adopt(snapshot, sleeper.pid)
    assert tracking.processes == [snapshot.get(sleeper.pid).ref]
    assert tracking.sessions == [] and tracking.pgroups == []
    assert membership.adopt(snapshot, 1) == Tracking(adopted=True)
    assert membership.adopt(snapshot, os.getpid()) == Tracking(adopted=True)
    assert membership.adopt(snapshot, 99999999) == Tracking(adopted=True)


def test_adopt_refuses_a_session_with_a_terminal(lab):
    service = lab.start("svc", '"$PY" "$DAEMON" login "$R" &\nwait_ready login.ready\n')
    leader, shell = service.read_pids("login.pids")
    snapshot = Snapshot.take()
    tracking = membership.adopt(snapshot, shell)          # pidfile names the user's shell
    assert tracking.sessions == [] and tracking.pgroups == []


def test_cgroup_mode_is_exact(lab):
    if lab.cgroup_mount is None:
        return
    cgroup = lab.make_cgroup("svc")
    service = lab.start("svc", 'sleep 1000 &\n', cgroup=cgroup)
    outsider = lab.popen(["sleep", "1000"], start_new_session=True)
    wait_for(lambda: Snapshot.take().get(outsider.pid) is not None)
    snapshot = Snapshot.take()
    members = membership.compute(snapshot, service.tracking, main_pid=outsider.pid)
    assert members.mode == "cgroup" and len(members.pids) == 1 and outsider.pid not in members.pids
    # a record naming the cgroup root itself is refused when cgroup_root is given
    hostile = Tracking(cgroup=lab.cgroup_mount)
    refused = membership.compute(snapshot, hostile, cgroup_root=lab.cgroup_mount)
    assert refused.mode != "cgroup" and refused.pids == set()
    # OpenRC-style extra cgroups are a union
    both = membership.compute(snapshot, Tracking(), extra_cgroups=[cgroup])
    assert both.pids == members.pids and both.mode == "cgroup"


def test_orphan_marker_only_for_our_invocation(lab):
    a = lab.start("a", '"$PY" "$DAEMON" escape "$R" &\nwait_ready escape.ready\n')
    a.touch("go")
    a.wait_file("escape.done")
    escapee = a.read_pids("escape.pids")[0]
    time.sleep(0.05)
    snapshot = Snapshot.take()
    assert snapshot.get(escapee).ppid == 1
    assert escapee in a.members(snapshot).pids
    other = Tracking(invocation_id="someone-else", processes=[snapshot.get(os.getpid()).ref])
    assert escapee not in membership.compute(snapshot, other).pids
