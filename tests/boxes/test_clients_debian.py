"""Real clients, unmodified: Debian's service, invoke-rc.d, update-rc.d,
deb-systemd-invoke, deb-systemd-helper and dpkg maintainer scripts, with the shim
installed as /usr/bin/systemctl (`systemctl-shim install`), on the Debian boxes
(sysv; openrc is Debian with OpenRC). Alpine has none of these tools.

Three machine states:
  plain        the launcher in /usr/bin, no /run/systemd/system: the helpers use
               the init scripts (update-rc.d still calls `systemctl enable|disable`
               back, deb-systemd-invoke always uses systemctl);
  canary       `--look-like-systemd`: service/invoke-rc.d/postinsts go through
               systemctl, i.e. the shim, which runs the init script;
  canary+hook  also Debian's LSB hook /lib/lsb/init-functions.d/40-systemd (from
               the systemd package, installed when systemd is installed next to
               sysvinit): every init script run by hand redirects to systemctl, and
               the shim must run the script with SYSTEMCTL_SKIP_REDIRECT=1 or loop.

Every command runs under timeout(1): a loop or a hang is a failure, not a stuck
suite. The outcome is read from the machine (pidfile, process, rc links/runlevels).
"""
import time

import pytest

from . import clients, helpers
from .helpers import CRON_PIDFILE, SSHD_PIDFILE, alive, systemctl, wait_until

pytestmark = pytest.mark.box

TIMEOUT_RC = (124, 137)


@pytest.fixture(params=["plain", "canary", "canary+hook"])
def state(request, host, machine):
    if machine.flavour == "alpine":
        pytest.skip("Debian's helpers: the Alpine box has none")
    if host.backend.get_connection_type() != "nsbox":
        pytest.skip("needs a namespace box (installs files into it)")
    install = "systemctl-shim install" + (" --look-like-systemd" if "canary" in request.param
                                          else "")
    result = host.run(install)
    assert result.rc == 0, result.stderr
    assert host.file("/usr/bin/systemctl").is_file
    if "hook" in request.param:
        clients.install_systemd_hook(machine)
    assert host.file("/run/systemd/system").is_directory == ("canary" in request.param)
    return request.param


def run(host, command, timeout=60, ok=True):
    result = host.run("timeout -k 5 %s sh -c %s", str(timeout), command)
    assert result.rc not in TIMEOUT_RC, f"{command!r} hung (loop?): {result.stdout}{result.stderr}"
    if ok:
        assert result.rc == 0, f"{command!r} -> rc {result.rc}\n{result.stdout}{result.stderr}"
    return result


def new_cron(host, old):
    pid = wait_until(lambda: (lambda p: p if p not in (None, old) else None)(
        helpers.cron_pid(host)), 10)
    assert pid, "cron was not (re)started"
    if old:
        assert not alive(host, old), "the old cron survived"
    return pid


def no_cron(host):
    assert wait_until(lambda: helpers.cron_pid(host) is None, 10), "cron still runs"


def shim_knows(host, pid):
    """The shim reports the running cron with its real main pid."""
    out = systemctl(host, "show", "-p", "ActiveState,MainPID", "cron")
    assert sorted(out.stdout.split()) == ["ActiveState=active", f"MainPID={pid}"], out.stdout


