"""systemctl-shim install/uninstall: the launcher at /usr/bin/systemctl, never over a foreign one."""

import os
import subprocess
import sys

import pytest
from scripts import wait_for

ROOT_DIRS = ("usr/bin", "bin", "etc/init.d", "run")


def admin(*args):
    return subprocess.run([sys.executable, "-m", "shim.admin", *args], capture_output=True, text=True)


@pytest.fixture
def image(tmp_path):
    for d in ROOT_DIRS:
        (tmp_path / d).mkdir(parents=True)
    return tmp_path


def test_install_writes_working_launchers_and_uninstall_removes_them(image):
    done = admin("install", "--root=%s" % image)
    assert done.returncode == 0, done.stderr
    for path in ("usr/bin/systemctl", "bin/systemctl"):
        launcher = image / path
        version = subprocess.run([str(launcher), "--version"], capture_output=True, text=True)
        assert version.stdout.startswith("systemd 252 ("), version.stderr
    assert admin("uninstall", "--root=%s" % image).returncode == 0
    assert not (image / "usr/bin/systemctl").exists() and not (image / "bin/systemctl").exists()


def test_install_refuses_to_replace_a_foreign_systemctl(image):
    foreign = image / "usr/bin/systemctl"
    foreign.write_bytes(b"\x7fELF systemd's own")
    done = admin("install", "--root=%s" % image)
    assert done.returncode == 1
    assert "not ours" in done.stderr and "Traceback" not in done.stderr
    assert foreign.read_bytes() == b"\x7fELF systemd's own"
    assert not (image / "bin/systemctl").exists()          # nothing half-done
    admin("uninstall", "--root=%s" % image)
    assert foreign.read_bytes() == b"\x7fELF systemd's own"  # uninstall never removes it either


def test_usr_merged_image_gets_one_launcher(image):
    (image / "bin").rmdir()
    os.symlink("usr/bin", image / "bin")
    assert admin("install", "--root=%s" % image).stdout.count("bin/systemctl\n") == 1


def test_look_like_systemd_is_created_at_boot_and_undone(image):
    (image / "etc/rcS.d").mkdir()
    assert admin("install", "--look-like-systemd", "--root=%s" % image).returncode == 0
    assert (image / "run/systemd/system").is_dir()
    link = image / "etc/rcS.d/S01systemctl-shim-canary"
    assert os.readlink(link) == "../init.d/systemctl-shim-canary"
    script = image / "etc/init.d/systemctl-shim-canary"
    # ... and at boot the script recreates it (not run here: it would act on this machine's /run)
    assert "mkdir -p /run/systemd/system" in script.read_text()
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    admin("uninstall", "--root=%s" % image)
    assert not os.path.lexists(link) and not (image / "etc/init.d/systemctl-shim-canary").exists()


# --- the boot hook: /etc/init.d/systemctl-shim-units ----------------------------------------------

HOOK = "etc/init.d/systemctl-shim-units"
HOOK_LINKS = ["rc0.d/K01systemctl-shim-units", "rc1.d/K01systemctl-shim-units",
              "rc2.d/S99systemctl-shim-units", "rc3.d/S99systemctl-shim-units",
              "rc4.d/S99systemctl-shim-units", "rc5.d/S99systemctl-shim-units",
              "rc6.d/K01systemctl-shim-units"]


def rc_links(image):
    etc = image / "etc"
    return sorted("%s/%s" % (d.name, e.name) for d in etc.glob("rc?.d") for e in d.iterdir()
                  if e.name.endswith("systemctl-shim-units"))


def test_install_writes_the_boot_hook_for_sysvinit_and_uninstall_removes_it(image):
    done = admin("install", "--root=%s" % image)
    assert done.returncode == 0, done.stderr
    assert "Installed /etc/init.d/systemctl-shim-units" in done.stdout
    script = image / HOOK
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n### BEGIN INIT INFO\n")
    assert "# Default-Start:     2 3 4 5\n" in text and "# Default-Stop:      0 1 6\n" in text
    assert "# Required-Stop:     $remote_fs $syslog $network $time\n" in text
    assert "# Should-Stop:       halt reboot\n" in text      # halt never before the units stop
    assert "init-functions" not in text           # Debian's redirect hook must never see it
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    assert rc_links(image) == HOOK_LINKS
    assert all(os.readlink(image / "etc" / link) == "../init.d/systemctl-shim-units"
               for link in HOOK_LINKS)
    status = admin("status", "--root=%s" % image)
    assert "/etc/init.d/systemctl-shim-units: systemctl-shim, enabled (rc0.d/" in status.stdout
    assert admin("install", "--root=%s" % image).returncode == 0      # again: nothing doubled
    assert rc_links(image) == HOOK_LINKS
    done = admin("uninstall", "--root=%s" % image)
    assert "Removed /etc/init.d/systemctl-shim-units" in done.stdout
    assert not script.exists() and rc_links(image) == []


