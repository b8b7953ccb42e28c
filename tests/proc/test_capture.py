import os
import signal
import subprocess
import time

from shim.proc import cgroup as cgroup_fs
from shim.proc.capture import run_captured
from shim.proc.prctl import get_child_subreaper as _get_subreaper
from shim.proc.snapshot import Snapshot


def test_exit_status_log_and_spawn_callback(pidns, tmp_path):
    seen = []
    log = tmp_path / "log"
    log.write_text("before\n")
    result = run_captured(["sh", "-c", 'echo "id=$INVOCATION_ID cwd=$(pwd)"; echo err >&2; read x; exit 3'],
                          env={"PATH": os.environ["PATH"]}, invocation_id="abc", cwd=str(tmp_path),
                          log_path=str(log), on_spawn=seen.append)
    assert result.returncode == 3 and result.signal is None and not result.timed_out
    assert seen == [result.control] and result.control.pid > 0
    assert log.read_text() == f"before\nid=abc cwd={tmp_path}\nerr\n"
    assert result.tracking.invocation_id == "abc" and result.tracking.processes == []
    assert result.tracking.sessions == [result.control] and result.tracking.pgroups == [result.control]
    assert _get_subreaper() == 0


def test_killed_by_signal_and_timeout(pidns):
    result = run_captured(["sh", "-c", "kill -USR1 $$"], env={}, invocation_id="x")
    assert result.returncode is None and result.signal == signal.SIGUSR1
    start = time.monotonic()
    result = run_captured(["sh", "-c", "sleep 100"], env={"PATH": os.environ["PATH"]}, invocation_id="x", timeout=0.3)
    assert result.timed_out and time.monotonic() - start < 10
    assert result.signal == signal.SIGTERM or result.returncode is not None


def test_records_double_forked_daemons_and_reaps_zombies(lab):
    service = lab.start("svc", '( setsid sh -c \'sleep 1000 & touch "$R/a"; wait\' & )\n'
                               '( true & )\nsleep 1000 &\nwait_ready a\n')
    snapshot = Snapshot.take()
    processes = service.tracking.processes
    comms = sorted(snapshot.get(ref.pid).comm for ref in processes)
    assert comms == ["sh", "sleep", "sleep"]
    setsid_sh = next(ref for ref in processes if snapshot.get(ref.pid).comm == "sh")
    assert setsid_sh in service.tracking.sessions      # a session it created
    for ref in processes:
        assert snapshot.environ(ref.pid)["INVOCATION_ID"] == service.tracking.invocation_id
    me = os.getpid()
    assert not [p for p in snapshot.procs.values() if p.ppid == me and p.is_zombie
                and p.pid not in lab.start_snapshot.procs]


def test_joins_the_cgroup_and_resets_loginuid(lab):
    if lab.cgroup_mount is None:
        return
    cgroup = lab.make_cgroup("svc")
    service = lab.start("svc", 'sleep 1000 &\necho $! > "$R/pid"\n', cgroup=cgroup)
    pid = service.read_pids("pid")[0]
    assert pid in cgroup_fs.procs(cgroup) and service.tracking.cgroup == cgroup
    if os.path.exists(f"/proc/{pid}/loginuid"):
        with open(f"/proc/{pid}/loginuid") as handle:
            assert handle.read().strip() == "4294967295"


def test_logins_are_not_recorded(lab):
    service = lab.start("svc", '"$PY" "$DAEMON" login "$R" &\nsleep 1000 &\nwait_ready login.ready\n')
    logins = set(service.read_pids("login.pids"))
    assert not logins & {ref.pid for ref in service.tracking.processes}
    assert not logins & {ref.pid for ref in service.tracking.sessions}
    assert len(service.tracking.processes) == 1


def test_the_callers_other_children_are_not_the_units(pidns, tmp_path):
    """What a start captures is anchored at its script: a child of the caller that forks while
    the script runs (a supervisor's, a test runner's, PID 1's other work) is not the unit's."""
    marker = tmp_path / "other.pid"
    other = subprocess.Popen(["sh", "-c", 'sleep 0.2; sleep 1000 & echo $! > "$1"; wait', "sh",
                              str(marker)], start_new_session=True)
    try:
        result = run_captured(["sh", "-c", "sleep 1000 & sleep 0.8"],
                              env={"PATH": os.environ["PATH"]}, invocation_id="anchored")
        assert marker.exists(), "the caller's other child did not fork during the start"
        grandchild = int(marker.read_text())
        captured = {ref.pid for ref in result.tracking.processes}
        assert grandchild not in captured and other.pid not in captured
        assert len(captured) == 1                  # the script's own sleep, nothing else
        (daemon,) = captured
        assert Snapshot.take().environ(daemon)["INVOCATION_ID"] == "anchored"
        os.kill(daemon, signal.SIGKILL)
    finally:
        os.killpg(other.pid, signal.SIGKILL)       # our own child's group, started above
        other.wait()
