import os
import subprocess
import sys
import time


from shim.proc.identity import ProcessRef
from shim.proc.snapshot import PF_KTHREAD, Proc, Snapshot, boot_time, start_epoch
from proctest import PY, wait_for

WEIRD_NAME = ") (x) y"


def test_own_process():
    snapshot = Snapshot.take()
    me = snapshot.get(os.getpid())
    assert me.ppid == os.getppid() and me.pid == os.getpid()
    assert me.ref == ProcessRef.of(os.getpid())
    assert not me.is_zombie and not me.is_kernel_thread
    assert snapshot.cmdline(os.getpid())[0] == sys.executable or snapshot.cmdline(os.getpid())
    assert snapshot.environ(os.getpid()).get("PATH") is not None
    assert boot_time() < time.time()


def test_start_epoch_is_exact_to_the_clock_tick():
    """A process's wall-clock start, from its stat starttime, lies between the moments just before
    and just after we forked it, give or take one tick (the kernel rounds down). Through /proc/stat's
    btime (whole seconds) it could be off by up to a second, which let a reused PID pass for a
    pidfile's writer."""
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    for _ in range(5):
        before = time.time()
        child = subprocess.Popen(["sleep", "5"])
        after = time.time()
        try:
            started = start_epoch(ProcessRef.of(child.pid).starttime)
        finally:
            child.kill()
            child.wait()
        assert before - tick - 0.002 <= started <= after + 0.002, (before, started, after)


def test_kernel_thread_flags():
    base = dict(pgid=0, sid=0, tty_nr=0, starttime=1, state="S", comm="x")
    assert Proc(pid=50, ppid=7, flags=PF_KTHREAD, **base).is_kernel_thread
    assert not Proc(pid=52, ppid=1, flags=0x400000, **base).is_kernel_thread
    # inside a PID namespace pid 2 is an ordinary process, and so are its children
    assert not Proc(pid=2, ppid=1, flags=0x400000, **base).is_kernel_thread
    assert not Proc(pid=51, ppid=2, flags=0x400000, **base).is_kernel_thread


def test_weird_command_name_environ_cmdline_tree(pidns, tmp_path):
    # comm with spaces and parentheses: parsing must start after the LAST ')'
    code = ("import ctypes, os, time, sys\n"
            "ctypes.CDLL(None).prctl(15, %r.encode(), 0, 0, 0)\n"
            "child = os.fork()\n"
            "if child == 0:\n    time.sleep(1000)\n"
            "open(sys.argv[1], 'w').write(str(child))\n"
            "time.sleep(1000)\n" % WEIRD_NAME)
    ready = tmp_path / "child"
    process = subprocess.Popen([PY, "-c", code, str(ready)], env={"MARK": "a=b", "PATH": os.environ["PATH"]})
    try:
        wait_for(ready.exists)
        time.sleep(0.05)
        child = int(ready.read_text())
        snapshot = Snapshot.take()
        proc = snapshot.get(process.pid)
        assert proc.comm == WEIRD_NAME and proc.ppid == os.getpid() and proc.state in "SR"
        assert [c.pid for c in snapshot.children(process.pid)] == [child]
        assert snapshot.descendants([process.pid]) == {child}
        assert process.pid in snapshot.descendants([os.getpid()])
        assert snapshot.environ(process.pid)["MARK"] == "a=b"
        assert snapshot.environ_has(process.pid, "MARK", "a=b")
        assert not snapshot.environ_has(process.pid, "MARK", "a")
        assert not snapshot.environ_has(process.pid, "ARK", "a=b")
        assert snapshot.cmdline(process.pid)[:2] == [PY, "-c"]
        assert snapshot.environ(999999) == {} and snapshot.cmdline(999999) == []
    finally:
        process.kill()
        process.wait()


def test_zombie_and_identity(pidns):
    process = subprocess.Popen(["true"])
    wait_for(lambda: Snapshot.take().get(process.pid).is_zombie)
    ref = ProcessRef.of(process.pid)
    assert ref is not None and not ref.alive()        # a zombie is not alive
    snapshot = Snapshot.take()
    assert snapshot.cmdline(process.pid) == []
    process.wait()
    assert ProcessRef.of(process.pid) is None and not ref.alive()
    sleeper = subprocess.Popen(["sleep", "100"])
    try:
        ref = ProcessRef.of(sleeper.pid)
        assert ref.alive()
        assert not ProcessRef(ref.pid, ref.starttime + 1).alive()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_alternative_proc_root(tmp_path):
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text("42 (a) b)) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n")
    (tmp_path / "43").mkdir()
    (tmp_path / "43" / "stat").write_text("garbage\n")
    (tmp_path / "self").mkdir()
    snapshot = Snapshot.take(str(tmp_path))
    assert list(snapshot.procs) == [42]
    assert snapshot.get(42).comm == "a) b)" and snapshot.get(42).starttime == 777
    assert ProcessRef.of(42, str(tmp_path)) == ProcessRef(42, 777)
