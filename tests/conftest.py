"""Fixtures of the host suite: temporary roots with real init scripts, and the real CLI.

Every test runs `python3 -m shim --root=<tmp root>` (or `bin/systemctl`) as a subprocess and
checks stdout, stderr and the exit code separately. `run()` asserts, for every call, that no
Python traceback (and no "internal error", the shim's last-resort catch-all) reached stderr.
The helpers live in tests/scripts.py (a unique module name: tests/proc has its own conftest).

Processes: every daemon a test script starts carries `SHIM_TEST_TAG=<the root's tag>` in its
environment; the fixture kills exactly those at teardown (and nothing else). The suite is meant
to run through `tests/run --host` (private PID namespace, private /run).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scripts import Root, base_env  # noqa: E402


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


# Where .ci/run puts an interpreter that user nobody can run (a venv of the system's python3 with
# docopt-ng, psutil and the checkout installed): /root/.pyenv or a pip --user install is not
# readable by nobody. SYSTEMCTL_SHIM_TEST_NOBODY_PYTHON names another one.
NOBODY_VENV = "/opt/systemctl-shim-nobody"
# Set by .ci/run: the non-root tests must run; a missing interpreter fails them instead of
# skipping (a security test that skips in CI protects nothing).
REQUIRE_NOBODY = "SYSTEMCTL_SHIM_TEST_REQUIRE_NOBODY"


def _python_for(user):
    """(an interpreter `user` can run with the shim's dependencies importable or None, why not)."""
    candidates = [os.environ.get("SYSTEMCTL_SHIM_TEST_NOBODY_PYTHON", ""),
                  os.path.join(NOBODY_VENV, "bin", "python3"),
                  sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]
    why = []
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            done = subprocess.run(
                ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--init-groups", candidate,
                 "-c", "import docopt, psutil, shim"], env=base_env(), cwd="/",
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            why.append("%s: %s" % (candidate, error))
            continue
        if done.returncode == 0:
            return candidate, ""
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why.append("%s: %s" % (candidate, last[-1] if last else "exit status %d" % done.returncode))
    return None, "; ".join(why)


def _skip_or_fail(message):
    if os.environ.get(REQUIRE_NOBODY):
        pytest.fail("%s (%s is set: the non-root tests must run)" % (message, REQUIRE_NOBODY),
                    pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def nobody_python():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        _skip_or_fail("needs root and setpriv to run the CLI as nobody")
    python, why = _python_for("nobody")
    if python is None:
        _skip_or_fail("no Python interpreter that user nobody can run with docopt-ng and psutil "
                      "importable (.ci/run creates %s; tried: %s)" % (NOBODY_VENV, why))
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