def test_service_and_invoke_rc_d(host, machine, state):
    pid = new_cron(host, None)

    pid = (run(host, "service cron restart"), new_cron(host, pid))[1]
    run(host, "service cron stop")
    no_cron(host)
    assert run(host, "service cron status", ok=False).rc == 3
    assert systemctl(host, "is-active", "cron").rc == 3
    run(host, "service cron start")
    pid = new_cron(host, None)
    assert run(host, "service cron status").rc == 0
    run(host, "service cron reload")
    assert helpers.cron_pid(host) == pid, "reload replaced cron"
    shim_knows(host, pid)

    run(host, "invoke-rc.d cron restart")
    pid = new_cron(host, pid)
    run(host, "invoke-rc.d cron stop")
    no_cron(host)
    run(host, "invoke-rc.d cron start")
    pid = new_cron(host, None)

    # By hand: with the hook this is redirected to `systemctl restart cron.service`,
    # which runs this same script again (with SYSTEMCTL_SKIP_REDIRECT=1).
    result = run(host, "/etc/init.d/cron restart")
    assert ("(via systemctl)" in result.stdout) == (state == "canary+hook"), result.stdout
    pid = new_cron(host, pid)
    shim_knows(host, pid)

    if "canary" in state:
        # invoke-rc.d's force-stop under systemd is `systemctl --signal=KILL kill`.
        run(host, "invoke-rc.d cron force-stop")
        no_cron(host)
        assert not alive(host, pid)
        run(host, "invoke-rc.d cron start")
        new_cron(host, None)


def test_update_rc_d_enable_disable(host, machine, state):
    """update-rc.d calls `systemctl --quiet enable|disable cron` back (SYSTEMCTL_SKIP_SYSV=1)
    as soon as /usr/bin/systemctl exists; and the shim's enable calls update-rc.d."""
    flavour = machine.flavour
    run(host, "update-rc.d cron disable")
    assert not clients.enabled_natively(host, flavour, "cron")
    assert systemctl(host, "is-enabled", "cron").stdout == "disabled\n"
    run(host, "update-rc.d cron enable")
    assert clients.enabled_natively(host, flavour, "cron")
    assert systemctl(host, "is-enabled", "cron").stdout == "enabled\n"

    run(host, "systemctl disable cron")
    assert not clients.enabled_natively(host, flavour, "cron")
    run(host, "systemctl enable cron")
    assert clients.enabled_natively(host, flavour, "cron")
    if flavour == "sysv":
        assert [link for link in clients.rc_links(host, "cron") if "/S" in link] == \
            ["rc2.d/S01cron", "rc3.d/S01cron", "rc4.d/S01cron", "rc5.d/S01cron"]
    assert helpers.cron_pid(host), "enable/disable touched the running cron"


def test_deb_systemd_invoke_and_helper(host, machine, state):
    pid = new_cron(host, None)
    run(host, "deb-systemd-invoke restart cron.service")
    pid = new_cron(host, pid)
    run(host, "deb-systemd-invoke stop cron.service")
    no_cron(host)
    run(host, "deb-systemd-invoke start cron.service")
    pid = new_cron(host, None)
    shim_knows(host, pid)

    # deb-systemd-helper only runs from maintainer scripts (it checks for dpkg's env).
    dsh = "DPKG_MAINTSCRIPT_PACKAGE=cron DPKG_MAINTSCRIPT_NAME=postinst deb-systemd-helper"
    run(host, f"{dsh} mask cron.service")
    assert host.file("/etc/systemd/system/cron.service").linked_to == "/dev/null"
    assert systemctl(host, "is-enabled", "cron").stdout == "masked\n"
    refused = systemctl(host, "restart", "cron")   # refused, like systemd's
    assert refused.rc == 1 and "masked" in refused.stderr, refused.stderr
    assert helpers.cron_pid(host) == pid
    run(host, f"{dsh} unmask cron.service")
    assert not host.file("/etc/systemd/system/cron.service").exists
    assert systemctl(host, "is-enabled", "cron").stdout == "enabled\n"
    run(host, f"{dsh} enable cron.service")
    assert run(host, f"{dsh} --quiet was-enabled cron.service", ok=False).rc == 0
    assert clients.enabled_natively(host, machine.flavour, "cron")


