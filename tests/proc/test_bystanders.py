"""Bystanders that need a scene of their own: a process that reused a member's pid, pidfiles that
point at PID 1 or at another service, and a kill run from a shell inside the service."""
import json
import os
import signal
import time

import pytest

from shim.proc import killer
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Snapshot
from proctest import wait_for

NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def _spawn_with_pid(lab, pid, argv):
    """Start argv as pid (fresh PID namespace: write pid-1 to ns_last_pid, fork at once)."""
    for _ in range(20):
        with open(NS_LAST_PID, "w") as handle:
            handle.write(str(pid - 1))
        process = lab.popen(argv, start_new_session=True)
        if process.pid == pid:
            return process
        process.kill()
        process.wait()
    pytest.skip("could not obtain the pid through ns_last_pid")


@pytest.mark.parametrize("mode", ["cgroup", "nocgroup"])
def test_impostor_with_a_dead_members_pid(lab, mode):
    cgroup = lab.make_cgroup("svc") if mode == "cgroup" and lab.cgroup_mount else None
    service = lab.start("svc", '"$PY" "$DAEMON" solo "$R" &\nsleep 1000 &\nwait_ready solo.ready\n', cgroup=cgroup)
    (leader,) = service.read_pids("solo.pids")
    ref = ProcessRef.of(leader)
    assert ref in service.tracking.processes
    assert any(s.pid == leader for s in service.tracking.sessions), "its own session is recorded"
    os.kill(leader, signal.SIGKILL)           # we started it
    wait_for(lambda: not ref.alive())
    lab.reap()
    wait_for(lambda: ProcessRef.of(leader) is None, what="the pid to be free")
    # The impostor gets the dead member's pid, leads a session with the recorded id, and carries
    # no marker: recorded ref, session and pgroup rules must all see through it.
    impostor = _spawn_with_pid(lab, leader, ["sleep", "1000"])
    wait_for(lambda: ProcessRef.of(impostor.pid) is not None)
    impostor_ref = ProcessRef.of(impostor.pid)
    assert impostor_ref.pid == ref.pid and impostor_ref.starttime != ref.starttime or impostor_ref != ref
    members = service.members()
    assert impostor.pid not in members.pids
    assert len(members.pids) == 1            # the other sleep
    report = killer.send(service.collect(), signal.SIGKILL, cgroups=[cgroup] if cgroup else [])
    assert impostor.pid not in {r.pid for r in report.signalled}
    assert len(report.signalled) == 1
    time.sleep(0.1)
    assert impostor_ref.alive()


@pytest.mark.parametrize("target", ["pid1", "other_service", "our_shell_parent", "login_inside"])
def test_pidfile_pointing_elsewhere(lab, target):
    service = lab.start("svc", 'sleep 1000 &\n"$PY" "$DAEMON" login "$R" &\nwait_ready login.ready\n')
    other = lab.start("other", '"$PY" "$DAEMON" solo "$R" &\nwait_ready solo.ready\n')
    pid = {"pid1": 1, "other_service": other.read_pids("solo.pids")[0], "our_shell_parent": os.getppid(),
           "login_inside": service.read_pids("login.pids")[0]}[target]
    victim = ProcessRef.of(pid)
    collect = service.collect(main_pid=pid)
    members = service.members(main_pid=pid)
    assert pid not in members.pids and len(members.pids) == 1
    report = killer.send(collect, signal.SIGTERM, first=[pid])
    assert pid not in {r.pid for r in report.signalled}
    time.sleep(0.1)
    assert victim.alive()


def test_main_pid_of_our_own_service_goes_first(lab):
    service = lab.start("svc", 'sleep 1000 &\nsleep 1001 &\n"$PY" "$DAEMON" solo "$R" &\nwait_ready solo.ready\n')
    main = service.read_pids("solo.pids")[0]
    report = killer.send(service.collect(main_pid=main), signal.SIGTERM, first=[12345678, main])
    assert report.signalled[0].pid == main
    assert len(report.signalled) == 3


def test_kill_from_a_shell_inside_the_service(lab):
    """The admin runs the kill from a shell that is itself part of the service: that shell and the
    killer (ancestors and self) are protected; everything else of the service dies."""
    service = lab.start("svc", 'sleep 1000 &\nsh -c \'"$PY" "$DAEMON" caller "$R"; sleep 1000\' &\n'
                               'wait_ready caller.ready\n')
    with open(os.path.join(service.ready_dir, "tracking.json"), "w") as handle:
        json.dump(service.tracking.to_dict(), handle)
    before = Snapshot.take()
    members_before = service.members(before).pids
    service.touch("go")
    service.wait_file("caller.out")
    with open(os.path.join(service.ready_dir, "caller.out")) as handle:
        out = json.load(handle)
    snapshot = Snapshot.take()
    caller, shell = snapshot.get(out["pid"]), snapshot.get(out["ppid"])
    assert caller is not None and shell is not None and shell.comm == "sh"
    signalled = {pid for pid, _ in out["signalled"]}
    assert caller.pid not in signalled and shell.pid not in signalled
    assert signalled == members_before - {shell.pid, caller.pid}   # caller: daemon.py exec-ed the killer
    wait_for(lambda: not (service.members().pids - {caller.pid, shell.pid}))