def test_boot_hook_joins_insserv_makefiles_and_leaves_them_as_they_were(image):
    """sysv-rc with makefile-style concurrency runs only what .depend.start/.stop name."""
    init_d = image / "etc/init.d"
    start = "TARGETS = cron ssh single rc.local\nINTERACTIVE =\nrc.local: cron ssh\n"
    stop = "TARGETS = sendsigs networking halt\nhalt: sendsigs\n"
    (init_d / ".depend.start").write_text(start)
    (init_d / ".depend.stop").write_text(stop)
    for level in "2345":
        (image / ("etc/rc%s.d" % level)).mkdir()
        for name in ("cron", "ssh", "rc.local"):
            os.symlink("../init.d/" + name, image / ("etc/rc%s.d/S01%s" % (level, name)))
    assert admin("install", "--root=%s" % image).returncode == 0
    assert (init_d / ".depend.start").read_text().splitlines() == [
        "TARGETS = cron ssh single rc.local systemctl-shim-units", "INTERACTIVE =",
        "rc.local: cron ssh", "systemctl-shim-units: cron ssh rc.local"]
    assert (init_d / ".depend.stop").read_text().splitlines() == [
        "TARGETS = sendsigs networking halt systemctl-shim-units",
        "halt: sendsigs systemctl-shim-units", "sendsigs: systemctl-shim-units",
        "networking: systemctl-shim-units"]
    assert admin("uninstall", "--root=%s" % image).returncode == 0
    assert (init_d / ".depend.start").read_text() == start
    assert (init_d / ".depend.stop").read_text() == stop


def test_canary_joins_the_boot_makefile(image):
    """rcS with makefile-style concurrency: a link alone would never run (startpar -M boot)."""
    boot = "TARGETS = mountkernfs.sh hostname.sh bootmisc.sh\nINTERACTIVE =\n"
    (image / "etc/init.d/.depend.boot").write_text(boot)
    assert admin("install", "--look-like-systemd", "--root=%s" % image).returncode == 0
    assert (image / "etc/init.d/.depend.boot").read_text().splitlines() == [
        "TARGETS = mountkernfs.sh hostname.sh bootmisc.sh systemctl-shim-canary", "INTERACTIVE =",
        "systemctl-shim-canary: mountkernfs.sh"]
    assert admin("uninstall", "--root=%s" % image).returncode == 0
    assert (image / "etc/init.d/.depend.boot").read_text() == boot


def test_canary_on_openrc_is_an_openrc_service_in_sysinit(image):
    (image / "etc/runlevels").mkdir()
    assert admin("install", "--look-like-systemd", "--root=%s" % image).returncode == 0
    text = (image / "etc/init.d/systemctl-shim-canary").read_text()
    assert text.startswith("#!/sbin/openrc-run\n") and "mkdir -p /run/systemd/system" in text
    link = image / "etc/runlevels/sysinit/systemctl-shim-canary"
    assert os.readlink(link) == "/etc/init.d/systemctl-shim-canary"
    assert admin("uninstall", "--root=%s" % image).returncode == 0
    assert not os.path.lexists(link)


def test_boot_hook_on_openrc_is_an_openrc_service_in_the_default_runlevel(image):
    (image / "etc/runlevels/default").mkdir(parents=True)
    assert admin("install", "--root=%s" % image).returncode == 0
    text = (image / HOOK).read_text()
    assert text.startswith("#!/sbin/openrc-run\n") and "after *" in text
    link = image / "etc/runlevels/default/systemctl-shim-units"
    assert os.readlink(link) == "/etc/init.d/systemctl-shim-units"
    assert rc_links(image) == []                   # no rcN.d links on OpenRC
    assert admin("uninstall", "--root=%s" % image).returncode == 0
    assert not os.path.lexists(link) and not (image / HOOK).exists()


def test_install_refuses_to_replace_a_foreign_hook(image):
    foreign = image / HOOK
    foreign.write_text("#!/bin/sh\n# someone else's\n")
    done = admin("install", "--root=%s" % image)
    assert done.returncode == 1 and "not ours" in done.stderr and "Traceback" not in done.stderr
    assert not (image / "usr/bin/systemctl").exists()
    admin("uninstall", "--root=%s" % image)
    assert foreign.read_text() == "#!/bin/sh\n# someone else's\n"


# --- what the hook does, with real processes (host suite: private PID namespace) -------------------

