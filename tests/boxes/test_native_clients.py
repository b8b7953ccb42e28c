"""Real clients on a native unit (a unit file, no init script): Ansible's systemd module run in
the box (as test_clients_ansible.py does for script units) and pytest-testinfra's host.service()
from the host (as test_clients_testinfra.py does), checked against the machine: the unit's
processes (found by INVOCATION_ID), the [Install] symlinks, and a reboot through the boot hook.
"""
import pytest
import testinfra.host

from . import clients
from .helpers import alive, systemctl, wait_until
from .nativeunits import DEMO_UNIT, shim_install, show, unit_processes, write_unit
from .test_clients_ansible import ok
from .test_clients_testinfra import set_canary

pytestmark = pytest.mark.box

WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/demo.service"


@pytest.fixture
def amachine(request, host):
    """The box of `host` with ansible-core, the shim's launchers and boot hook, and demo.service."""
    if host.backend.get_connection_type() != "nsbox":
        pytest.skip("Ansible is installed into namespace boxes only")
    session = request.getfixturevalue("box_session")
    flavour = host.backend.name
    machine = clients.ClientMachine(session, flavour,
                                    extra_layers=[clients.ansible_layer(session, flavour)])
    shim_install(host)
    yield machine
    machine.close()


def demo_sleeps(host):
    return [pid for pid, args in unit_processes(host, "demo").items()
            if args == "/bin/sleep 100000" and alive(host, pid)]


def running(host):
    return wait_until(lambda: (lambda pids: pids[0] if len(pids) == 1 else None)(demo_sleeps(host)),
                      10)


def systemd_module(host, args):
    return ok(*clients.ansible(host, "ansible.builtin.systemd", args))


def test_ansible_systemd_module_on_a_native_unit(host, amachine):
    write_unit(host, "demo.service", DEMO_UNIT)
    res = systemd_module(host, "name=demo state=started enabled=yes daemon_reload=yes")
    assert res["changed"] is True and res["enabled"] is True and res["state"] == "started"
    assert res["status"]["LoadState"] == "loaded" and res["status"]["Type"] == "simple"
    assert res["status"]["FragmentPath"] == "/etc/systemd/system/demo.service"
    assert host.file(WANTS_LINK).linked_to == "/etc/systemd/system/demo.service"
    first = running(host)
    assert first, systemctl(host, "status", "demo").stdout
    res = systemd_module(host, "name=demo state=started enabled=yes")
    assert res["changed"] is False, "starting a running, enabled unit changed something"

    res = systemd_module(host, "name=demo state=restarted")
    assert res["changed"] is True
    second = wait_until(lambda: (lambda p: p if p and p != first else None)(running(host)), 10)
    assert second and not alive(host, first)

    res = systemd_module(host, "name=demo state=stopped")
    assert res["changed"] is True and res["status"]["ActiveState"] == "active"
    assert wait_until(lambda: not demo_sleeps(host), 5), "demo still runs after state=stopped"
    assert systemd_module(host, "name=demo state=stopped")["changed"] is False

    res = systemd_module(host, "name=demo enabled=no")
    assert res["changed"] is True and res["enabled"] is False
    assert not host.file(WANTS_LINK).exists
    assert systemctl(host, "is-enabled", "demo").stdout == "disabled\n"
    assert systemd_module(host, "name=demo enabled=no")["changed"] is False

    # Enabled by Ansible, started by the boot hook.
    systemd_module(host, "name=demo enabled=yes")
    amachine.reboot()
    assert running(host), "the boot hook did not start the unit Ansible enabled"
    res = systemd_module(host, "name=demo state=started")
    assert res["changed"] is False and res["status"]["SubState"] == "running"


def test_ansible_daemon_reload_sees_a_changed_unit(host, amachine):
    write_unit(host, "demo.service", DEMO_UNIT)
    systemd_module(host, "name=demo state=started daemon_reload=yes")
    assert running(host)
    write_unit(host, "demo.service", DEMO_UNIT.replace("Demo native daemon", "Demo, edited"))
    res = systemd_module(host, "name=demo state=restarted daemon_reload=yes")
    assert res["changed"] is True and res["status"]["Description"] == "Demo, edited"
    assert show(host, "demo", "Description") == {"Description": "Demo, edited"}
    assert running(host)


def test_testinfra_service_on_a_native_unit(host, machine):
    """testinfra's SystemdService (the canary on): is_running / is_enabled / systemd_properties
    on a unit file. Without the canary testinfra asks `service demo status` or rc-service, which
    know only init scripts: a native unit is systemd's, so only that mode applies."""
    shim_install(host)
    set_canary(host, True)
    write_unit(host, "demo.service", DEMO_UNIT)
    h = testinfra.host.Host(host.backend)
    assert type(h.service("demo")).__mro__[1].__name__ == "SystemdService"
    assert h.service("demo").exists is True
    assert h.service("demo").is_running is False and h.service("demo").is_enabled is False

    # What testinfra's process module sees is the MainPID the shim reports.
    assert systemctl(host, "start", "demo").rc == 0
    pid = running(host)
    assert h.service("demo").systemd_properties["MainPID"] == str(pid)

    assert systemctl(host, "enable", "--now", "demo").rc == 0
    pid = running(host)
    assert pid
    assert h.service("demo").is_running is True and h.service("demo").is_enabled is True
    props = h.service("demo").systemd_properties
    assert (props["Id"], props["LoadState"], props["ActiveState"], props["SubState"]) == \
        ("demo.service", "loaded", "active", "running")
    assert props["UnitFileState"] == "enabled" and props["Type"] == "simple"
    assert h.service("demo").is_masked is False

    assert systemctl(host, "disable", "--now", "demo").rc == 0
    assert wait_until(lambda: not demo_sleeps(host), 5)
    assert h.service("demo").is_running is False and h.service("demo").is_enabled is False

    # What testinfra's process module sees is the MainPID the shim reports.
    assert systemctl(host, "start", "demo").rc == 0
    pid = running(host)
    assert h.service("demo").systemd_properties["MainPID"] == str(pid)
