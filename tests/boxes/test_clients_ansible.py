"""Real clients, unmodified: Ansible (ansible-core, see clients.ANSIBLE_CORE) run
inside each box with the local connection, against the shim.

Every verb is checked on the machine itself (the daemon's pidfile and process,
rc links or OpenRC runlevels, the mask link), not only by Ansible's ok/changed.
The canary (/run/systemd/system, `systemctl-shim install --look-like-systemd`)
decides which module `service:` and `service_facts` use; both states are run.
"""
import pytest

from . import clients, helpers
from .clients import alive_pidfile, ansible
from .helpers import CRON_PIDFILE, alive, systemctl, wait_until

pytestmark = pytest.mark.box


@pytest.fixture
def amachine(request, host):
    """The box of `host` booted with ansible-core installed (an extra layer)."""
    if host.backend.get_connection_type() != "nsbox":
        pytest.skip("Ansible is installed into namespace boxes only")
    session = request.getfixturevalue("box_session")
    flavour = host.backend.name
    machine = clients.ClientMachine(session, flavour,
                                    extra_layers=[clients.ansible_layer(session, flavour)])
    yield machine
    machine.close()


def canary(host, on):
    if on:
        result = host.run("systemctl-shim install --look-like-systemd")
        assert result.rc == 0, result.stderr
        assert host.file("/run/systemd/system").is_directory
        assert host.file("/usr/bin/systemctl").exists
    else:
        assert not host.file("/run/systemd/system").exists


def cron_running(host):
    return wait_until(lambda: alive_pidfile(host, CRON_PIDFILE), 10)


def ok(rc, res, raw):
    assert rc == 0 and not res.get("failed"), f"rc {rc}: {res.get('msg')}\n{raw.stdout[-3000:]}\n{raw.stderr[-2000:]}"
    return res


def test_systemd_module_lifecycle(host, amachine):
    """state=stopped|started|restarted|reloaded, each twice where idempotent."""
    name = helpers.cron_name(amachine.flavour)
    first = cron_running(host)
    assert first, "cron is not running after boot"

    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=stopped"))
    assert res["changed"] is True
    assert res["status"]["ActiveState"] == "active"    # the state before the change
    assert wait_until(lambda: not alive(host, first), 5), "cron still runs after state=stopped"
    assert host.run(helpers.init_script(amachine.flavour, name, "status")).rc == 3
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=stopped"))
    assert res["changed"] is False, "stopping a stopped cron changed something"

    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=started"))
    assert res["changed"] is True
    second = cron_running(host)
    assert second and second != first
    assert host.run(helpers.init_script(amachine.flavour, name, "status")).rc == 0
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=started"))
    assert res["changed"] is False, "starting a running cron changed something"
    assert helpers.cron_pid(host) == second

    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=restarted"))
    assert res["changed"] is True
    third = wait_until(lambda: (lambda p: p if p not in (None, second) else None)(
        helpers.cron_pid(host)), 5)
    assert third, "state=restarted did not replace the cron process"
    assert not alive(host, second)

    # Reload: Debian's cron script accepts it (a no-op: "cron reloads automatically");
    # BusyBox crond's OpenRC script has no reload, so systemctl says so (rc 1, stderr).
    rc, res, raw = ansible(host, "ansible.builtin.systemd", f"name={name} state=reloaded")
    if amachine.flavour == "alpine":
        assert rc != 0 and res.get("failed"), raw.stdout
        assert "reload" in res.get("msg", ""), res
    else:
        ok(rc, res, raw)
        assert res["changed"] is True
    assert helpers.cron_pid(host) == third and alive(host, third), "reload replaced/killed cron"

    # Stopped again, then restarted: a restart of a stopped unit starts it.
    ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=stopped"))
    assert wait_until(lambda: not alive(host, third), 5)
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=restarted"))
    assert res["changed"] is True and cron_running(host)


def test_systemd_module_enabled(host, amachine):
    name = helpers.cron_name(amachine.flavour)
    assert clients.enabled_natively(host, amachine.flavour, name)
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} enabled=no"))
    assert res["changed"] is True and res["enabled"] is False
    assert not clients.enabled_natively(host, amachine.flavour, name)
    if amachine.flavour == "sysv":
        # update-rc.d disable: S links become K links, nothing is removed.
        links = clients.rc_links(host, name)
        assert links and all("/K" in link for link in links), links
    assert systemctl(host, "is-enabled", name).stdout == "disabled\n"
    assert cron_running(host), "enabled=no stopped cron"
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} enabled=no"))
    assert res["changed"] is False

    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} enabled=yes"))
    assert res["changed"] is True and res["enabled"] is True
    assert clients.enabled_natively(host, amachine.flavour, name)
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} enabled=yes"))
    assert res["changed"] is False

    # Both at once, and the truth after a reboot (init itself honours it).
    ok(*ansible(host, "ansible.builtin.systemd", f"name={name} enabled=no state=stopped"))
    amachine.reboot()
    assert helpers.cron_pid(host) is None, "init started cron that Ansible disabled"
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} enabled=yes state=started"))
    assert res["changed"] is True and cron_running(host)
    amachine.reboot()
    assert cron_running(host), "init did not start cron that Ansible enabled"


