"""Lifecycle truth: state is computed from real processes, never a flag written at start.

Daemons killed behind the shim's back, scripts that leave nothing running, pidfiles that lie
(systemctl-behaviour.md 4.2: the PIDFile= safety rules), concurrent starts, a shim killed in the
middle of a start, and a real cgroup.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from scripts import gone, pid_alive, wait_for


def _main_pid(root, unit):
    r = root.run("show", "-P", "MainPID", unit)
    assert r.rc == 0
    return int(r.out)


# --- daemons that die -------------------------------------------------------------------------

@pytest.mark.parametrize("signo", [signal.SIGKILL, signal.SIGTERM])
def test_daemon_killed_behind_our_back(root, signo):
    root.daemon("food")
    assert root.run("start", "food").rc == 0
    pid = root.daemon_pid("food")
    assert root.run("is-active", "food").rc == 0
    os.kill(pid, signo)                           # our own daemon, by pid
    assert wait_for(lambda: not pid_alive(pid))
    r = root.run("is-active", "food")
    assert r.rc == 3 and r.out in ("inactive\n", "failed\n"), str(r)
    r = root.run("status", "food")
    assert r.rc == 3
    assert "Active: active" not in r.out
    assert _main_pid(root, "food") == 0
    # and it can be started again (once reaped: the script's `kill -0` would see a zombie)
    assert wait_for(lambda: gone(pid)), "daemon not reaped: run the suite through tests/run"
    assert root.run("start", "food").rc == 0
    assert root.run("is-active", "food").rc == 0
    assert len(root.tagged()) == 1


def test_daemon_killed_is_failed_after_sigkill(root):
    root.daemon("food")
    root.run("start", "food")
    pid = root.daemon_pid("food")
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(pid))
    r = root.run("show", "-p", "ActiveState,SubState", "food")
    assert r.out in ("ActiveState=failed\nSubState=failed\n", "ActiveState=inactive\nSubState=dead\n")


def test_script_without_daemon_is_active_exited(root):
    # RemainAfterExit=yes and nothing running: `Active: active (exited) since ...`
    root.daemon("once", daemon=False)
    r = root.run("start", "once")
    assert (r.rc, r.err) == (0, "")
    r = root.run("is-active", "once")
    assert (r.rc, r.out) == (0, "active\n")
    r = root.run("status", "once")
    assert r.rc == 0
    assert "     Active: active (exited) since " in r.out
    assert "Main PID" not in r.out
    r = root.run("show", "-p", "SubState,MainPID", "once")
    assert r.out == "MainPID=0\nSubState=exited\n"
    assert root.run("stop", "once").rc == 0
    assert root.run("is-active", "once").rc == 3
    assert root.calls("once") == ["start", "stop"]


# --- pidfiles that lie --------------------------------------------------------------------------

def _start_with_pidfile_then(root, content_fn, name="food"):
    """Start a real daemon, then replace its pidfile's content; return the daemon's pid."""
    root.daemon(name)
    assert root.run("start", name).rc == 0
    real = root.daemon_pid(name)
    assert real
    path = root.pidfile(name)
    content_fn(path)
    return real


def _write(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.rename(tmp, path)


@pytest.mark.parametrize("content", ["garbage\n", "", "12abc\n", "-5\n", "0\n", "99999999999\n",
                                     "\x00\x01\x02\xff binary"])
def test_pidfile_garbage(root, content):
    real = _start_with_pidfile_then(root, lambda p: _write(p, content))
    pid = _main_pid(root, "food")
    assert pid in (0, real)


def test_pidfile_pid_1(root):
    real = _start_with_pidfile_then(root, lambda p: _write(p, "1\n"))
    assert _main_pid(root, "food") in (0, real)
    r = root.run("status", "food")
    assert "Main PID: 1 " not in r.out


def test_pidfile_dead_pid(root):
    dead = subprocess.Popen(["true"])
    dead.wait()
    real = _start_with_pidfile_then(root, lambda p: _write(p, "%d\n" % dead.pid))
    assert _main_pid(root, "food") in (0, real)


def test_pidfile_pid_of_another_unit(root):
    root.daemon("other")
    assert root.run("start", "other").rc == 0
    other = root.daemon_pid("other")
    real = _start_with_pidfile_then(root, lambda p: _write(p, "%d\n" % other))
    assert _main_pid(root, "food") in (0, real)
    assert _main_pid(root, "other") == other


def _non_root_pidfile(root, pid):
    def make(path):
        _write(path, "%d\n" % pid)
        os.chown(path, 65534, 65534)        # nobody
    return make


def test_pidfile_not_owned_by_root_pointing_outside(root):
    # "if it is owned by an unprivileged user ... the PID file must refer to a process already
    # belonging to the service"
    stranger = root.spawn_tagged_sleep()
    real = _start_with_pidfile_then(root, _non_root_pidfile(root, stranger.pid))
    assert _main_pid(root, "food") in (0, real)
    r = root.run("status", "food")
    assert "Main PID: %d " % stranger.pid not in r.out


def test_pidfile_symlink_across_owners(root):
    # "the file may not be a symlink to a file owned by a different user"
    stranger = root.spawn_tagged_sleep()
    target = os.path.join(root.path, "elsewhere.pid")

    def make(path):
        _write(target, "%d\n" % stranger.pid)
        os.unlink(path)
        os.symlink(target, path)
        os.lchown(path, 65534, 65534)
    real = _start_with_pidfile_then(root, make)
    assert _main_pid(root, "food") in (0, real)


STOP_IGNORES_PIDFILE = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: stop leaves the killing to the service manager
### END INIT INFO
PIDFILE={pidfile}
case "$1" in
  start) SHIM_TEST_TAG={tag} sleep 100000 </dev/null >/dev/null 2>&1 &
         echo $! > "$PIDFILE" ;;
  stop) : ;;
esac
exit 0
"""


