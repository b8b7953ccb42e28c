"""pytest wiring for the container tests (tests/container): systemctl as PID 1 of a Debian 12
image, once in runc and once in a namespace box (two cgroup setups: none, and a writable
cgroup2), with the same scenario.

They run only when asked for (`-m container`, or a path inside tests/container), like the box
suite: a plain `pytest` of the host suite deselects them. runc missing fails the runc tests
(tests/container/run installs it); SHIM_CONTAINER_KINDS=nsbox selects the namespace box only."""
import fcntl
import itertools
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
KINDS = ("runc", "nsbox", "nsbox-cgroup2")


def _requested(config) -> bool:
    if "container" in (config.getoption("markexpr", "") or ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_configure(config):
    config.addinivalue_line("markers", "container: systemctl as PID 1 of a container (tests/container)")


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.fspath)).parents]
    for item in mine:
        item.add_marker(pytest.mark.container)
    if not _requested(config):
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]


def selected_kinds():
    wanted = os.environ.get("SHIM_CONTAINER_KINDS")
    kinds = [k.strip() for k in wanted.split(",") if k.strip()] if wanted else list(KINDS)
    unknown = set(kinds) - set(KINDS)
    assert not unknown, "unknown SHIM_CONTAINER_KINDS %s (known: %s)" % (sorted(unknown), KINDS)
    return kinds


def pytest_generate_tests(metafunc):
    if "machine" in metafunc.fixturenames:
        metafunc.parametrize("kind", selected_kinds(), scope="function")


@pytest.fixture(scope="session")
def image_root():
    from tests.container import image
    return image.rootfs()


@pytest.fixture(scope="session")
def work_session(image_root):
    """A directory for this session's layer and containers; afterwards nothing may be left:
    no runc container, no mount below it, no process of a box."""
    import shutil
    import tempfile
    from tests.container import image, runc
    _clean_stale_sessions(image.work_dir())
    session = Path(tempfile.mkdtemp(prefix="s", dir=image.work_dir()))
    lock = open(session / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)            # held while we live: see _clean_stale_sessions
    layer = image.shim_layer(session / "layer")
    try:
        yield session, layer
    finally:
        with open("/proc/self/mountinfo") as mountinfo:
            mounts = [line.split()[4] for line in mountinfo if str(session) in line.split()[4]]
        listed = subprocess.run(["runc", "--root", runc.RUNC_ROOT, "list", "-q"], capture_output=True,
                                text=True).stdout.split() if runc.available() else []
        shutil.rmtree(session, ignore_errors=True)
        assert not mounts, "mounts left behind: %s" % mounts
        assert not [n for n in listed if n.startswith("shim-" + session.name)], \
            "runc containers left behind: %s" % listed


def _clean_stale_sessions(base: Path) -> None:
    """Sessions whose pytest died (SIGKILL, a crash) leave running containers behind: a session
    directory whose lock nobody holds is one of those. Its boxes are stopped through their own
    state (pid and start time checked), its runc containers deleted, its mounts undone."""
    import shutil
    from tests.boxes.boxlib import Box
    from tests.container import runc
    for session in sorted(p for p in base.glob("s*") if (p / ".lock").exists()):
        with open(session / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue                        # a live session
            for spec in session.glob("shim-*/spec.json"):
                Box(spec.parent).stop(graceful=False)
            if runc.available():
                listed = subprocess.run(["runc", "--root", runc.RUNC_ROOT, "list", "-q"],
                                        capture_output=True, text=True).stdout.split()
                for name in listed:
                    if name.startswith("shim-%s-" % session.name):
                        subprocess.run(["runc", "--root", runc.RUNC_ROOT, "delete", "--force", name],
                                       capture_output=True)
            with open("/proc/self/mountinfo") as mountinfo:
                mounts = [line.split()[4] for line in mountinfo if line.split()[4].startswith(str(session))]
            for mount in reversed(mounts):
                subprocess.run(["umount", mount], capture_output=True)
        shutil.rmtree(session, ignore_errors=True)


_serial = itertools.count()


@pytest.fixture
def extra_layers():
    """Layers a test puts on top of the shim layer (override in a test module or use
    `request.param`); none by default."""
    return []


@pytest.fixture
def machine(kind, work_session, image_root, extra_layers):
    """A freshly started container of `kind` (PID 1 = /usr/bin/systemctl), destroyed afterwards."""
    from tests.container import machines, runc
    session, layer = work_session
    layer = [*extra_layers, layer]
    name = "shim-%s-%d" % (session.name, next(_serial))
    work = session / name
    if kind == "runc":
        assert runc.available(), "runc is not installed (tests/container/run installs it)"
        the_machine = machines.RuncMachine(name, [*layer, image_root], work)
    else:
        the_machine = machines.BoxMachine(name, [*layer, image_root], work,
                                          cgroup_mount="unified" if kind == "nsbox-cgroup2" else "tmpfs")
    the_machine.start()
    try:
        yield the_machine
    finally:
        the_machine.destroy()
