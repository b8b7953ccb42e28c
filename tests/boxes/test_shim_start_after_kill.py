"""Acceptance tests: starting a service again after `systemctl kill` (the seed's own scenario:
kill, start again, then `kill -s HUP --kill-who=main`).

On OpenRC the kill happens behind OpenRC's back, so OpenRC still marks the service started and
openrc-run's start would answer "already started" and run nothing. The shim must reconcile
that mark first, and a start that leaves nothing running must not be reported as success."""
import pytest

from . import helpers
from .helpers import alive, proc_state, systemctl, wait_until

pytestmark = pytest.mark.box


def _new_cron(host, old):
    pid = helpers.cron_pid(host)
    return pid if pid not in (None, old) else None


@pytest.mark.parametrize("verb", ["start", "restart", "reload-or-restart"])
def test_start_after_clean_kill_runs_a_new_daemon(host, machine, verb):
    name = helpers.cron_name(machine.flavour)
    # The seed scenario: cron started by systemctl, killed by systemctl, started again.
    restart = systemctl(host, "restart", name)
    assert restart.rc == 0, restart.stderr
    first = wait_until(lambda: helpers.cron_pid(host))
    assert first, "cron is not running after systemctl restart"

    kill = systemctl(host, "kill", name)
    assert (kill.rc, kill.stdout) == (0, ""), kill.stderr
    assert wait_until(lambda: not alive(host, first), 5), "cron survived systemctl kill"
    inactive = systemctl(host, "is-active", name)
    assert (inactive.rc, inactive.stdout) == (3, "inactive\n")

    start = systemctl(host, verb, name)
    assert start.rc == 0, start.stdout + start.stderr
    assert "already" not in start.stderr, start.stderr
    second = wait_until(lambda: _new_cron(host, first), 5)
    assert second, "%s reported success but no new cron runs" % verb
    assert alive(host, second)

    active = systemctl(host, "is-active", name)
    assert (active.rc, active.stdout) == (0, "active\n")
    main = systemctl(host, "show", name, "-p", "MainPID", "--value")
    assert main.stdout == "%d\n" % second, main.stdout + main.stderr

    # The main process is really ours again: a visible, reversible signal reaches it ...
    stop = systemctl(host, "kill", "-s", "STOP", "--kill-who=main", name)
    assert stop.rc == 0, stop.stderr
    assert wait_until(lambda: proc_state(host, second) == "T", 5), "SIGSTOP did not reach cron"
    assert systemctl(host, "kill", "-s", "CONT", "--kill-who=main", name).rc == 0
    assert wait_until(lambda: proc_state(host, second) not in ("T", None), 5)

    # ... and so does the seed's HUP.
    hup = systemctl(host, "kill", "-s", "HUP", "--kill-who=main", name)
    assert (hup.rc, hup.stdout, hup.stderr) == (0, "", "")
    if machine.flavour == "alpine":
        # BusyBox crond has no SIGHUP handler: the default action ends it.
        assert wait_until(lambda: not alive(host, second), 5), "SIGHUP did not reach crond"
    else:
        assert alive(host, second)
        assert helpers.cron_pid(host) == second


def test_try_restart_after_clean_kill_leaves_it_stopped(host, machine):
    """systemd: try-restart of an inactive unit does nothing and succeeds."""
    name = helpers.cron_name(machine.flavour)
    assert systemctl(host, "restart", name).rc == 0
    first = wait_until(lambda: helpers.cron_pid(host))
    assert first
    assert systemctl(host, "kill", name).rc == 0
    assert wait_until(lambda: not alive(host, first), 5)
    again = systemctl(host, "try-restart", name)
    assert (again.rc, again.stdout) == (0, "")
    assert helpers.cron_pid(host) is None
    assert systemctl(host, "is-active", name).stdout == "inactive\n"


def test_start_after_kill_of_cron_started_at_boot(host, machine):
    """The same for a cron that init started (adopted from its pidfile, no record of ours)."""
    name = helpers.cron_name(machine.flavour)
    first = wait_until(lambda: helpers.cron_pid(host))
    assert first, "cron is not running after boot"
    assert systemctl(host, "kill", name).rc == 0
    assert wait_until(lambda: not alive(host, first), 5)
    assert systemctl(host, "is-active", name).rc == 3
    start = systemctl(host, "start", name)
    assert start.rc == 0, start.stdout + start.stderr
    second = wait_until(lambda: _new_cron(host, first), 5)
    assert second, "start reported success but no new cron runs"
    main = systemctl(host, "show", name, "-p", "MainPID", "--value")
    assert main.stdout == "%d\n" % second
    hup = systemctl(host, "kill", "-s", "HUP", "--kill-who=main", name)
    assert (hup.rc, hup.stderr) == (0, "")
