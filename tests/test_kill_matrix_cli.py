"""The escape matrix again, through the real CLI: `systemctl --root=DIR start|kill|status|stop NAME`
with LSB shell init scripts in DIR/etc/init.d (pidfiles and marker files at literal absolute paths
under DIR: the scripts run on the live system). Twice: with per-unit cgroups
(SYSTEMCTL_SHIM_CGROUP=<a test cgroup>) and without (SYSTEMCTL_SHIM_CGROUP=none); in the second
run the CLI is started inside a cgroup the shim is not told about, which is the ground truth.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "proc"))

from shim.proc import cgroup as cgroup_fs  # noqa: E402
from shim.proc.identity import ProcessRef  # noqa: E402
from shim.proc.snapshot import Snapshot  # noqa: E402
from proctest import DAEMON, PY, WAIT_READY, Lab, in_private_pidns, pending_signals, state_of, wait_for  # noqa: E402
from test_escape_matrix import CASES, LOGIN  # noqa: E402

pytestmark = pytest.mark.skipif(not in_private_pidns(), reason="needs the private PID namespace (tests/pidns.py)")

INIT_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: {name} (kill matrix)
### END INIT INFO
R={ready}; export R
PY={py}; DAEMON={daemon}; export PY DAEMON
PIDFILE={pidfile}
{wait_ready}
case "$1" in
  start)
    mkdir -p "$R"
{body}
    ;;
  stop)
    [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null
    rm -f "$PIDFILE"
    exit 0
    ;;
  status)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then exit 0; fi
    exit 3
    ;;
  *) exit 3 ;;
esac
exit 0
"""


class Root:
    def __init__(self, lab, mode):
        self.lab = lab
        self.dir = os.path.join(lab.dir, "root")
        os.makedirs(os.path.join(self.dir, "etc", "init.d"))
        self.truth = lab.make_cgroup("truth")
        self.base = lab.make_cgroup("base") if mode == "cgroup" else None
        self.unit_dirs = []
        self.keepers = set()
        self.env = {**lab.env, "LANG": "C.UTF-8", "PYTHONPATH": REPO, "PYTHONDONTWRITEBYTECODE": "1",
                    "SYSTEMCTL_SHIM_CGROUP": self.base or "none", "SYSTEMCTL_SHIM_STOP_TIMEOUT": "5"}

    def ready(self, name):
        return os.path.join(self.dir, "marks", name)

    def install(self, name, body, ready, after=""):
        """body's last background job is the main process (pidfile); `after` starts later jobs."""
        wait = "    wait_ready %s\n" % " ".join(ready) if ready else ""
        indent = lambda text: "".join("    " + line + "\n" for line in text.splitlines())  # noqa: E731
        text = INIT_SCRIPT.format(name=name, ready=self.ready(name), py=PY, daemon=DAEMON,
                                  pidfile=os.path.join(self.dir, "marks", name + ".pid"), wait_ready=WAIT_READY,
                                  body=indent(body) + '    echo $! > "$PIDFILE"\n' + indent(after) + wait)
        path = os.path.join(self.dir, "etc", "init.d", name)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o755)

    def systemctl(self, *args, in_truth=False):
        truth = os.path.join(self.truth, "cgroup.procs")

        def join_truth():
            with open(truth, "w") as handle:
                handle.write("0")
        done = subprocess.run([PY, "-m", "shim", *args], env=dict(self.env, SYSTEMCTL_SHIM_ROOT=self.dir), cwd=REPO,
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=join_truth if in_truth else None)
        assert "Traceback" not in done.stderr, done.stderr
        return done


@pytest.fixture
def lab(tmp_path):
    world = Lab(str(tmp_path), cgroup_fs.writable_cgroup2())
    if world.cgroup_mount is None:
        pytest.skip("no writable cgroup2 for the ground truth")
    try:
        yield world
    finally:
        world.cleanup()


def _keepers(root):
    """The units' keepers (from their records): the shim's own machinery, in the ground-truth
    cgroup because systemctl started them, but no process of any unit (as systemd's PID 1)."""
    found = set()
    units = os.path.join(root.dir, "run", "systemctl-shim", "units")
    for entry in os.listdir(units) if os.path.isdir(units) else ():
        if entry.endswith(".json"):
            with open(os.path.join(units, entry)) as handle:
                keeper = json.load(handle)["tracking"].get("keeper")
            if keeper:
                found.add(keeper[0])
    return found


