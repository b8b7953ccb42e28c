"""Real processes for the process-model tests: services started through run_captured, bystanders,
and a cleanup that signals only what the test itself started."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Callable, Dict, List, Optional, Set

from shim.proc import cgroup as cgroup_fs
from shim.proc import killer, membership
from shim.proc.capture import CaptureResult, run_captured
from shim.proc.snapshot import Snapshot
from shim.proc.tracking import Tracking

PY = sys.executable
DAEMON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "daemons", "daemon.py")
TOKEN_VAR = "SHIM_TEST_TOKEN"


def in_private_pidns() -> bool:
    """True when PID 1 is tests/pidns.py, i.e. we run under
    unshare --pid --fork --mount-proc --kill-child python3 tests/pidns.py -- ..."""
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
    except OSError:
        return False
    return any(arg.endswith(b"pidns.py") for arg in args[:3])


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def stat_of(pid: int) -> Optional[List[str]]:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def state_of(pid: int) -> Optional[str]:
    fields = stat_of(pid)
    return fields[0] if fields else None


def pending_signals(pid: int) -> int:
    """Signals pending for the process (thread and shared queues) as a bit mask."""
    mask = 0
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("SigPnd:", "ShdPnd:")):
                mask |= int(line.split()[1], 16)
    return mask


class Service:
    def __init__(self, name: str, result: CaptureResult, ready_dir: str, cgroup: Optional[str]):
        self.name = name
        self.result = result
        self.tracking = result.tracking
        self.ready_dir = ready_dir
        self.cgroup = cgroup

    def touch(self, name: str) -> None:
        open(os.path.join(self.ready_dir, name), "w").close()

    def wait_file(self, name: str, timeout: float = 15.0) -> None:
        wait_for(lambda: os.path.exists(os.path.join(self.ready_dir, name)), timeout, f"{self.name}: {name}")

    def read_pids(self, name: str) -> List[int]:
        with open(os.path.join(self.ready_dir, name)) as handle:
            return [int(word) for word in handle.read().split()]

    def members(self, snapshot: Optional[Snapshot] = None, **kwargs) -> membership.Membership:
        return membership.compute(snapshot or Snapshot.take(), self.tracking, **kwargs)

    def collect(self, **kwargs) -> Callable[[Snapshot], Set[int]]:
        return lambda snapshot: membership.compute(snapshot, self.tracking, **kwargs).pids


class Lab:
    """One test's world: a directory, a token in every environment, the services and bystanders it
    started, and the cgroups it made. cleanup() SIGKILLs only those, then removes the cgroups."""

    def __init__(self, directory: str, cgroup_mount: Optional[str]):
        self.dir = directory
        self.token = uuid.uuid4().hex
        self.cgroup_mount = cgroup_mount
        self.services: List[Service] = []
        self.popens: List[subprocess.Popen] = []
        self.cgroups: List[str] = []
        self.start_snapshot = Snapshot.take()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), TOKEN_VAR: self.token,
                    "PY": PY, "DAEMON": DAEMON}

    def make_cgroup(self, name: str) -> str:
        assert self.cgroup_mount, "no writable cgroup2"
        path = os.path.join(self.cgroup_mount, f"shim-test-{self.token[:12]}-{name}")
        assert cgroup_fs.create(path)
        self.cgroups.append(path)
        return path

    def start(self, name: str, body: str, *, cgroup: Optional[str] = None, timeout: float = 60.0,
              env: Optional[Dict[str, str]] = None) -> Service:
        ready = os.path.join(self.dir, name + ".d")
        os.makedirs(ready, exist_ok=True)
        script = os.path.join(self.dir, name + ".sh")
        with open(script, "w") as handle:
            handle.write("#!/bin/sh\nR=%s; export R\n%s\n%s\n" % (ready, WAIT_READY, body))
        os.chmod(script, 0o755)
        result = run_captured([script], env={**self.env, **(env or {})}, invocation_id=uuid.uuid4().hex,
                              cwd=self.dir, log_path=os.path.join(self.dir, name + ".log"),
                              cgroup=cgroup, timeout=timeout)
        service = Service(name, result, ready, cgroup)
        self.services.append(service)
        return service

    def popen(self, argv: List[str], **kwargs) -> subprocess.Popen:
        env = {**self.env, **kwargs.pop("env", {})}
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, **kwargs)
        self.popens.append(process)
        return process

    def _ours(self, snapshot: Snapshot) -> Set[int]:
        pids: Set[int] = set()
        for service in self.services:
            pids |= membership.compute(snapshot, service.tracking).pids
        for path in self.cgroups:
            pids |= set(cgroup_fs.procs(path))
        pids |= {p.pid for p in self.popens if p.returncode is None}
        for proc in snapshot.procs.values():
            if proc.pid not in self.start_snapshot.procs and not proc.is_zombie:
                if snapshot.environ(proc.pid).get(TOKEN_VAR) == self.token:
                    pids.add(proc.pid)
        pids |= snapshot.descendants(pids)
        # never anything that was there before the test, whatever the rules above say
        old = {pid for pid, proc in self.start_snapshot.procs.items()
               if snapshot.get(pid) is not None and snapshot.get(pid).starttime == proc.starttime}
        return pids - old

    def reap(self) -> None:
        """Collect zombie children of ours that this test created (double-forked daemons re-parent
        to us while run_captured makes us subreaper)."""
        snapshot = Snapshot.take()
        me = os.getpid()
        for proc in snapshot.procs.values():
            if proc.ppid == me and proc.is_zombie and proc.pid not in self.start_snapshot.procs:
                try:
                    os.waitpid(proc.pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def cleanup(self) -> None:
        for _ in range(5):
            killer.send(self._ours, signal.SIGKILL, freeze=True)
            for process in self.popens:
                try:
                    process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            self.reap()
            if not self._ours(Snapshot.take()):
                break
            time.sleep(0.05)
        for path in self.cgroups:
            wait_for(lambda: not cgroup_fs.populated(path), 5, f"{path} to empty")
            cgroup_fs.remove(path)


WAIT_READY = r'''
wait_ready() {
    for f in "$@"; do
        n=0
        while [ ! -e "$R/$f" ]; do
            sleep 0.01; n=$((n+1))
            if [ $n -gt 1500 ]; then echo "timeout waiting for $f" >&2; exit 1; fi
        done
    done
}
'''


def dump(tracking: Tracking) -> str:
    return json.dumps(tracking.to_dict())
