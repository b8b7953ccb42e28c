"""Real packages that ship only a unit file, driven through the shim: Debian 12's nftables
(Type=oneshot, RemainAfterExit=yes, ExecStop flushes the ruleset) and rsyslog (Type=notify,
Requires=syslog.socket, which is ignored: nothing provides sockets here), installed from the
host's package cache with dpkg at test time (see nativeunits.py); on Alpine, which has no Debian
packages, BusyBox syslogd under a unit file of our own. Checked on the machine itself: the
ruleset the kernel holds, lines arriving in the log file, the daemon's process, and across a
reboot (started by the boot hook).
"""
import pytest

from . import helpers
from .helpers import alive, systemctl, wait_until
from .nativeunits import cmdline, install_debs, main_pid, shim_install, show, write_unit

pytestmark = pytest.mark.box

NFT_CONF = "/etc/nftables.conf"


@pytest.fixture
def debian(request, host, machine):
    """The machine with nftables and rsyslog installed (and the shim's launchers and hook)."""
    if machine.flavour == "alpine":
        pytest.skip("Debian packages: the Alpine box has its own test below")
    if not hasattr(machine, "box"):
        pytest.skip("copies the cached packages into a namespace box")
    install_debs(host, machine, request.getfixturevalue("box_session"))
    shim_install(host)
    return machine


def ruleset(host):
    result = host.run("nft list ruleset")
    assert result.rc == 0, result.stderr
    return result.stdout


def test_nftables_oneshot(host, debian):
    assert systemctl(host, "is-enabled", "nftables").stdout == "disabled\n"
    enabled = systemctl(host, "enable", "nftables")
    assert (enabled.rc, enabled.stdout, enabled.stderr) == (0, "", (
        "Created symlink /etc/systemd/system/sysinit.target.wants/nftables.service → "
        "/lib/systemd/system/nftables.service.\n"))
    assert ruleset(host) == ""

    started = systemctl(host, "start", "nftables")
    assert (started.rc, started.stdout, started.stderr) == (0, "", "")
    assert "table inet filter {" in ruleset(host)
    assert show(host, "nftables", "Type", "RemainAfterExit", "ActiveState", "SubState",
                "Result") == {"Type": "oneshot", "RemainAfterExit": "yes", "ActiveState": "active",
                              "SubState": "exited", "Result": "success"}
    status = systemctl(host, "status", "nftables")
    assert status.rc == 0
    assert "● nftables.service - nftables\n" in status.stdout
    assert "Active: active (exited) since " in status.stdout
    assert " ExecStart=/usr/sbin/nft -f /etc/nftables.conf (code=exited, status=0/SUCCESS)\n" \
        in status.stdout, status.stdout

    # reload = ExecReload: the file again (a table added to it appears).
    host.run("printf '\\ntable inet shimtest {\\n}\\n' >> %s", NFT_CONF)
    assert systemctl(host, "reload", "nftables").rc == 0
    assert "table inet shimtest" in ruleset(host)

    stopped = systemctl(host, "stop", "nftables")
    assert (stopped.rc, stopped.stderr) == (0, "")
    assert ruleset(host) == "", "ExecStop (nft flush ruleset) did not run"
    assert systemctl(host, "is-active", "nftables").rc == 3
    status = systemctl(host, "status", "nftables")
    assert status.rc == 3 and "Active: inactive (dead)" in status.stdout

    assert systemctl(host, "restart", "nftables").rc == 0
    assert "table inet shimtest" in ruleset(host)

    # A new boot is a new network namespace, with an empty ruleset: the hook loads it again
    # (nftables is wanted by sysinit.target).
    debian.reboot()
    assert wait_until(lambda: "table inet filter" in ruleset(host), 10), \
        systemctl(host, "status", "nftables").stdout
    assert systemctl(host, "is-active", "nftables").stdout == "active\n"


def test_nftables_status_block_as_systemd(host, debian):
    """systemd 252 prints the unit's Documentation= as Docs: lines, and for a oneshot the
    ExecStart that ran is also the Main PID (unit-files.md 14.1)."""
    assert systemctl(host, "start", "nftables").rc == 0
    out = systemctl(host, "status", "nftables").stdout
    assert "\n       Docs: man:nft(8)\n             http://wiki.nftables.org\n" in out, out
    process = [line for line in out.splitlines() if " ExecStart=/usr/sbin/nft " in line]
    pid = process[0].split("Process: ")[1].split()[0] if process else "?"
    assert f"\n   Main PID: {pid} (code=exited, status=0/SUCCESS)\n" in out, out


