"""Smoke tests of the boxes themselves (no shim behaviour): real init as PID 1,
real cron under it, the daemon's own init tooling, the project installed with pip,
isolation, reboot, and a clean teardown."""
import pytest

from . import helpers

pytestmark = pytest.mark.box


def test_real_init_is_pid1(host, machine):
    comm = host.file("/proc/1/comm").content_string.strip()
    assert comm == "init"
    exe = host.run("readlink /proc/1/exe").stdout.strip()
    expected = "busybox" if machine.flavour == "alpine" else "init"   # sysvinit's /sbin/init
    assert exe.rsplit("/", 1)[1] == expected and exe.endswith(("/sbin/init", "/bin/busybox"))


def test_cron_runs_under_init(host, machine):
    pid = helpers.wait_until(lambda: helpers.cron_pid(host))
    assert pid, "cron is not running after boot"
    stat = host.file(f"/proc/{pid}/stat").content_string
    assert int(stat.rsplit(")", 1)[1].split()[1]) == 1, "cron's parent is not init"


def test_cron_init_tooling_round_trip(host, machine):
    name = helpers.cron_name(machine.flavour)
    assert host.run(helpers.init_script(machine.flavour, name, "status")).rc == 0
    assert host.run(helpers.init_script(machine.flavour, name, "stop")).rc == 0
    assert helpers.wait_until(lambda: helpers.cron_pid(host) is None)
    assert host.run(helpers.init_script(machine.flavour, name, "status")).rc == 3
    assert host.run(helpers.init_script(machine.flavour, name, "start")).rc == 0
    assert helpers.wait_until(lambda: helpers.cron_pid(host))
    assert host.run(helpers.init_script(machine.flavour, name, "status")).rc == 0


def test_shim_is_installed_with_pip(host, machine):
    assert host.run("command -v systemctl").stdout.strip() == "/usr/local/bin/systemctl"
    version = host.run("systemctl --version")
    assert version.rc == 0, version.stderr
    assert version.stdout.startswith("systemd ")
    show = host.run("python3 -m pip show systemctl-shim")
    assert show.rc == 0 and "Name: systemctl-shim" in show.stdout
    # Installed, not imported from a checkout.
    where = host.run("cd / && python3 -c 'import shim; print(shim.__file__)'").stdout
    assert "-packages/shim/" in where


def test_python_has_psutil(host, machine):
    result = host.run("python3 -c 'import psutil; print(psutil.Process(1).name())'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "init"


def test_box_is_isolated(host, machine):
    if host.backend.get_connection_type() != "nsbox":
        pytest.skip("isolation is a property of namespace boxes")
    # Own network namespace with loopback only.
    links = [line.split(":")[0].strip() for line in
             host.file("/proc/net/dev").content_string.splitlines()[2:]]
    assert links == ["lo"]
    # Own cgroup namespace: we are at its root.
    assert "0::/" in host.file("/proc/self/cgroup").content_string.splitlines()
    # Kernel-global knobs are read-only.
    assert host.run("echo 1 > /proc/sys/kernel/printk_ratelimit").rc != 0


def test_sshd_accepts_root_key_login(host, machine):
    if machine.flavour == "alpine":
        pytest.skip("the Alpine image has no sshd")
    result = host.run("ssh -o BatchMode=yes -o ConnectTimeout=5 root@127.0.0.1 echo via-ssh")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "via-ssh"


def test_reboot_keeps_disk_and_restarts_services(host, machine):
    host.run("echo kept > /root/reboot-marker")
    before = helpers.cron_pid(host)
    boot_id = host.file("/proc/1/stat").content_string.split()[21]   # init's start time
    machine.reboot()
    assert host.file("/root/reboot-marker").content_string.strip() == "kept"
    assert host.file("/proc/1/stat").content_string.split()[21] != boot_id or \
        host.backend.get_connection_type() != "nsbox"
    after = helpers.wait_until(lambda: helpers.cron_pid(host))
    assert after and before


def test_teardown_leaves_nothing(host, machine):
    """Stopping a box removes its processes, mounts and cgroup directory."""
    if host.backend.get_connection_type() != "nsbox":
        pytest.skip("namespace boxes only")
    from . import cgroups, leftovers
    box = machine.box
    cgroup = cgroups.base_dir() / box.name
    init_pid = box.init_pid
    assert init_pid and cgroup.is_dir()
    box.stop(graceful=True)
    assert not box.running
    assert not cgroup.exists()
    assert not [p for p in leftovers.processes() if str(box.state_dir) in p]
    assert not [m for m in leftovers.mounts() if str(box.state_dir) in m]
