"""The same scenario on two kinds of container: a real OCI container (runc) and a namespace box
(tests/boxes/boxlib.py: unshare + overlay + chroot, no runtime). Both give the tests one
interface: start, exec, signal PID 1 from outside (as `docker stop` does), wait for its exit
status, read what it wrote to its disk, read its console (`docker logs`)."""
import os
import signal
import subprocess
import time

from tests.boxes import boxlib
from tests.container import runc

SIGNALS = {name: int(getattr(signal, "SIG" + name)) for name in ("TERM", "INT", "KILL", "USR1", "HUP")}
SIGNALS.update({"RTMIN+%d" % n: signal.SIGRTMIN + n for n in (3, 4, 5, 13, 14, 15)})


class Machine:
    kind = ""
    started = 0.0

    def sh(self, script: str, timeout=60) -> subprocess.CompletedProcess:
        return self.exec("/bin/sh", "-c", script, timeout=timeout)

    def systemctl(self, *args, timeout=60) -> subprocess.CompletedProcess:
        return self.exec("systemctl", *args, timeout=timeout)

    def wait_running(self, timeout=30.0) -> float:
        """Seconds from start() until `systemctl is-system-running` says running (or degraded)."""
        deadline = time.monotonic() + timeout
        states = []
        while time.monotonic() < deadline:
            answer = self.systemctl("is-system-running").stdout.strip()
            states.append(answer)
            # Before PID 1 wrote init.json the answer is the machine's, not the init's: wait for
            # the init's own word that the boot set is done as well.
            if answer in ("running", "degraded") and "Startup finished" in self.console_text():
                return time.monotonic() - self.started
            if not self.alive():
                break
            time.sleep(0.05)
        raise AssertionError("never running (saw %s):\n%s" % (sorted(set(states)), self.console_text()))


class RuncMachine(Machine):
    kind = "runc"

    def __init__(self, name, lower, work):
        self.container = runc.Container(name, lower, work)

    def start(self):
        self.container.create()
        self.started = self.container.start()
        return self

    def exec(self, *command, timeout=60):
        return self.container.exec(*command, timeout=timeout)

    def signal(self, name: str) -> None:
        self.container.kill(str(SIGNALS[name]))

    def alive(self) -> bool:
        return self.container.process.poll() is None

    def wait(self, timeout):
        return self.container.wait(timeout)

    def upper_file(self, path):
        return self.container.upper_file(path)

    def console_text(self):
        return self.container.console_text()

    def destroy(self):
        self.container.destroy()


class BoxMachine(Machine):
    kind = "nsbox"

    def __init__(self, name, lower, work, cgroup_mount="tmpfs"):
        spec = boxlib.BoxSpec(name=name, flavour="container", lower=[str(p) for p in lower],
                              keep_upper=True, hostname="shimbox", cgroup_mount=cgroup_mount,
                              halt_command=["systemctl", "poweroff"], command=["/usr/bin/systemctl"])
        self.box = boxlib.Box.create(work, spec)
        self.launcher = None

    def start(self):
        self.started = time.monotonic()
        self.launcher = self.box.start()
        return self

    def exec(self, *command, timeout=60):
        # Its own session: a `kill 0` in the box must not reach the test runner's process group
        # (a process group spans PID namespaces).
        return self.box.exec(list(command), timeout=timeout, text=True, start_new_session=True)

    def signal(self, name: str) -> None:
        pid = self.box.init_pid
        assert pid is not None, "the box's PID 1 is gone"
        os.kill(pid, SIGNALS[name])

    def alive(self) -> bool:
        return self.launcher.poll() is None

    def wait(self, timeout):
        try:
            return self.launcher.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def upper_file(self, path):
        return self.box.upper_dir / path.lstrip("/")

    def console_text(self):
        return self.box.console_log.read_text(errors="replace") if self.box.console_log.exists() else ""

    def destroy(self):
        self.box.destroy()