def rsyslogd_pid(host):
    def valid():
        pid = main_pid(host, "rsyslog")
        return pid if alive(host, pid) and cmdline(host, pid) == "/usr/sbin/rsyslogd -n -iNONE" \
            else None
    return wait_until(valid, 10)


def logged(host, text, path="/var/log/syslog"):
    host.run("logger -t shimtest %s", text)
    return wait_until(lambda: text in host.run("cat %s", path).stdout, 10)


def test_rsyslog_notify(host, debian):
    # The postinst enabled it (deb-systemd-helper made the links); policy-rc.d kept it stopped.
    assert systemctl(host, "is-enabled", "rsyslog").stdout == "enabled\n"
    assert systemctl(host, "is-active", "rsyslog").stdout == "inactive\n"

    started = systemctl(host, "start", "rsyslog")
    assert (started.rc, started.stdout, started.stderr) == (0, "", "")
    assert show(host, "rsyslog", "Type", "NotifyAccess", "ActiveState", "SubState") == {
        "Type": "notify", "NotifyAccess": "main", "ActiveState": "active", "SubState": "running"}
    first = rsyslogd_pid(host)
    assert first, systemctl(host, "status", "rsyslog").stdout
    assert logged(host, "first-message"), "rsyslog does not write /var/log/syslog"
    status = systemctl(host, "status", "syslog")             # the Alias= name
    assert status.rc == 0 and status.stdout.startswith(
        "● rsyslog.service - System Logging Service\n"), status.stdout
    assert f"   Main PID: {first} (rsyslogd)\n" in status.stdout

    assert systemctl(host, "restart", "rsyslog").rc == 0
    second = wait_until(lambda: (lambda p: p if p and p != first else None)(rsyslogd_pid(host)))
    assert second and not alive(host, first)
    assert logged(host, "after-restart")

    stopped = systemctl(host, "stop", "rsyslog")
    assert (stopped.rc, stopped.stderr) == (0, "")
    assert wait_until(lambda: not alive(host, second), 5), "rsyslogd survived the stop"
    assert systemctl(host, "is-active", "rsyslog").rc == 3

    debian.reboot()
    assert rsyslogd_pid(host), "the boot hook did not start rsyslog"
    assert logged(host, "after-reboot")


def test_rsyslog_alias_is_enabled_says_alias(host, debian):
    """unit-files.md section 2: `is-enabled` of an alias name answers `alias`, rc 0."""
    result = systemctl(host, "is-enabled", "syslog.service")
    assert (result.rc, result.stdout) == (0, "alias\n")


BB_SYSLOGD = """[Unit]
Description=BusyBox system logger (unit file)

[Service]
ExecStart=/sbin/syslogd -n -O /var/log/native-messages

[Install]
WantedBy=multi-user.target
"""


def test_alpine_busybox_syslogd_as_a_native_unit(host, machine):
    """Alpine packages ship OpenRC scripts only: a unit file of the admin's own replaces the
    OpenRC syslog service, for a real daemon of the image."""
    if machine.flavour != "alpine":
        pytest.skip("Alpine only (Debian boxes run Debian's packages above)")
    shim_install(host)
    assert host.run("rc-service syslog stop && rc-update del syslog boot").rc == 0
    write_unit(host, "bb-syslogd.service", BB_SYSLOGD)
    assert systemctl(host, "enable", "--now", "bb-syslogd").rc == 0

    def syslogd():
        pid = main_pid(host, "bb-syslogd")
        return pid if alive(host, pid) and cmdline(host, pid).startswith("/sbin/syslogd -n") \
            else None
    first = wait_until(syslogd, 10)
    assert first, systemctl(host, "status", "bb-syslogd").stdout
    assert logged(host, "alpine-first", "/var/log/native-messages")
    assert systemctl(host, "restart", "bb-syslogd").rc == 0
    assert wait_until(lambda: not alive(host, first), 5)
    assert wait_until(syslogd, 10) and logged(host, "alpine-restarted", "/var/log/native-messages")
    assert systemctl(host, "stop", "bb-syslogd").rc == 0
    assert systemctl(host, "is-active", "bb-syslogd").rc == 3
    assert host.run(helpers.init_script("alpine", "syslog", "status")).rc != 0

    machine.reboot()
    assert wait_until(syslogd, 10), "the boot hook did not start bb-syslogd"
    assert logged(host, "alpine-after-reboot", "/var/log/native-messages")
