"""What a test may do to the machine under test besides running commands (that is
testinfra's `host`): know its flavour and reboot it. One implementation per route:
a namespace box, a machine reached over ssh (Vagrant), the local machine."""
import time

import pytest

from . import install


def detect_flavour(host):
    if host.file("/etc/alpine-release").exists:
        return "alpine"
    if host.exists("openrc") and host.file("/run/openrc").is_directory:
        return "openrc"
    return "sysv"


class NsBoxMachine:
    """A fresh box per test: the flavour's rootfs plus the project's install layer,
    upper layer on disk so that reboot() keeps what the test changed."""

    def __init__(self, session, flavour):
        self.flavour = flavour
        layer = install.install_layer(session, flavour)
        # Named like the testinfra host (nsbox://<flavour>), see nsbackend.py.
        self.box = session.new_box(flavour, flavour, layers=[layer], keep_upper=True)
        self.boot_seconds = self.box.boot()

    def reboot(self):
        self.boot_seconds = self.box.reboot()

    def close(self):
        self.box.destroy()


class SshMachine:
    """A real machine (e.g. a Vagrant VM) reached with testinfra's ssh/paramiko
    backends: reboot through its init, then wait for a new boot id."""

    def __init__(self, host, timeout=300):
        self.host = host
        self.flavour = detect_flavour(host)
        self.timeout = timeout

    def _boot_id(self):
        try:
            result = self.host.run("cat /proc/sys/kernel/random/boot_id")
        except Exception:  # connection refused/reset while the machine is down
            return None
        return result.stdout.strip() if result.rc == 0 else None

    def reboot(self):
        before = self._boot_id()
        self.host.run("(sleep 1; reboot) >/dev/null 2>&1 &")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            time.sleep(3)
            now = self._boot_id()
            if now and now != before:
                return
        raise TimeoutError(f"machine did not come back within {self.timeout}s")

    def close(self):
        pass


class LocalMachine:
    def __init__(self, host):
        self.flavour = detect_flavour(host)

    def reboot(self):
        pytest.skip("will not reboot the machine running the tests")

    def close(self):
        pass
