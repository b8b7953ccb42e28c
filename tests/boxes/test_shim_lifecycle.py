"""Acceptance tests: start/stop/restart/status/is-active and
enable/disable/is-enabled against the real init system, including a reboot that
shows whether init itself honours what the shim enabled or disabled."""
import re

import pytest

from . import helpers
from .helpers import alive, systemctl, wait_until

pytestmark = pytest.mark.box


def enabled_natively(host, flavour, name):
    """What the init system itself will start at boot."""
    if flavour == "sysv":
        return host.run("ls /etc/rc2.d/ | grep -q '^S[0-9][0-9]%s$'", name).rc == 0
    return host.run("ls /etc/runlevels/*/%s", name).rc == 0


def test_stop_start_restart_status(host, machine):
    name = helpers.cron_name(machine.flavour)
    first = wait_until(lambda: helpers.cron_pid(host))
    assert first

    active = systemctl(host, "is-active", name)
    assert (active.rc, active.stdout) == (0, "active\n")
    status = systemctl(host, "status", name)
    assert status.rc == 0, status.stderr
    assert re.search(r"^\s+Active: active \(running\)", status.stdout, re.M), status.stdout

    stop = systemctl(host, "stop", name)
    assert stop.rc == 0, stop.stderr
    assert wait_until(lambda: not alive(host, first), 5)
    assert host.run(helpers.init_script(machine.flavour, name, "status")).rc == 3
    inactive = systemctl(host, "is-active", name)
    assert (inactive.rc, inactive.stdout) == (3, "inactive\n")
    status = systemctl(host, "status", name)
    assert status.rc == 3
    assert re.search(r"^\s+Active: inactive \(dead\)", status.stdout, re.M), status.stdout

    start = systemctl(host, "start", name)
    assert start.rc == 0, start.stderr
    second = wait_until(lambda: helpers.cron_pid(host))
    assert second
    assert systemctl(host, "is-active", name + ".service").stdout == "active\n"

    restart = systemctl(host, "restart", helpers.cron_alias(machine.flavour))
    assert restart.rc == 0, restart.stderr
    third = wait_until(lambda: (lambda p: p if p not in (None, second) else None)(
        helpers.cron_pid(host)), 5)
    assert third, "restart did not replace the cron process"
    assert not alive(host, second)
    assert systemctl(host, "is-active", name).rc == 0


def test_enable_disable_round_trip(host, machine):
    name = helpers.cron_name(machine.flavour)
    enabled = systemctl(host, "is-enabled", name)
    assert (enabled.rc, enabled.stdout) == (0, "enabled\n")

    assert systemctl(host, "disable", name).rc == 0
    disabled = systemctl(host, "is-enabled", name)
    assert (disabled.rc, disabled.stdout) == (1, "disabled\n")
    assert not enabled_natively(host, machine.flavour, name)
    # Disabling does not stop a running service.
    assert helpers.cron_pid(host)

    assert systemctl(host, "enable", name).rc == 0
    enabled = systemctl(host, "is-enabled", name)
    assert (enabled.rc, enabled.stdout) == (0, "enabled\n")
    assert enabled_natively(host, machine.flavour, name)


def test_enable_disable_survive_reboot(host, machine):
    name = helpers.cron_name(machine.flavour)
    assert systemctl(host, "disable", name).rc == 0
    machine.reboot()
    assert helpers.cron_pid(host) is None, "init started a disabled cron at boot"
    assert host.run(helpers.init_script(machine.flavour, name, "status")).rc == 3
    assert systemctl(host, "is-enabled", name).stdout == "disabled\n"
    assert systemctl(host, "is-active", name).rc == 3

    assert systemctl(host, "enable", name).rc == 0
    machine.reboot()
    assert wait_until(lambda: helpers.cron_pid(host)), "init did not start enabled cron"
    assert systemctl(host, "is-enabled", name).stdout == "enabled\n"
    assert systemctl(host, "is-active", name).stdout == "active\n"
