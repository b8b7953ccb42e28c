import os
import signal
import time

from shim.proc import killer
from shim.proc.snapshot import Snapshot
from proctest import PY, pending_signals, state_of, wait_for


def _sleepers(lab, n, **kwargs):
    procs = [lab.popen(["sleep", "1000"], start_new_session=True, **kwargs) for _ in range(n)]
    wait_for(lambda: all(Snapshot.take().get(p.pid) is not None for p in procs))
    return procs


def test_protected_are_never_signalled(lab):
    victims = _sleepers(lab, 1)
    report = killer.send(lambda s: [1, os.getpid(), os.getppid(), victims[0].pid], signal.SIGTERM)
    assert [r.pid for r in report.signalled] == [victims[0].pid]
    victims[0].wait(timeout=5)


def test_sigstop_then_sigcont_and_pre_stopped(lab):
    a, b = _sleepers(lab, 2)
    os.kill(b.pid, signal.SIGSTOP)
    wait_for(lambda: state_of(b.pid) == "T")
    pids = [a.pid, b.pid]
    report = killer.send(lambda s: pids, signal.SIGSTOP)
    assert report.froze == "sigstop" and len(report.signalled) == 2
    time.sleep(0.05)
    assert state_of(a.pid) == "T" and state_of(b.pid) == "T"        # SIGSTOP stays in force
    killer.send(lambda s: pids, signal.SIGCONT)
    wait_for(lambda: state_of(a.pid) == "S" and state_of(b.pid) == "S")
    os.kill(b.pid, signal.SIGSTOP)
    wait_for(lambda: state_of(b.pid) == "T")
    report = killer.send(lambda s: pids, signal.SIGUSR2 if False else signal.SIGWINCH)
    time.sleep(0.05)
    assert state_of(a.pid) == "S"           # we froze and thawed it
    assert state_of(b.pid) == "T"           # stopped before us: not thawed by us


def test_unfrozen_stop_signals(lab, tmp_path):
    """SIGTSTP would be discarded by our own thawing SIGCONT, so it is sent without freezing.
    (The kernel itself drops it for an orphaned process group: a handler shows it arrived.)"""
    out = tmp_path / "got"
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTSTP, lambda *a: open(sys.argv[1], 'w').close())\n"
            "open(sys.argv[1] + '.ready', 'w').close()\n"
            "time.sleep(1000)\n")
    a = lab.popen([PY, "-c", code, str(out)], start_new_session=True)
    wait_for(lambda: os.path.exists(str(out) + ".ready"))
    report = killer.send(lambda s: [a.pid], signal.SIGTSTP)
    assert report.froze == "none" and len(report.signalled) == 1
    wait_for(out.exists)


def test_value_is_queued_to_first_only(lab, tmp_path):
    out = tmp_path / "info"
    code = ("import signal, sys, os\n"
            "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN + 1])\n"
            "open(sys.argv[1] + '.ready', 'w').close()\n"
            "info = signal.sigwaitinfo([signal.SIGRTMIN + 1])\n"
            "open(sys.argv[1], 'w').write('%d %d %d' % (info.si_signo, info.si_code, info.si_pid))\n")
    receiver = lab.popen([PY, "-c", code, str(out)], start_new_session=True)
    (other,) = _sleepers(lab, 1)
    wait_for(lambda: os.path.exists(str(out) + ".ready"))
    report = killer.send(lambda s: [receiver.pid, other.pid], signal.SIGRTMIN + 1, value=42, first=[receiver.pid])
    assert [r.pid for r in report.signalled] == [receiver.pid]
    wait_for(out.exists)
    time.sleep(0.05)
    signo, code_, sender = map(int, out.read_text().split())
    assert signo == signal.SIGRTMIN + 1 and code_ == -1 and sender == os.getpid()   # SI_QUEUE
    assert other.poll() is None and pending_signals(other.pid) == 0


def test_cgroup_freeze_path(lab):
    if lab.cgroup_mount is None:
        return
    cgroup = lab.make_cgroup("svc")
    service = lab.start("svc", 'i=0; while [ $i -lt 50 ]; do sleep 1000 & i=$((i+1)); done\n', cgroup=cgroup)
    report = killer.send(service.collect(), signal.SIGKILL, cgroups=[cgroup])
    assert report.froze == "cgroup" and len(report.signalled) == 50
    wait_for(lambda: not service.members().pids)


def test_terminate_escalates_and_wakes_stopped(lab):
    service = lab.start("svc", '( trap "" TERM; sleep 1000 & touch "$R/t"; wait ) &\n'
                               'sleep 1000 & kill -STOP $!\nwait_ready t\n')
    start = time.monotonic()
    report = killer.terminate(service.collect(), timeout=0.5)
    assert report.escalated and report.survivors == []
    assert time.monotonic() - start < 5
    assert not service.members().pids


def test_terminate_without_escalation(lab):
    service = lab.start("svc", 'sleep 1000 & kill -STOP $!\nsleep 1000 &\n')
    report = killer.terminate(service.collect(), timeout=5)
    assert not report.escalated and report.survivors == [] and len(report.signalled) == 2


def test_terminate_no_final_reports_survivors(lab):
    service = lab.start("svc", '( trap "" TERM; sleep 1000 & touch "$R/t"; wait ) &\nwait_ready t\n')
    report = killer.terminate(service.collect(), timeout=0.2, final=0)
    assert not report.escalated and len(report.survivors) == 2