def test_reinstall_packages_restarts_services(host, machine, state):
    """dpkg -i of cron and openssh-server (cached .debs): their postinsts run
    update-rc.d, invoke-rc.d, deb-systemd-helper and, with the canary,
    `systemctl daemon-reload` and deb-systemd-invoke restart."""
    cron = new_cron(host, None)
    sshd = wait_until(lambda: clients.alive_pidfile(host, SSHD_PIDFILE))
    assert sshd
    cron_deb = clients.copy_deb(machine, "cron")
    ssh_deb = clients.copy_deb(machine, "openssh-server")

    run(host, f"DEBIAN_FRONTEND=noninteractive dpkg -i {cron_deb} {ssh_deb} </dev/null",
        timeout=180)
    cron = new_cron(host, cron)
    assert wait_until(lambda: (lambda p: p if p not in (None, sshd) else None)(
        clients.alive_pidfile(host, SSHD_PIDFILE)), 10), "sshd was not restarted"
    assert not alive(host, sshd)
    login = run(host, "ssh -o BatchMode=yes -o ConnectTimeout=5 root@127.0.0.1 echo via-ssh")
    assert login.stdout.strip() == "via-ssh"
    assert clients.enabled_natively(host, machine.flavour, "cron")
    shim_knows(host, cron)

    # Remove: the prerm stops cron (invoke-rc.d / deb-systemd-invoke stop).
    run(host, "dpkg -r cron </dev/null", timeout=120)
    no_cron(host)
    run(host, f"DEBIAN_FRONTEND=noninteractive dpkg -i {cron_deb} </dev/null", timeout=120)
    cron = new_cron(host, None)

    # An admin's "disabled and stopped" survives a reinstall (invoke-rc.d's policy and
    # deb-systemd-invoke both ask is-enabled).
    # On Debian's OpenRC too: invoke-rc.d decides from the /etc/rc?.d links, which the shim's
    # disable changes through update-rc.d (that also calls rc-update).
    run(host, "systemctl disable --now cron")
    no_cron(host)
    run(host, f"DEBIAN_FRONTEND=noninteractive dpkg -i {cron_deb} </dev/null", timeout=120)
    assert helpers.cron_pid(host) is None, "reinstall started a disabled cron"
    assert not clients.enabled_natively(host, machine.flavour, "cron")
    assert host.run("cat %s", CRON_PIDFILE).rc != 0 or helpers.cron_pid(host) is None


def test_canary_with_systemd_hook_halts_through_init(host, machine):
    """--look-like-systemd with Debian's 40-systemd hook on sysvinit: init's rc runs scripts
    with PPID != 1, so without the shim's own hook (39-systemctl-shim, run first) every one of
    them would be handed to systemctl, rc's machinery (halt, sendsigs, ...) included, and
    runlevel 0 would never halt."""
    if machine.flavour != "sysv":
        pytest.skip("sysvinit's rc only")
    assert host.run("systemctl-shim install --look-like-systemd").rc == 0
    clients.install_systemd_hook(machine)
    # A script run by hand is still redirected to systemctl, as on systemd.
    result = run(host, "/etc/init.d/cron restart", timeout=30, ok=False)
    assert result.rc == 0, result.stdout + result.stderr
    # Runlevel 0 through init's rc: halted by init itself, long before stop()'s SIGKILL fallback.
    started = time.monotonic()
    machine.box.stop(graceful=True, timeout=60)
    assert not machine.box.running
    assert time.monotonic() - started < 30, "init did not halt the box (SIGKILL fallback)"


def test_canary_with_systemd_hook_on_openrc(host, machine):
    """On a machine OpenRC booted the shim runs LSB scripts through openrc-run, whose
    env_filter() drops SYSTEMCTL_SKIP_REDIRECT: with the canary and Debian's 40-systemd hook the
    script would hand itself back to systemctl, waiting on the lock its own caller holds. The
    shim's hook and its nested-call check make this a plain restart."""
    if machine.flavour != "openrc":
        pytest.skip("Debian with OpenRC only")
    assert host.run("systemctl-shim install --look-like-systemd").rc == 0
    clients.install_systemd_hook(machine)
    run(host, "systemctl restart cron", timeout=15)
    new_cron(host, None)
