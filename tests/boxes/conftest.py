"""pytest wiring for the box suite (tests/boxes).

* Registers the testinfra backend "nsbox" (namespace boxes, see nsbackend.py).
* Box tests only run when asked for: `-m box` (or any -m naming "box"), or paths
  inside tests/boxes on the command line. A plain `pytest` of the host suite
  deselects them instead of booting machines.
* Without --hosts, the hosts are nsbox://sysv,nsbox://openrc,nsbox://alpine
  (SHIM_BOX_FLAVOURS=sysv,openrc selects). A flavour that cannot be built fails
  its tests loudly; it is never skipped.
* `machine` gives a test its machine (flavour, reboot()); for nsbox hosts that is
  a freshly booted box per test. The session ends with a leftover check.
"""
import os
from pathlib import Path

import pytest

BOXES_DIR = Path(__file__).resolve().parent
PACKAGE = __name__.rpartition(".")[0]   # "tests.boxes" or "boxes", as pytest imported us


def box_tests_requested(config):
    if "box" in (config.getoption("markexpr", "") or ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == BOXES_DIR or BOXES_DIR in path.parents:
            return True
    return False


def selected_flavours():
    from . import flavours
    wanted = os.environ.get("SHIM_BOX_FLAVOURS")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(flavours.FLAVOURS)
    for name in names:
        flavours.get(name)   # unknown names are an error, not an empty run
    return names


def pytest_configure(config):
    config.addinivalue_line("markers", "box: runs against a booted box through testinfra")
    try:
        import testinfra.backend
    except ImportError:
        return   # the host suite may run without testinfra; box tests then error loudly
    testinfra.backend.BACKENDS["nsbox"] = f"{PACKAGE}.nsbackend.NsBoxBackend"
    if box_tests_requested(config) and not config.option.hosts:
        config.option.hosts = ",".join(f"nsbox://{name}" for name in selected_flavours())


def pytest_collection_modifyitems(config, items):
    if box_tests_requested(config):
        return
    mine = [item for item in items if BOXES_DIR in Path(str(item.fspath)).parents]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]


@pytest.fixture(scope="session")
def box_session():
    """The session directory for namespace boxes; checks the host afterwards."""
    from . import leftovers
    from .session import Session
    before = leftovers.host_snapshot()
    session = Session.create()
    previous = os.environ.get("SHIM_BOX_SESSION")
    os.environ["SHIM_BOX_SESSION"] = str(session.path)
    try:
        yield session
    finally:
        session.close()
        if previous is None:
            os.environ.pop("SHIM_BOX_SESSION", None)
        else:
            os.environ["SHIM_BOX_SESSION"] = previous
    # Scoped to this session: other sessions may run boxes on the same host.
    problems = leftovers.find(session) + leftovers.host_changes(before, leftovers.host_snapshot())
    assert not problems, "boxes left things behind or changed the host:\n" + "\n".join(problems)


@pytest.fixture
def machine(request, host):
    from . import machine as machines
    connection = host.backend.get_connection_type()
    if connection == "nsbox":
        the_machine = machines.NsBoxMachine(request.getfixturevalue("box_session"),
                                            host.backend.name)
    elif connection == "local":
        the_machine = machines.LocalMachine(host)
    else:
        the_machine = machines.SshMachine(host)
    yield the_machine
    the_machine.close()


@pytest.fixture
def flavour(machine):
    return machine.flavour