def test_systemd_module_masked(host, amachine):
    name = helpers.cron_name(amachine.flavour)
    mask_link = f"/etc/systemd/system/{name}.service"
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} masked=yes state=stopped"))
    assert res["changed"] is True
    assert host.file(mask_link).linked_to == "/dev/null"
    assert wait_until(lambda: helpers.cron_pid(host) is None, 5)
    assert systemctl(host, "is-enabled", name).stdout == "masked\n"
    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} masked=yes"))
    assert res["changed"] is False

    # A masked unit refuses to start, and Ansible reports the shim's reason.
    rc, res, raw = ansible(host, "ansible.builtin.systemd", f"name={name} state=started")
    assert rc != 0 and res.get("failed"), raw.stdout
    assert "masked" in res.get("msg", ""), res
    assert helpers.cron_pid(host) is None

    res = ok(*ansible(host, "ansible.builtin.systemd", f"name={name} masked=no state=started"))
    assert res["changed"] is True
    assert not host.file(mask_link).exists
    assert cron_running(host)
    assert systemctl(host, "is-enabled", name).stdout == "enabled\n"


def test_systemd_module_daemon_reload(host, amachine):
    name = helpers.cron_name(amachine.flavour)
    # daemon-reload alone is not a change for the module; only its rc counts.
    ok(*ansible(host, "ansible.builtin.systemd", "daemon_reload=yes"))
    res = ok(*ansible(host, "ansible.builtin.systemd",
                      f"name={name} daemon_reload=yes state=restarted"))
    assert res["changed"] is True and cron_running(host)


def test_systemd_module_unknown_unit(host, amachine):
    rc, res, raw = ansible(host, "ansible.builtin.systemd", "name=no-such-thing state=started")
    assert rc != 0 and res.get("failed")
    assert "Could not find the requested service no-such-thing" in res.get("msg", ""), res


@pytest.mark.parametrize("look_like_systemd", [False, True], ids=["plain", "canary"])
def test_service_mgr_fact_and_service_facts(host, amachine, look_like_systemd):
    canary(host, look_like_systemd)
    name = helpers.cron_name(amachine.flavour)
    res = ok(*ansible(host, "ansible.builtin.setup", "filter=ansible_service_mgr"))
    expected = "systemd" if look_like_systemd else \
        {"sysv": "sysvinit", "openrc": "openrc", "alpine": "openrc"}[amachine.flavour]
    assert res["ansible_facts"]["ansible_service_mgr"] == expected

    ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=stopped"))
    res = ok(*ansible(host, "ansible.builtin.service_facts"))
    services = res["ansible_facts"]["services"]
    if look_like_systemd:
        # SystemctlScanService: list-units + list-unit-files from the shim.
        entry = services[f"{name}.service"]
        assert entry["source"] == "systemd"
        assert (entry["state"], entry["status"]) == ("stopped", "enabled"), entry
        ssh = services.get("ssh.service")
        if amachine.flavour != "alpine":
            assert ssh and ssh["state"] == "running", ssh
    else:
        entry = services[name]
        assert entry["source"] in ("sysv", "openrc")
        assert entry["state"] == "stopped", entry

    ok(*ansible(host, "ansible.builtin.systemd", f"name={name} state=started"))
    res = ok(*ansible(host, "ansible.builtin.service_facts"))
    services = res["ansible_facts"]["services"]
    key = f"{name}.service" if look_like_systemd else name
    # Ansible's OpenRC scanner reports rc-status's word ("started") as the state.
    running = "started" if services[key]["source"] == "openrc" else "running"
    assert services[key]["state"] == running, services[key]


@pytest.mark.parametrize("look_like_systemd", [False, True], ids=["plain", "canary"])
@pytest.mark.parametrize("use", ["auto", "service"])
def test_service_module(host, amachine, look_like_systemd, use):
    """`service:` with use=auto (the service_mgr fact picks the module) and
    use=service (the generic module: with the canary it runs `systemctl stop` then
    `systemctl start`, daemonized, with only LANG/LC_* in its environment)."""
    if amachine.flavour == "openrc" and not look_like_systemd:
        pytest.skip("no systemctl on this path: Ansible's own OpenRC code reads `rc-service cron "
                    "status` output, which Debian's LSB cron script words differently ('cron is "
                    "running', not 'started'), so state=stopped is a no-op (an Ansible limitation)")
    canary(host, look_like_systemd)
    name = helpers.cron_name(amachine.flavour)
    first = cron_running(host)
    assert first
    res = ok(*ansible(host, "ansible.builtin.service", f"name={name} state=restarted use={use}"))
    assert res["changed"] is True
    second = wait_until(lambda: (lambda p: p if p not in (None, first) else None)(
        helpers.cron_pid(host)), 10)
    assert second, "service state=restarted did not replace cron"
    assert not alive(host, first)

    res = ok(*ansible(host, "ansible.builtin.service", f"name={name} state=stopped use={use}"))
    assert res["changed"] is True
    assert wait_until(lambda: helpers.cron_pid(host) is None, 5)
    res = ok(*ansible(host, "ansible.builtin.service", f"name={name} state=stopped use={use}"))
    assert res["changed"] is False

    res = ok(*ansible(host, "ansible.builtin.service", f"name={name} enabled=no use={use}"))
    assert res["changed"] is True
    assert not clients.enabled_natively(host, amachine.flavour, name)
    res = ok(*ansible(host, "ansible.builtin.service",
                      f"name={name} enabled=yes state=started use={use}"))
    assert res["changed"] is True
    if amachine.flavour == "sysv" and use == "auto" and not look_like_systemd:
        # service_mgr=sysvinit: Ansible's own sysvinit module enables with
        # `update-rc.d cron defaults`, which leaves the K links that `disable`
        # made (an Ansible limitation; the shim is not involved on this path).
        assert not clients.enabled_natively(host, amachine.flavour, name)
        assert host.run("update-rc.d %s enable", name).rc == 0
    assert clients.enabled_natively(host, amachine.flavour, name)
    assert cron_running(host)
    if look_like_systemd:
        # The shim saw the starts: it knows the unit's processes.
        assert systemctl(host, "is-active", name).stdout == "active\n"
