"""Fixtures of the host suite: temporary roots with real init scripts, and the real CLI.

Every test runs `python3 -m shim --root=<tmp root>` (or `bin/systemctl`) as a subprocess and
checks stdout, stderr and the exit code separately. `run()` asserts, for every call, that no
Python traceback (and no "internal error", the shim's last-resort catch-all) reached stderr.

Processes: every daemon a test script starts carries `SHIM_TEST_TAG=<the root's tag>` in its
environment; the fixture kills exactly those at teardown (and nothing else). The suite is meant
to run through `sudo tests/run --host` (private PID namespace, private /run).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import scripts  # noqa: E402

BIN = os.path.join(REPO, "bin", "systemctl")
IN_PIDNS = False
try:
    with open("/proc/1/cmdline", "rb") as _handle:
        IN_PIDNS = b"pidns.py" in _handle.read()
except OSError:
    pass

_DROP_ENV = ("LANG", "LANGUAGE", "SYSTEMD_UTF8", "SYSTEMCTL_SKIP_SYSV", "_SKIP_SYSTEMD_NATIVE",
             "SYSTEMCTL_SHIM_STATE_DIR", "SYSTEMCTL_SHIM_CGROUP", "SYSTEMCTL_SHIM_STOP_TIMEOUT",
             "SYSTEMD_OFFLINE", "SYSTEMCTL_SHIM_DEBUG")


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV and not k.startswith("LC_")}
    env["LANG"] = "C.UTF-8"
    env["SYSTEMCTL_SHIM_CGROUP"] = "none"
    env["SYSTEMCTL_SHIM_STOP_TIMEOUT"] = "5"
    env["PYTHONPATH"] = REPO
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str

    @property
    def lines(self):
        return self.out.splitlines()

    def __str__(self):
        return "argv=%r rc=%d\n--- stdout\n%s--- stderr\n%s" % (self.argv, self.rc, self.out, self.err)


def assert_clean(result: Result) -> Result:
    """Never a traceback, never the shim's catch-all, whatever the command."""
    assert "Traceback" not in result.err, str(result)
    assert "internal error" not in result.err, str(result)
    return result