def _truth(root, logins):
    snapshot = Snapshot.take()
    inside = {pid for pid in cgroup_fs.procs(root.truth) + [p for d in root.unit_dirs for p in cgroup_fs.procs(d)]
              if snapshot.get(pid) is not None and not snapshot.get(pid).is_zombie}
    return inside - logins - snapshot.descendants(logins) - root.keepers, snapshot


@pytest.mark.parametrize("mode", ["cgroup", "nocgroup"])
@pytest.mark.parametrize("name", list(CASES))
def test_kill_matrix_cli(lab, mode, name):
    case = CASES[name]
    root = Root(lab, mode)
    ready = case.ready + (["login.ready"] if case.login else [])
    root.install("svc", case.body, ready, after=LOGIN if case.login else "")
    root.install("other", '"$PY" "$DAEMON" solo "$R" &\n', ["solo.ready"])
    started = root.systemctl("start", "other")
    assert started.returncode == 0, started.stderr
    others = set(os.listdir(root.base)) if root.base else set()
    started = root.systemctl("start", "svc", in_truth=True)
    assert started.returncode == 0, started.stderr
    root.keepers = _keepers(root)
    assert root.keepers, "a start leaves a keeper"
    if root.base:     # the unit's own cgroup is the new directory under the base
        root.unit_dirs = [os.path.join(root.base, d) for d in set(os.listdir(root.base)) - others
                          if os.path.isdir(os.path.join(root.base, d))]
        assert len(root.unit_dirs) == 1
    namesake = lab.popen(["sleep", "1000"], start_new_session=True)
    open(os.path.join(root.ready("svc"), "go"), "w").close()
    for done in case.late:
        wait_for(lambda: os.path.exists(os.path.join(root.ready("svc"), done)), 15, done)
    time.sleep(0.05)
    logins = set()
    if case.login:
        with open(os.path.join(root.ready("svc"), "login.pids")) as handle:
            logins = {int(word) for word in handle.read().split()}
    truth, snapshot = _truth(root, logins)
    logins |= snapshot.descendants(logins)
    assert truth
    other = [snapshot.get(int(open(os.path.join(root.ready("other"), "solo.pids")).read().split()[0])).ref]
    bystanders = other + [ProcessRef.of(namesake.pid), snapshot.get(os.getpid()).ref, snapshot.get(1).ref]
    bystanders += [snapshot.get(pid).ref for pid in logins]
    stopped = set()
    if name == "stopped_child":
        stopped = {int(open(os.path.join(root.ready("svc"), "stopped.pids")).read().split()[0])}
    # Started through the shim, a unit's keeper is the subreaper of all it started: even the
    # escapee that setsids and clears its environment is its descendant. Nothing is missed.
    expected_missed = set()

    if name == "ignores_sigterm":
        assert root.systemctl("kill", "svc").returncode == 0
        time.sleep(0.2)
        assert all(ProcessRef.of(pid) is not None for pid in truth), "SIGTERM was ignored"
    killed = root.systemctl("kill", "-s", signal.Signals(case.signo).name, "svc")
    assert killed.returncode == 0 and killed.stdout == "" and killed.stderr == "", killed.stderr

    def service_gone():
        left, _ = _truth(root, logins)
        return not (left - stopped - expected_missed)
    try:
        wait_for(service_gone, 15, "every member to die")
    except AssertionError:
        left, snap = _truth(root, logins)
        raise AssertionError("left alive: %r; kill said %r" % (
            [(pid, snap.get(pid).comm, snap.get(pid).sid, snap.get(pid).ppid, snap.cmdline(pid))
             for pid in left - stopped - expected_missed],
            killed.stderr)) from None
    for pid in stopped:
        assert state_of(pid) == "T" and pending_signals(pid) & (1 << (signal.SIGTERM - 1))
    hit = [ref for ref in bystanders if not ref.alive()]
    kinds = {ref: kind for kind, refs in (("other", other), ("login", [snapshot.get(p).ref for p in logins]))
             for ref in refs}
    assert not hit, f"bystanders hit: {[(ref, kinds.get(ref, 'namesake/self/init')) for ref in hit]}"
    status = root.systemctl("status", "svc")
    assert status.returncode in (0, 3), status.stderr
    stop = root.systemctl("stop", "svc")
    assert stop.returncode == 0, stop.stderr
    assert all(ref.alive() for ref in bystanders)
    assert root.systemctl("stop", "other").returncode == 0
