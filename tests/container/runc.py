"""One real OCI container run by Debian's runc: a bundle whose rootfs is an overlay of the image
(and layers) with its upper directory on disk, and a config.json made from `runc spec`:

* no `process.rlimits` (raising rlimits is refused on this machine: podman and crun fail on it),
* its own pid, network, ipc, uts, mount and cgroup namespaces, terminal false,
* docker's default capabilities, tmpfs /run and /tmp, `/usr/bin/systemctl` as the process.

runc keeps its state under a private --root, so nothing here touches /run/runc. Everything is
removed by destroy(): the container (runc delete --force, which also removes its cgroups), the
overlay mount and the directories."""
import json
import shutil
import subprocess
import time
from pathlib import Path

RUNC_ROOT = "/run/systemctl-shim-test-runc"
DOCKER_CAPABILITIES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                       "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                       "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def available() -> bool:
    return shutil.which("runc") is not None


class Container:
    def __init__(self, name: str, lower: list, work: Path, args=("/usr/bin/systemctl",)):
        self.name = name
        self.lower = [str(p) for p in lower]          # top-most first
        self.work = Path(work)
        self.args = list(args)
        self.bundle = self.work / "bundle"
        self.upper = self.work / "upper"
        self.console = self.work / "console.log"
        self.process = None
        self.mounted = False

    # --- setup ---------------------------------------------------------------------------------
    def create(self) -> "Container":
        for directory in (self.bundle / "rootfs", self.upper, self.work / "overlay-work"):
            directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        "lowerdir=%s,upperdir=%s,workdir=%s" % (":".join(self.lower), self.upper,
                                                                self.work / "overlay-work"),
                        str(self.bundle / "rootfs")], check=True)
        self.mounted = True
        (self.bundle / "config.json").write_text(json.dumps(self.config(), indent=1))
        return self

    def config(self) -> dict:
        spec_dir = self.work / "spec"
        spec_dir.mkdir(exist_ok=True)
        subprocess.run(["runc", "spec", "--bundle", str(spec_dir)], check=True)
        config = json.loads((spec_dir / "config.json").read_text())
        process = config["process"]
        process.pop("rlimits", None)
        process["terminal"] = False
        process["args"] = self.args
        process["env"] = ["PATH=" + PATH, "container=runc", "LANG=C.UTF-8"]
        process["noNewPrivileges"] = False
        process["capabilities"] = {kind: list(DOCKER_CAPABILITIES)
                                   for kind in ("bounding", "effective", "permitted")}
        config["root"] = {"path": "rootfs", "readonly": False}
        config["hostname"] = "shimbox"
        config["mounts"] += [
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]},
        ]
        config["linux"]["namespaces"] = [{"type": kind} for kind in
                                         ("pid", "network", "ipc", "uts", "mount", "cgroup")]
        return config

    # --- running -------------------------------------------------------------------------------
    def _runc(self, *args):
        return ["runc", "--root", RUNC_ROOT, *args]

    def start(self) -> float:
        """Start PID 1 (`runc run`, in the foreground of a child of ours); returns the time."""
        started = time.monotonic()
        with open(self.console, "ab") as log:
            self.process = subprocess.Popen(self._runc("run", "--bundle", str(self.bundle), self.name),
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        return started

    def state(self) -> dict:
        result = subprocess.run(self._runc("state", self.name), capture_output=True, text=True)
        return json.loads(result.stdout) if result.returncode == 0 else {}

    def exec(self, *command, timeout=60) -> subprocess.CompletedProcess:
        return subprocess.run(self._runc("exec", self.name, *command), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True)

    def kill(self, signal_name: str = "TERM") -> None:
        subprocess.run(self._runc("kill", self.name, signal_name), check=True)

    def wait(self, timeout: float):
        """The container's exit status (PID 1's, as runc reports it), or None on timeout."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def upper_file(self, path: str) -> Path:
        """A file the container wrote, read from its upper layer (also after it ended)."""
        return self.upper / path.lstrip("/")

    # --- teardown ------------------------------------------------------------------------------
    def destroy(self) -> None:
        subprocess.run(self._runc("delete", "--force", self.name), capture_output=True)
        if self.process is not None and self.process.poll() is None:
            self.process.wait(10)
        if self.mounted:
            subprocess.run(["umount", str(self.bundle / "rootfs")], check=True)
            self.mounted = False
        shutil.rmtree(self.work, ignore_errors=True)