def cli(args, *, env=None, user=None, python=None, timeout=120, use_bin=False, cwd=None):
    """Run the real CLI; return Result. `user`: run as that user through setpriv."""
    if use_bin:
        argv = [BIN]
    else:
        argv = [python or sys.executable, "-m", "shim"]
    argv += list(args)
    if user:
        argv = ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--init-groups"] + argv
    done = subprocess.run(argv, env=env or base_env(), cwd=cwd or "/", stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    result = Result(argv, done.returncode, done.stdout.decode("utf-8", "replace"),
                    done.stderr.decode("utf-8", "replace"))
    return assert_clean(result)


def environ_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read()
        return data[data.rindex(b")") + 2:].split()[0] == b"Z"
    except (OSError, ValueError, IndexError):
        return True


def pids_tagged(tag):
    """Live (non-zombie) processes carrying SHIM_TEST_TAG=tag: ours by construction."""
    marker = ("SHIM_TEST_TAG=%s" % tag).encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and marker in environ_of(int(entry)) and not is_zombie(int(entry)):
            found.append(int(entry))
    return sorted(found)


def pid_alive(pid):
    return os.path.exists("/proc/%d" % pid) and not is_zombie(pid)


def gone(pid):
    """Dead and reaped (a zombie still answers `kill -0`, which init scripts use)."""
    return not os.path.exists("/proc/%d" % pid)


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Root:
    """A temporary machine root: etc/init.d, etc/rcN.d, etc/inittab, and a tag for its daemons."""

    def __init__(self, path):
        self.path = path
        self.tag = "shimtest-" + uuid.uuid4().hex[:12]
        self.marks = os.path.join(path, "marks")     # where scripts leave traces (live path)
        self.pids = os.path.join(path, "pids")       # pidfiles (live paths, under the temp dir)
        self.init_d = os.path.join(path, "etc", "init.d")
        for directory in (self.marks, self.pids, self.init_d, os.path.join(path, "run")):
            os.makedirs(directory, exist_ok=True)
        for level in "0123456S":
            os.makedirs(os.path.join(path, "etc", "rc%s.d" % level), exist_ok=True)
        with open(os.path.join(path, "etc", "inittab"), "w") as handle:
            handle.write("# test inittab\nid:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n")
        self.env_extra = {}
        self.extra_pids = []

    # --- scripts -------------------------------------------------------------------------------
    def pidfile(self, name):
        return os.path.join(self.pids, name + ".pid")

    def daemon(self, name, **kwargs):
        """Write /etc/init.d/<name> that starts a real tagged daemon; returns its pidfile."""
        kwargs.setdefault("pidfile", self.pidfile(name))
        scripts.daemon_script(self.init_d, name, tag=self.tag, marks=self.marks, **kwargs)
        return kwargs["pidfile"]

    def raw(self, name, body, mode=0o755):
        return scripts.raw_script(self.init_d, name, body, mode)

    def calls(self, name):
        try:
            with open(os.path.join(self.marks, name + ".calls")) as handle:
                return handle.read().split()
        except OSError:
            return []

    def daemon_pid(self, name):
        try:
            with open(self.pidfile(name)) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return 0

    def tagged(self):
        return pids_tagged(self.tag)

    def rc_link(self, level, kind_prio_name, target):
        link = os.path.join(self.path, "etc", "rc%s.d" % level, kind_prio_name)
        os.symlink("../init.d/" + target, link)
        return link

    def state_dir(self):
        return os.path.join(self.path, "run", "systemctl-shim")

    # --- the CLI -------------------------------------------------------------------------------
    def env(self, **extra):
        merged = dict(self.env_extra)
        merged.update(extra)
        return base_env(**merged)

    def run(self, *args, env=None, user=None, python=None, timeout=120, use_bin=False):
        return cli(["--root=" + self.path] + list(args), env=env or self.env(), user=user,
                   python=python, timeout=timeout, use_bin=use_bin)

    def spawn_tagged_sleep(self):
        """A process of this test that belongs to no unit (for pidfile-hijack tests)."""
        env = dict(os.environ, SHIM_TEST_TAG=self.tag)
        proc = subprocess.Popen(["sleep", "100000"], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.extra_pids.append(proc)
        return proc

    def cleanup(self):
        for proc in self.extra_pids:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for _ in range(50):
            pids = self.tagged()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        left = self.tagged()
        assert not left, "test left processes behind: %r" % left


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="shim-root-")
    os.chmod(path, 0o755)                   # non-root callers (setpriv nobody) must read it
    machine = Root(path)
    try:
        yield machine
    finally:
        machine.cleanup()
        shutil.rmtree(path, ignore_errors=True)


def _python_for(user):
    """An interpreter `user` can run with the shim's dependencies importable, or None."""
    candidates = [sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            done = subprocess.run(
                ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--init-groups", candidate,
                 "-c", "import docopt, psutil, shim"], env=base_env(), cwd="/",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="session")
def nobody_python():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the CLI as nobody")
    python = _python_for("nobody")
    if python is None:
        pytest.skip("no Python interpreter that user nobody can run with docopt-ng and psutil "
                    "importable (install them system-wide: pip install docopt-ng psutil)")
    return python


@pytest.fixture
def cgroup_dir():
    """A cgroup2 directory for this test (created and removed), or skip."""
    base = None
    for mount in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        try:
            with open("/proc/mounts") as handle:
                is_cg2 = any(line.split()[1] == mount and line.split()[2] == "cgroup2"
                             for line in handle)
        except OSError:
            is_cg2 = False
        if is_cg2 and os.access(mount, os.W_OK):
            base = mount
            break
    if base is None:
        pytest.skip("no writable cgroup2 hierarchy on this machine")
    path = os.path.join(base, "shim-test-" + uuid.uuid4().hex[:8])
    try:
        os.mkdir(path)
    except OSError as error:
        pytest.skip("cannot create a cgroup under %s: %s" % (base, error))
    try:
        yield path
    finally:
        # Remove child cgroups the shim created, deepest first; they must be empty by now.
        for directory, subdirs, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
            for sub in subdirs:
                child = os.path.join(directory, sub)
                try:
                    with open(os.path.join(child, "cgroup.procs")) as handle:
                        for line in handle:
                            os.kill(int(line), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        for directory, _, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
            for _ in range(50):
                try:
                    os.rmdir(directory)
                    break
                except OSError:
                    time.sleep(0.05)
        assert not os.path.exists(path), "cgroup %s left behind" % path