@pytest.mark.parametrize("hijack", ["stranger-nonroot", "other-unit"])
def test_stop_never_kills_what_a_lying_pidfile_names(root, hijack):
    root.raw("food", STOP_IGNORES_PIDFILE.format(name="food", pidfile=root.pidfile("food"), tag=root.tag))
    assert root.run("start", "food").rc == 0
    real = root.daemon_pid("food")
    if hijack == "stranger-nonroot":
        victim = root.spawn_tagged_sleep().pid
        _non_root_pidfile(root, victim)(root.pidfile("food"))
    else:
        root.daemon("other")
        root.run("start", "other")
        victim = root.daemon_pid("other")
        _write(root.pidfile("food"), "%d\n" % victim)
    r = root.run("stop", "food")
    assert r.rc == 0
    assert wait_for(lambda: not pid_alive(real)), "the unit's own daemon survived stop"
    time.sleep(0.2)
    assert pid_alive(victim), "stop killed a process the pidfile named but the unit does not own"


# --- concurrency --------------------------------------------------------------------------------

def test_twenty_concurrent_starts_start_one_daemon(root):
    root.daemon("food", start_delay=0.5)
    procs = [subprocess.Popen([sys.executable, "-m", "shim",
                               "start", "food"],
                              env=root.env(), cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(20)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert [rc for rc, _, _ in results] == [0] * 20, results
    assert all(b"Traceback" not in err for _, _, err in results)
    assert root.calls("food").count("start") == 1
    daemons = root.tagged()
    assert daemons == [root.daemon_pid("food")]
    assert _main_pid(root, "food") == daemons[0]
    assert root.run("stop", "food").rc == 0
    assert wait_for(lambda: root.tagged() == [])


# --- a shim killed in the middle of a start -----------------------------------------------------

def test_shim_killed_mid_start_recovers(root):
    root.daemon("food", start_delay=2)
    shim = subprocess.Popen([sys.executable, "-m", "shim",
                             "start", "food"], env=root.env(), cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: "start" in root.calls("food"), timeout=20)
    time.sleep(0.3)
    shim.kill()                                   # SIGKILL our own shim process
    shim.wait()
    # While the orphaned script still runs, the unit is starting (or already up); never a crash.
    r = root.run("is-active", "food")
    assert r.out in ("activating\n", "active\n", "inactive\n", "failed\n"), str(r)
    # The lock died with the shim: the next start does not hang, and there is one daemon.
    r = root.run("start", "food", timeout=60)
    assert r.rc == 0, str(r)
    assert wait_for(lambda: root.run("is-active", "food").rc == 0, timeout=20)
    assert wait_for(lambda: len(root.tagged()) == 1, timeout=10), root.tagged()
    assert _main_pid(root, "food") == root.tagged()[0]
    assert root.run("stop", "food").rc == 0
    assert wait_for(lambda: root.tagged() == [])
    assert root.run("is-active", "food").rc == 3


def test_shim_and_script_killed_mid_start(root):
    root.daemon("food", start_delay=30)
    shim = subprocess.Popen([sys.executable, "-m", "shim",
                             "start", "food"], env=root.env(), cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: "start" in root.calls("food"), timeout=20)
    control = wait_for(lambda: _main_or_control(root), timeout=10)
    assert control, "no ControlPID while the start script runs"
    shim.kill()
    shim.wait()
    _kill_tree_of_script(control)
    r = root.run("is-active", "food")
    assert r.rc == 3 and r.out in ("inactive\n", "failed\n"), str(r)
    # The next start runs the script again and works (a short delay this time).
    root.daemon("food")
    r = root.run("start", "food", timeout=60)
    assert r.rc == 0, str(r)
    assert root.run("is-active", "food").rc == 0
    assert root.run("stop", "food").rc == 0


def _main_or_control(root):
    r = root.run("show", "-P", "ControlPID", "food")
    try:
        return int(r.out) or None
    except ValueError:
        return None


def _kill_tree_of_script(pid):
    """SIGKILL the start script (our own test script, run as the unit's control process) and the
    `sleep` it is waiting in: its session, which the shim created for it."""
    try:
        sid = os.getsid(pid)
    except ProcessLookupError:
        return
    assert sid == pid, "the control process should lead its own session"
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    wait_for(lambda: not pid_alive(pid))


# --- a real cgroup ------------------------------------------------------------------------------

def test_start_stop_in_a_cgroup(root, cgroup_dir):
    root.env_extra["SYSTEMCTL_SHIM_CGROUP"] = cgroup_dir
    root.daemon("food")
    r = root.run("start", "food")
    assert (r.rc, r.err) == (0, "")
    pid = root.daemon_pid("food")
    unit_cgroup = os.path.join(cgroup_dir, "food.service")
    with open(os.path.join(unit_cgroup, "cgroup.procs")) as handle:
        assert str(pid) in handle.read().split()
    assert root.run("show", "-P", "ControlGroup", "food").out == unit_cgroup + "\n"
    r = root.run("status", "food")
    assert r.rc == 0 and "%s (cgroup)" % unit_cgroup in r.out
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(pid))
    assert root.run("is-active", "food").rc == 3
    assert wait_for(lambda: gone(pid)), "daemon not reaped: run the suite through tests/run"
    assert root.run("start", "food").rc == 0
    assert root.run("stop", "food").rc == 0
    assert wait_for(lambda: root.tagged() == [])
    assert not os.path.exists(unit_cgroup)


def test_kill_from_a_session_the_daemon_spawned(root):
    """Over ssh every systemctl runs below the sshd listener: `systemctl kill ssh` from such a
    session must reach the listener (an ancestor, but the service's daemon, not ours: another
    session, no terminal), while the caller's own session is never signalled."""
    go, out = os.path.join(root.marks, "go"), os.path.join(root.marks, "out")
    env = " ".join("%s=%s" % (k, v) for k, v in sorted(root.env().items())
                   if k in ("SYSTEMCTL_SHIM_ROOT", "SYSTEMCTL_SHIM_CGROUP", "PYTHONPATH", "LANG"))
    pidfile = root.pidfile("listener")
    session = os.path.join(root.marks, "session.sh")          # what an ssh login would run
    with open(session, "w") as handle:
        handle.write('%s %s -m shim kill listener > %s 2>&1; echo "rc=$?" >> %s\n'
                     % (env, sys.executable, out, out))
    root.raw("listener", """\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          listener
        # Short-Description: spawns sessions that run systemctl, like sshd
        ### END INIT INFO
        # pidfile: %(pidfile)s
        case "$1" in
          start) SHIM_TEST_TAG=%(tag)s sh -c 'while [ ! -e %(go)s ]; do sleep 0.05; done
                   setsid sh %(session)s; sleep 1000' </dev/null >/dev/null 2>&1 &
                 echo $! > %(pidfile)s ;;
        esac
        exit 0
        """ % {"pidfile": pidfile, "tag": root.tag, "go": go, "session": session})
    assert root.run("start", "listener").rc == 0
    listener = root.daemon_pid("listener")
    assert root.run("show", "-P", "MainPID", "listener").out == "%d\n" % listener
    open(go, "w").close()
    assert wait_for(lambda: os.path.exists(out) and "rc=" in open(out).read(), timeout=20)
    with open(out) as handle:
        assert handle.read() == "rc=0\n"
    assert wait_for(lambda: not pid_alive(listener)), "the listener was not reached"
