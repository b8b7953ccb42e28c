"""Acceptance tests of `systemctl kill` on real init systems.

The seed scenario: cron is running with a job it forked (an @reboot job, see
helpers.install_seed_job), cron having been started either by the box's init at
boot or by `systemctl restart`. Killing the unit must take cron and its job, and
nothing else: not a bystander process, not the caller's own shell."""
import pytest

from . import helpers
from .helpers import alive, systemctl, wait_until

pytestmark = pytest.mark.box


@pytest.fixture(params=["started-at-boot", "started-by-systemctl"])
def seeded_cron(request, host, machine):
    helpers.install_seed_job(host, machine.flavour)
    name = helpers.cron_name(machine.flavour)
    if request.param == "started-at-boot":
        machine.reboot()
    else:
        result = systemctl(host, "restart", name)
        assert result.rc == 0, result.stderr
    job = helpers.wait_seed_job(host)
    cron = wait_until(lambda: helpers.cron_pid(host))
    assert cron, "cron is not running"
    return {"cron": cron, "job": job, "name": name}


@pytest.fixture
def cron_at_boot(host, machine):
    """Cron and its job, both started by init at boot (one reboot)."""
    helpers.install_seed_job(host, machine.flavour)
    machine.reboot()
    job = helpers.wait_seed_job(host)
    cron = wait_until(lambda: helpers.cron_pid(host))
    assert cron, "cron is not running after boot"
    return {"cron": cron, "job": job, "name": helpers.cron_name(machine.flavour)}


@pytest.mark.parametrize("spelling", ["name.service", "alias.service"])
def test_kill_takes_cron_and_its_job_only(host, machine, seeded_cron, spelling):
    unit = (seeded_cron["name"] if spelling == "name.service"
            else helpers.cron_alias(machine.flavour)) + ".service"
    bystander = helpers.start_bystander(host)
    # The caller's own shell must survive its own systemctl kill.
    result = host.run("sh -c %s", f"systemctl kill {unit}; echo rc=$?; echo shell-survived")
    assert "shell-survived" in result.stdout, result.stderr
    assert "rc=0" in result.stdout, result.stdout + result.stderr
    assert wait_until(lambda: not alive(host, seeded_cron["cron"]), 5), "cron survived"
    assert wait_until(lambda: not alive(host, seeded_cron["job"]), 5), "cron's job survived"
    assert alive(host, bystander), "a process outside the unit was killed"
    assert alive(host, 1)


@pytest.mark.parametrize("option", ["--kill-whom=main", "--kill-who=main"])
def test_kill_hup_main_only(host, machine, cron_at_boot, option):
    result = systemctl(host, "kill", "-s", "HUP", option, cron_at_boot["name"])
    assert result.rc == 0, result.stderr
    assert result.stdout == ""
    # The job, a child of cron, got nothing.
    assert alive(host, cron_at_boot["job"])
    if machine.flavour == "alpine":
        # BusyBox crond has no SIGHUP handler: the default action ends it. Proof
        # that the signal reached the main process (and only it).
        assert wait_until(lambda: not alive(host, cron_at_boot["cron"]), 5)
    else:
        # Debian's cron handles SIGHUP and keeps running, same pid.
        assert alive(host, cron_at_boot["cron"])
        assert helpers.cron_pid(host) == cron_at_boot["cron"]


def test_kill_stop_cont_main_only(host, machine, cron_at_boot):
    """A signal with a visible, reversible effect shows who received it."""
    name, cron, job = cron_at_boot["name"], cron_at_boot["cron"], cron_at_boot["job"]
    assert systemctl(host, "kill", "--signal=STOP", "--kill-whom=main", name).rc == 0
    assert wait_until(lambda: helpers.proc_state(host, cron) == "T", 5)
    assert helpers.proc_state(host, job) != "T"
    assert systemctl(host, "kill", "-s", "CONT", "--kill-whom=main", name).rc == 0
    assert wait_until(lambda: helpers.proc_state(host, cron) not in ("T", None), 5)


@pytest.mark.parametrize("signal", ["SIGKILL", "KILL", "9"])
def test_kill_sigkill_spellings(host, machine, cron_at_boot, signal):
    bystander = helpers.start_bystander(host)
    result = systemctl(host, "kill", "-s", signal, cron_at_boot["name"])
    assert result.rc == 0, result.stderr
    assert wait_until(lambda: not alive(host, cron_at_boot["cron"]), 5)
    assert wait_until(lambda: not alive(host, cron_at_boot["job"]), 5)
    assert alive(host, bystander)


def test_kill_whom_main_sigkill_leaves_job(host, machine, cron_at_boot):
    result = systemctl(host, "kill", "-s", "KILL", "--kill-whom=main", cron_at_boot["name"])
    assert result.rc == 0, result.stderr
    assert wait_until(lambda: not alive(host, cron_at_boot["cron"]), 5)
    assert alive(host, cron_at_boot["job"])
