"""systemctl-shim install/uninstall: the launcher at /usr/bin/systemctl, never over a foreign one."""

import os
import subprocess
import sys

import pytest

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
    assert admin("install", "--root=%s" % image).stdout.count("Installed") == 1


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
