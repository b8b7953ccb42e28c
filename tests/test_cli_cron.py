"""The real thing: Debian's /etc/init.d/cron driven without --root.

Safe only inside the suite's private PID namespace with its private /run (tests/run --host): the
cron this test starts is its own, its pidfile lives in the private /run, and nothing of the host
can be signalled. CI installs cron on the host (.ci/run).
"""

import os
import signal

import pytest

from scripts import IN_PIDNS, cli, gone, pid_alive, wait_for

CRON = "/etc/init.d/cron"
PIDFILE = "/run/crond.pid"        # Debian's cron script: /var/run/crond.pid (/var/run -> /run)

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CRON), reason="%s is absent (apt-get install cron)" % CRON),
    pytest.mark.skipif(not IN_PIDNS, reason="drives the machine's own cron: run it through "
                       "tests/run --host (private PID namespace and /run)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def _pid():
    try:
        with open(PIDFILE) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


@pytest.fixture
def cron():
    assert _pid() == 0 or not pid_alive(_pid()), "a cron is already running in this namespace"
    yield
    cli(["stop", "cron"])
    pid = _pid()
    if pid and pid_alive(pid):        # the cron this test started (pidfile in our private /run)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: gone(pid))


def test_real_cron_lifecycle(cron):
    r = cli(["is-active", "cron"])
    assert (r.rc, r.out) == (3, "inactive\n")
    r = cli(["start", "cron"])
    assert (r.rc, r.out, r.err) == (0, "", ""), str(r)
    pid = wait_for(_pid)
    assert pid and pid_alive(pid)
    with open("/proc/%d/comm" % pid) as handle:
        assert handle.read().strip() == "cron"
    r = cli(["is-active", "crond"])               # the alias table: crond -> cron.service
    assert (r.rc, r.out) == (0, "active\n")
    r = cli(["status", "cron"])
    assert r.rc == 0, str(r)
    assert r.lines[0].startswith("● cron.service - LSB: ")
    assert "     Loaded: loaded (/etc/init.d/cron;" in r.out
    assert "     Active: active (running) since " in r.out
    assert "   Main PID: %d (cron)" % pid in r.out
    r = cli(["show", "-p", "MainPID,Id,SourcePath", "crond"])
    assert dict(line.split("=", 1) for line in r.lines) == {
        "Id": "cron.service", "MainPID": str(pid), "SourcePath": "/etc/init.d/cron"}
    r = cli(["start", "cron"])                    # already active: nothing to do
    assert r.rc == 0 and _pid() == pid
    r = cli(["restart", "cron"])
    assert r.rc == 0, str(r)
    new = wait_for(lambda: _pid() != pid and _pid())
    assert new and pid_alive(new) and wait_for(lambda: not pid_alive(pid))
    r = cli(["stop", "cron"])
    assert (r.rc, r.err) == (0, ""), str(r)
    assert wait_for(lambda: not pid_alive(new))
    r = cli(["is-active", "crond"])
    assert (r.rc, r.out) == (3, "inactive\n")
    r = cli(["status", "cron"])
    assert r.rc == 3


def test_real_cron_killed_behind_our_back(cron):
    assert cli(["start", "cron"]).rc == 0
    pid = wait_for(_pid)
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(pid))
    r = cli(["is-active", "cron"])
    assert r.rc == 3 and r.out in ("inactive\n", "failed\n")
    assert cli(["status", "cron"]).rc == 3


@pytest.mark.parametrize("signo, after", [(signal.SIGTERM, "inactive"), (signal.SIGKILL, "failed")])
def test_boot_started_cron_killed_through_the_shim(cron, signo, after):
    """Started by its own script, as init's rc does at boot (we hold no record of it): a clean
    `systemctl kill` leaves it inactive, as for a unit we started; SIGKILL leaves it failed."""
    import subprocess
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMCTL_SKIP_REDIRECT": "1",
           "_SYSTEMCTL_SKIP_REDIRECT": "1"}      # both spellings: not handed to systemctl
    assert subprocess.call([CRON, "start"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0
    pid = wait_for(_pid)
    assert cli(["is-active", "cron"]).out == "active\n"
    r = cli(["kill", "-s", str(int(signo)), "cron"])
    assert (r.rc, r.err) == (0, ""), str(r)
    assert wait_for(lambda: not pid_alive(pid))
    r = cli(["is-active", "cron"])
    assert (r.rc, r.out) == (3, after + "\n"), str(r) + cli(["status", "cron"]).out + str(os.path.exists(PIDFILE))
    assert cli(["is-failed", "cron"]).rc == (0 if after == "failed" else 1)
