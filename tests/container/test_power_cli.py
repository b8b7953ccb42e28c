"""The power verbs' command line, without a container: what they say when there is nothing to
talk to, and what they refuse (systemd 252's words and exit codes)."""
import json
import os
import subprocess
import sys

import pytest

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOT_BOOTED = ("System has not been booted with systemd as init system (PID 1). Can't operate.\n"
              "Failed to connect to bus: Host is down\n")


@pytest.fixture
def run(tmp_path):
    state = tmp_path / "state"
    state.mkdir()

    def systemctl(*args):
        env = dict(os.environ, SYSTEMCTL_SHIM_STATE_DIR=str(state), SYSTEMCTL_SHIM_ROOT=str(tmp_path))
        return subprocess.run([sys.executable, "-m", "shim", *args], capture_output=True, text=True,
                              env=env, cwd=CHECKOUT, timeout=60)
    systemctl.state = state
    return systemctl


@pytest.mark.parametrize("verb", ["poweroff", "halt", "reboot", "exit"])
def test_without_our_init_nothing_is_signalled(run, verb):
    result = run(verb)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", NOT_BOOTED)


def test_a_stale_init_record_is_not_believed(run):
    """init.json of a process that is gone (or is another process now) names nobody."""
    (run.state / "init.json").write_text(json.dumps({"pid": 1, "starttime": 1, "state": "running"}))
    assert run("poweroff").stderr == NOT_BOOTED
    assert run("is-system-running").stdout != "starting\n"


@pytest.mark.parametrize("code", ["abc", "256", "-1", "1.5", ""])
def test_exit_code_must_be_0_to_255(run, code):
    result = run("exit", code)
    assert (result.returncode, result.stderr) == (1, "Invalid exit code.\n")


@pytest.mark.parametrize("args", [["exit", "1", "2"], ["reboot", "a", "b"], ["poweroff", "now"],
                                  ["halt", "x"]])
def test_too_many_arguments(run, args):
    result = run(*args)
    assert (result.returncode, result.stderr) == (1, "Too many arguments.\n")


@pytest.mark.parametrize("verb", ["poweroff", "init", "exit"])
def test_refused_with_root(run, verb, tmp_path):
    result = run("--root=%s" % tmp_path, verb)
    assert (result.returncode, result.stderr) == (1, "Verb '%s' cannot be used with --root= or --image=.\n"
                                                  % verb)


def test_is_system_running_with_root_is_offline(run, tmp_path):
    result = run("--root=%s" % tmp_path, "is-system-running")
    assert (result.returncode, result.stdout) == (1, "offline\n")


def test_init_refuses_when_an_init_runs(run):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with open("/proc/%d/stat" % sleeper.pid) as handle:
            starttime = int(handle.read().rsplit(")", 1)[1].split()[19])
        (run.state / "init.json").write_text(json.dumps({"pid": sleeper.pid, "starttime": starttime,
                                                         "state": "running"}))
        result = run("init")
        assert result.returncode == 1
        assert result.stderr == "systemctl-shim is already running as init (PID %d), state %s.\n" % (
            sleeper.pid, run.state)
    finally:
        sleeper.kill()
        sleeper.wait()


UNIT = """[Service]
ExecStart=/bin/sleep 1000
ExecStop=/bin/sh -c 'echo stopped > {marker}'
[Install]
WantedBy=multi-user.target
"""


def test_init_as_a_subreaper_boots_and_stops(tmp_path):
    """Not PID 1 (`systemctl init` under another init): the same boot and stop, its orphans
    reaped as their subreaper, SIGTERM ends it with status 0 after every ExecStop=."""
    import signal
    import time
    system = tmp_path / "etc/systemd/system"
    (system / "multi-user.target.wants").mkdir(parents=True)
    (system / "sleeper.service").write_text(UNIT.format(marker=tmp_path / "marker"))
    os.symlink("../sleeper.service", system / "multi-user.target.wants/sleeper.service")
    env = dict(os.environ, SYSTEMCTL_SHIM_STATE_DIR=str(tmp_path / "state"), SYSTEMCTL_SHIM_ROOT=str(tmp_path),
               SYSTEMCTL_SHIM_CGROUP="none")
    init = subprocess.Popen([sys.executable, "-m", "shim", "init"], env=env, cwd=CHECKOUT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def state():
            return subprocess.run([sys.executable, "-m", "shim", "is-system-running"], env=env, cwd=CHECKOUT,
                                  capture_output=True, text=True).stdout
        deadline = time.monotonic() + 20
        booted = tmp_path / "state/init.json"       # before it exists the answer is the machine's
        while not (booted.exists() and state() == "running\n") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state() == "running\n"
        active = subprocess.run([sys.executable, "-m", "shim", "is-active", "sleeper"], env=env, cwd=CHECKOUT,
                                capture_output=True, text=True)
        assert active.stdout == "active\n"
        init.send_signal(signal.SIGTERM)
        output, _ = init.communicate(timeout=20)
        assert init.returncode == 0, output
        assert (tmp_path / "marker").read_text() == "stopped\n"
        assert "Received SIGTERM" in output
        assert not (tmp_path / "state/init.json").exists()
    finally:
        if init.poll() is None:
            init.send_signal(signal.SIGTERM)    # it stops its units: a SIGKILL would orphan them
            try:
                init.wait(30)
            except subprocess.TimeoutExpired:
                init.kill()
                init.wait()
