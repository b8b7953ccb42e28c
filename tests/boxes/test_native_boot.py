"""Native units at boot: `systemctl-shim install` adds one boot hook (/etc/init.d/systemctl-shim-units:
an LSB script enabled by update-rc.d on sysvinit, an openrc-run service in the default runlevel on
OpenRC) that starts the enabled native units at boot and stops them at shutdown, across real
reboots of each flavour (the box's disk survives; /run does not).
"""
import pytest

from . import clients, helpers
from .helpers import alive, systemctl, wait_until
from .nativeunits import DEMO_STOPPED, DEMO_UNIT, HOOK, shim_install, unit_processes, write_unit

pytestmark = pytest.mark.box


def stops_recorded(host):
    """One line per ExecStop run: "stopped <$MAINPID>" (the pid is checked in
    test_native_lifecycle.py; here only that ExecStop ran)."""
    result = host.run("cat %s", DEMO_STOPPED)
    lines = result.stdout.splitlines() if result.rc == 0 else []
    assert all(line.startswith("stopped") for line in lines), lines
    return len(lines)


def demo_running(host):
    """The pid of the demo's sleep once the unit is active (its processes are found by their
    INVOCATION_ID; MainPID is checked in test_native_lifecycle.py)."""
    def ready():
        if systemctl(host, "is-active", "demo").stdout != "active\n":
            return None
        pids = [pid for pid, args in unit_processes(host, "demo").items()
                if args == "/bin/sleep 100000"]
        return pids[0] if len(pids) == 1 and alive(host, pids[0]) else None
    return wait_until(ready, 15)


def assert_hook_enabled(host, flavour):
    if flavour == "sysv":
        links = clients.rc_links(host, HOOK)
        assert [link[:7] for link in links] == ["rc0.d/K", "rc1.d/K", "rc2.d/S", "rc3.d/S",
                                                "rc4.d/S", "rc5.d/S", "rc6.d/K"], links
        # insserv's makefiles: startpar runs only what they name, after what they say.
        depend = host.run("cat /etc/init.d/.depend.start /etc/init.d/.depend.stop").stdout
        assert f"\n{HOOK}: " in depend and f"\nhalt: {HOOK}" in depend, depend
    else:
        assert clients.runlevels_of(host, HOOK) == ["default"]


def test_install_enables_the_hook_and_uninstall_removes_it(host, machine):
    done = shim_install(host)
    assert f"Installed /etc/init.d/{HOOK}" in done.stdout
    assert_hook_enabled(host, machine.flavour)
    status = host.run("systemctl-shim status")
    assert f"/etc/init.d/{HOOK}: systemctl-shim, enabled" in status.stdout, status.stdout
    if machine.flavour != "sysv":
        # OpenRC stops only started services: install marks the hook started (nothing started).
        assert "started" in host.run("rc-service %s status", HOOK).stdout
    removed = host.run("systemctl-shim uninstall")
    assert removed.rc == 0 and f"Removed /etc/init.d/{HOOK}" in removed.stdout
    assert not host.file(f"/etc/init.d/{HOOK}").exists
    assert clients.rc_links(host, HOOK) == [] and clients.runlevels_of(host, HOOK) == []
    assert HOOK not in host.run("cat /etc/init.d/.depend.start /etc/init.d/.depend.stop").stdout


@pytest.mark.parametrize("how", ["live", "image"])
def test_enabled_native_unit_starts_at_boot_and_stops_at_shutdown(host, machine, how):
    """live: `systemctl-shim install` on the running machine (update-rc.d / rc-update);
    image: `--root=/proc/1/root`, the way an image is prepared (files and links by hand), then
    the box is killed rather than shut down: an image is not running when it is prepared (on
    OpenRC a shutdown would save the dependency tree computed before the hook existed)."""
    if how == "image":
        if not hasattr(machine, "box"):
            pytest.skip("kills the machine instead of a shutdown: namespace boxes only")
        shim_install(host, "--root=/proc/1/root")
    else:
        shim_install(host)
    write_unit(host, "demo.service", DEMO_UNIT)
    enabled = systemctl(host, "enable", "demo")
    assert enabled.rc == 0 and enabled.stderr == (
        "Created symlink /etc/systemd/system/multi-user.target.wants/demo.service → "
        "/etc/systemd/system/demo.service.\n"), enabled.stderr
    assert systemctl(host, "is-active", "demo").stdout == "inactive\n"     # enable is not start

    if how == "image":
        machine.box.stop(graceful=False)
        machine.box.boot()
    else:
        machine.reboot()
    first = demo_running(host)
    assert first, "the hook did not start the enabled native unit at boot:\n" + \
        systemctl(host, "status", "demo").stdout
    assert stops_recorded(host) == 0

    machine.reboot()
    assert stops_recorded(host) == 1, "ExecStop did not run at shutdown"
    assert demo_running(host), "not started again at the second boot"

    assert systemctl(host, "disable", "demo").rc == 0
    machine.reboot()
    assert stops_recorded(host) == 2
    assert systemctl(host, "is-active", "demo").stdout == "inactive\n", "a disabled unit started"


def test_hook_leaves_script_units_to_init(host, machine):
    """cron's own unit file is linked into multi-user.target.wants (deb-systemd-helper does that on
    Debian); with cron disabled in init's terms the hook must not start it behind init's back."""
    name = "crond" if machine.flavour == "alpine" else "cron"
    shim_install(host)
    wants = "/etc/systemd/system/multi-user.target.wants"
    host.run("mkdir -p %s /lib/systemd/system && [ -e /lib/systemd/system/%s.service ] || "
             "printf '[Service]\\nExecStart=/bin/false\\n' > /lib/systemd/system/%s.service; "
             "ln -sf /lib/systemd/system/%s.service %s/%s.service", wants, name, name, name,
             wants, name)
    assert systemctl(host, "disable", "--now", name).rc == 0
    machine.reboot()
    assert systemctl(host, "is-active", name).stdout == "inactive\n"
    assert host.run(helpers.init_script(machine.flavour, name, "status")).rc != 0


def test_look_like_systemd_is_recreated_at_every_boot(host, machine):
    """The canary (/run/systemd/system, on a tmpfs /run) comes back at boot through
    /etc/init.d/systemctl-shim-canary: rcS (insserv's .depend.boot) on sysvinit, OpenRC's
    sysinit runlevel (an openrc-run script: Alpine's OpenRC runs no LSB scripts)."""
    shim_install(host, "--look-like-systemd")
    assert host.file("/run/systemd/system").is_directory
    machine.reboot()
    assert host.file("/run/systemd/system").is_directory, "the canary did not run at boot"
    assert host.run("systemctl-shim uninstall").rc == 0
    machine.reboot()
    assert not host.file("/run/systemd/system").exists
