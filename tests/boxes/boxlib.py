"""A box: a throwaway overlay of a rootfs booted with its real init as PID 1 in its
own PID, mount, UTS, IPC, network and cgroup namespaces, plus its own cgroup2
directory on the host. All of a box's state is in files under its state dir, so a
box booted by one process (the CLI) can be entered and stopped by another."""
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import cgroups, procs

LAUNCHER = Path(__file__).resolve().parent / "launch.sh"
BOOT_MARKER = "run/box-booted"   # written by the last inittab entry, see recipes/
BOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--ipc",
           "--net", "--cgroup", "--propagation", "private"]


@dataclass
class BoxSpec:
    name: str                  # unique on the host while the box exists (cgroup name)
    flavour: str
    lower: list                # overlay lower dirs, top-most first (the rootfs is last)
    keep_upper: bool = False   # upper layer on disk: survives stop, needed for reboot
    binds: list = field(default_factory=list)   # [host, box, "ro"|"rw"]
    hostname: str = "box"
    cgroup_mount: str = "tmpfs"
    halt_command: list = field(default_factory=lambda: ["telinit", "0"])
    command: list = field(default_factory=lambda: ["/sbin/init"])


class BoxError(RuntimeError):
    pass


class Box:
    def __init__(self, state_dir):
        self.state_dir = Path(state_dir)
        self.spec = BoxSpec(**json.loads((self.state_dir / "spec.json").read_text()))

    @classmethod
    def create(cls, state_dir, spec):
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True)
        (state_dir / "spec.json").write_text(json.dumps(asdict(spec), indent=1))
        return cls(state_dir)

    # -- state files ---------------------------------------------------------------
    @property
    def name(self):
        return self.spec.name

    @property
    def upper_dir(self):
        return self.state_dir / "upper"

    @property
    def console_log(self):
        return self.state_dir / "console.log"

    def _runtime(self):
        try:
            return json.loads((self.state_dir / "runtime.json").read_text())
        except FileNotFoundError:
            return None

    def _set_runtime(self, runtime):
        path = self.state_dir / "runtime.json"
        if runtime is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(json.dumps(runtime))

    @property
    def init_pid(self):
        """Host pid of the box's PID 1, or None when the box is not running."""
        runtime = self._runtime()
        if runtime and procs.is_alive(runtime["init_pid"], runtime["init_start"]):
            return runtime["init_pid"]
        return None

    @property
    def running(self):
        return self.init_pid is not None

    @property
    def root_path(self):
        """The box's / as seen from the host (through its PID 1)."""
        return Path(f"/proc/{self.init_pid}/root")

    # -- boot -------------------------------------------------------------------
    def _launch_env(self):
        spec = self.spec
        return {
            "PATH": BOX_PATH,
            "BOX_STATE": str(self.state_dir),
            "BOX_LOWER": ":".join(str(p) for p in spec.lower),
            "BOX_UPPER": str(self.upper_dir) if spec.keep_upper else "tmpfs",
            "BOX_CGROUP": spec.cgroup_mount,
            "BOX_HOSTNAME": spec.hostname,
            "BOX_BINDS": "\n".join(":".join(b) for b in spec.binds),
        }

    def start(self, command=None):
        """Start the namespaces and PID 1; return once PID 1 has chrooted (entering
        earlier would run commands against the host's own files)."""
        if self.running:
            raise BoxError(f"box {self.name} is already running")
        cgroup = cgroups.base_dir() / self.name
        if cgroup.exists():
            cgroups.remove_tree(cgroup)   # left by a crashed session; empty or rmdir fails
        cgroup = cgroups.create(self.name)
        # Join the box's cgroup first, so the cgroup namespace is rooted there.
        argv = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cgroup / "cgroup.procs"),
                *UNSHARE, "--", "/bin/sh", str(LAUNCHER), *(command or self.spec.command)]
        with open(self.console_log, "ab") as log:
            launcher = subprocess.Popen(argv, env=self._launch_env(), stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        runtime = {"unshare_pid": launcher.pid, "unshare_start": procs.starttime(launcher.pid),
                   "cgroup": str(cgroup)}
        self._set_runtime(runtime)
        init_pid = None

        def chrooted():
            nonlocal init_pid
            if launcher.poll() is not None:
                return True
            kids = procs.children(launcher.pid)
            if kids and init_pid is None:
                init_pid = kids[0]
            try:
                return init_pid is not None and os.readlink(f"/proc/{init_pid}/root") != "/"
            except FileNotFoundError:
                return False

        procs.wait_until(chrooted, timeout=15)
        if launcher.poll() is not None or init_pid is None:
            self._cleanup_cgroup(runtime)
            self._set_runtime(None)
            raise BoxError(f"box {self.name} did not start (rc {launcher.poll()}):\n"
                           + self.console_log.read_text(errors="replace")[-3000:])
        runtime.update(init_pid=init_pid, init_start=procs.starttime(init_pid))
        self._set_runtime(runtime)
        return launcher

    def boot(self, timeout=60):
        """Boot the real init and wait until its boot sequence has finished."""
        started = time.monotonic()
        self.start()
        marker = self.root_path / BOOT_MARKER
        if not procs.wait_until(lambda: not self.running or marker.exists(), timeout):
            raise BoxError(f"box {self.name} did not finish booting in {timeout}s")
        if not self.running:
            raise BoxError(f"box {self.name} died while booting:\n"
                           + self.console_log.read_text(errors="replace")[-3000:])
        return time.monotonic() - started

    def run_to_completion(self, command, timeout=600):
        """Run `command` as the box's PID 1 (no init) and return its exit status."""
        launcher = self.start(command)
        try:
            return launcher.wait(timeout)
        finally:
            self.stop(graceful=False)

    # -- entering ---------------------------------------------------------------
    def exec_argv(self, command):
        """argv that runs `command` inside the running box: in its cgroup first, then
        all its namespaces and its root, with a clean environment."""
        runtime = self._runtime()
        pid = self.init_pid
        if pid is None:
            raise BoxError(f"box {self.name} is not running")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"',
                os.path.join(runtime["cgroup"], "cgroup.procs"),
                "nsenter", "--target", str(pid), "--all", "--root", "--wd",
                "env", "-i", f"PATH={BOX_PATH}", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
                "USER=root", "LOGNAME=root", *command]

    def exec(self, command, check=False, timeout=120, **kwargs):
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        # A process group spans PID namespaces: without a session of its own, a `kill 0` in
        # the box (a script with an empty $MAINPID) would reach the test runner itself.
        kwargs.setdefault("start_new_session", True)
        return subprocess.run(self.exec_argv(command), check=check, timeout=timeout,
                              stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs)

    def sh(self, script, check=True, timeout=120):
        result = self.exec(["/bin/sh", "-c", script], timeout=timeout, text=True)
        if check and result.returncode != 0:
            raise BoxError(f"in box {self.name}: {script!r} -> rc {result.returncode}\n"
                           f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    # -- stopping -----------------------------------------------------------------
    def stop(self, graceful=True, timeout=20):
        """Shut down through the box's init (telinit 0 / poweroff), SIGKILL to its
        PID 1 as the fallback; then remove the box's cgroup. Returns the launcher's
        exit status when known (130: halted/powered off, 129: rebooted)."""
        runtime = self._runtime()
        if runtime is None:
            # Not started, or its state was lost: its cgroup still says what is ours.
            self._cleanup_cgroup({"cgroup": str(cgroups.base_dir() / self.name)})
            return None
        if graceful and self.running:
            try:
                self.exec(list(self.spec.halt_command), timeout=10)
            except (subprocess.TimeoutExpired, BoxError):
                pass
            self._wait_gone(runtime, timeout)
        if self.running:
            # Only our own PID 1 (pid + start time checked): killing it ends the
            # whole PID namespace, and with it the mounts.
            os.kill(runtime["init_pid"], signal.SIGKILL)
        status = self._wait_gone(runtime, 10)
        self._cleanup_cgroup(runtime)
        self._set_runtime(None)
        return status

    def _wait_gone(self, runtime, timeout):
        unshare = (runtime["unshare_pid"], runtime["unshare_start"])
        status = None

        def gone():
            nonlocal status
            reaped = procs.reap_if_child(unshare[0])
            if reaped is not None:
                status = reaped
            return not procs.is_alive(*unshare) and not self.running

        procs.wait_until(gone, timeout)
        return status

    def _cleanup_cgroup(self, runtime):
        cgroup = Path(runtime["cgroup"])
        if not cgroup.exists():
            return
        # Our own exec wrappers may still sit in the cgroup for a moment.
        if cgroups.member_pids(cgroup):
            cgroups.kill_all(cgroup)
            procs.wait_until(lambda: not cgroups.member_pids(cgroup), 5)
        cgroups.remove_tree(cgroup)

    def reboot(self, timeout=60):
        """Orderly shutdown, then boot again on the same upper layer."""
        if not self.spec.keep_upper:
            raise BoxError(f"box {self.name} has its upper layer on tmpfs: cannot reboot")
        self.stop(graceful=True)
        return self.boot(timeout)

    def destroy(self):
        self.stop(graceful=False)
        shutil.rmtree(self.state_dir)