def native_unit(root, name, text):
    path = os.path.join(root.path, "lib/systemd/system", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def hook(root, action):
    from scripts import assert_clean, Result
    script = os.path.join(root.path, HOOK)
    done = subprocess.run(["/bin/sh", script, action], env=root.env(), cwd="/",
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    return assert_clean(Result([script, action], done.returncode, done.stdout, done.stderr))


def read_marks(root, name):
    try:
        with open(os.path.join(root.marks, name)) as handle:
            return handle.read().split()
    except OSError:
        return []


def test_hook_starts_enabled_native_units_in_order_and_stops_them_reversed(root):
    """zeta sorts last but alpha is After= it; scripty's unit file is linked into
    multi-user.target.wants (as deb-systemd-helper does) but init runs scripty's script."""
    for name, after, target in (("zeta", "", "multi-user"),
                                ("alpha", "After=zeta.service", "multi-user"),
                                ("zz-firewall", "", "sysinit")):      # sysinit's wants go first
        native_unit(root, name + ".service", """\
[Unit]
%(after)s
[Service]
ExecStartPre=/bin/sh -c 'echo %(n)s >> %(m)s/order'
ExecStart=/usr/bin/env SHIM_TEST_TAG=%(t)s sleep 1000
ExecStop=/bin/sh -c 'echo stop-%(n)s >> %(m)s/order; kill $MAINPID'
[Install]
WantedBy=%(target)s.target
""" % {"n": name, "after": after, "m": root.marks, "t": root.tag, "target": target})
    native_unit(root, "unwanted.service", "[Service]\nExecStart=/bin/sh -c 'touch %s/unwanted'\n"
                "[Install]\nWantedBy=multi-user.target\n" % root.marks)
    root.daemon("scripty")
    native_unit(root, "scripty.service", "[Service]\nExecStart=/bin/false\n"
                "[Install]\nWantedBy=multi-user.target\n")
    wants = os.path.join(root.path, "etc/systemd/system/multi-user.target.wants")
    os.makedirs(wants)
    os.symlink("/lib/systemd/system/scripty.service", os.path.join(wants, "scripty.service"))
    assert root.run("enable", "alpha", "zeta", "zz-firewall").rc == 0
    assert admin("install", "--root=%s" % root.path).returncode == 0

    assert hook(root, "status").rc == 3                     # not started yet
    started = hook(root, "start")
    assert started.rc == 0, str(started)
    assert read_marks(root, "order") == ["zz-firewall", "zeta", "alpha"]
    assert root.run("is-active", "alpha", "zeta").out == "active\nactive\n"
    assert root.calls("scripty") == [], "the hook started a script unit init is in charge of"
    assert not os.path.exists(os.path.join(root.marks, "unwanted"))
    status = hook(root, "status")
    assert status.rc == 0 and "alpha.service: active" in status.out, str(status)

    stopped = hook(root, "stop")
    assert stopped.rc == 0, str(stopped)
    assert read_marks(root, "order") == ["zz-firewall", "zeta", "alpha",
                                         "stop-alpha", "stop-zeta", "stop-zz-firewall"]
    assert root.run("is-active", "alpha", "zeta").out == "inactive\ninactive\n"
    assert wait_for(lambda: not root.tagged())
    assert hook(root, "status").rc == 3


def test_hook_prefers_scripts_even_where_unit_files_win_and_leaves_our_init_alone(root):
    """SYSTEMCTL_SHIM_PREFER_NATIVE=1 makes scripty.service the unit file for systemctl, but init
    still starts /etc/init.d/scripty; under the shim's own PID 1 (init.json) the hook is idle."""
    root.daemon("scripty")
    native_unit(root, "scripty.service", "[Service]\nExecStart=/bin/sh -c 'touch %s/native'\n"
                "[Install]\nWantedBy=multi-user.target\n" % root.marks)
    native_unit(root, "other.service", "[Service]\nType=oneshot\nExecStart=/bin/sh -c "
                "'touch %s/other'\n[Install]\nWantedBy=multi-user.target\n" % root.marks)
    root.env_extra["SYSTEMCTL_SHIM_PREFER_NATIVE"] = "1"
    assert root.run("enable", "scripty.service", "other").rc == 0
    assert admin("install", "--root=%s" % root.path).returncode == 0
    os.makedirs(root.state_dir(), exist_ok=True)
    with open(os.path.join(root.state_dir(), "init.json"), "w") as handle:
        handle.write("{}")
    assert hook(root, "start").rc == 0
    assert not os.path.exists(os.path.join(root.marks, "other")), "the hook ran under our init"
    os.unlink(os.path.join(root.state_dir(), "init.json"))
    assert hook(root, "start").rc == 0
    assert os.path.exists(os.path.join(root.marks, "other"))
    assert not os.path.exists(os.path.join(root.marks, "native")) and root.calls("scripty") == []


def test_hook_with_nothing_enabled_does_nothing(root):
    assert admin("install", "--root=%s" % root.path).returncode == 0
    for action in ("start", "stop"):
        done = hook(root, action)
        assert (done.rc, done.out, done.err) == (0, "", ""), str(done)
    assert hook(root, "bogus").rc == 3
