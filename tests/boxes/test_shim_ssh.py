"""Acceptance test: `systemctl kill ssh` takes the sshd listener but leaves a
logged-in session (with a terminal) alive, as systemd's KillMode does not apply to
logins that have left the service (see docs/ARCHITECTURE.md, membership rule)."""
import pytest

from . import helpers
from .helpers import alive, systemctl, wait_until

pytestmark = pytest.mark.box

SHELL_PIDFILE = "/run/shim-ssh-session.pid"


def parent(host, pid):
    return int(host.file(f"/proc/{pid}/stat").content_string.rsplit(")", 1)[1].split()[1])


def tty_nr(host, pid):
    return int(host.file(f"/proc/{pid}/stat").content_string.rsplit(")", 1)[1].split()[4])


@pytest.fixture
def ssh_session(host, machine):
    if machine.flavour == "alpine":
        pytest.skip("the Alpine image has no sshd")
    listener = wait_until(lambda: (lambda p: p if alive(host, p) else None)(
        helpers.read_pid(host, helpers.SSHD_PIDFILE)))
    assert listener, "sshd is not running"
    # A login with a terminal (-tt) whose command stays; stdin is a pipe that stays
    # open, so the session is not ended by EOF.
    remote = f"echo \\$\\$ > {SHELL_PIDFILE}; exec sleep 1000"
    host.run("rm -f %s", SHELL_PIDFILE)
    host.run("setsid sh -c %s </dev/null >/dev/null 2>&1 &",
             f'sleep 1000 | ssh -tt -o BatchMode=yes root@127.0.0.1 "{remote}"')
    shell = wait_until(lambda: (lambda p: p if alive(host, p) else None)(
        helpers.read_pid(host, SHELL_PIDFILE)), 15)
    assert shell, "ssh login did not come up"
    assert tty_nr(host, shell) != 0, "the session has no terminal"
    session_sshd = parent(host, shell)       # sshd: root@pts/N
    return {"listener": listener, "shell": shell, "session_sshd": session_sshd}


@pytest.mark.parametrize("unit", ["ssh", "sshd.service"])
def test_kill_ssh_keeps_logged_in_session(host, machine, ssh_session, unit):
    result = systemctl(host, "kill", unit)
    assert result.rc == 0, result.stderr
    assert wait_until(lambda: not alive(host, ssh_session["listener"]), 5), "listener survived"
    assert alive(host, ssh_session["shell"]), "the logged-in session was killed"
    assert alive(host, ssh_session["session_sshd"]), "the session's sshd was killed"
