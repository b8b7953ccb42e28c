"""Acceptance tests: services the box's init started at boot (the shim never saw
them start) are adopted: status shows them running with the right main pid, and
kill reaches them."""
import re

import pytest

from . import helpers
from .helpers import alive, systemctl, wait_until

pytestmark = pytest.mark.box


def daemons(flavour):
    found = [(helpers.cron_name(flavour), helpers.CRON_PIDFILE)]
    if flavour != "alpine":
        found.append(("ssh", helpers.SSHD_PIDFILE))
    return found


def test_status_after_boot_shows_running_main_pid(host, machine):
    for name, pidfile in daemons(machine.flavour):
        pid = wait_until(lambda: (lambda p: p if alive(host, p) else None)(
            helpers.read_pid(host, pidfile)))
        assert pid, f"{name} not running after boot"
        status = systemctl(host, "status", name)
        assert status.rc == 0, f"{name}: {status.stdout}{status.stderr}"
        assert re.search(r"^\s+Active: active \(running\)", status.stdout, re.M), status.stdout
        main = re.search(r"^\s+Main PID: (\d+)", status.stdout, re.M)
        assert main and int(main.group(1)) == pid, status.stdout
        show = systemctl(host, "show", "-p", "MainPID", "--value", name)
        assert (show.rc, show.stdout.strip()) == (0, str(pid))


def test_kill_reaches_service_started_at_boot(host, machine):
    name = helpers.cron_name(machine.flavour)
    pid = wait_until(lambda: helpers.cron_pid(host))
    assert pid
    result = systemctl(host, "kill", name)
    assert result.rc == 0, result.stderr
    assert wait_until(lambda: not alive(host, pid), 5)
    assert systemctl(host, "is-active", name).rc == 3
