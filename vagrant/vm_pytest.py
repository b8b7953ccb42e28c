"""pytest plugin for vagrant/run (`-p vm_pytest`, with vagrant/ on sys.path).

A namespace box is booted afresh for every test; a VM is shared by all tests, and
the shim tests change it (cron killed, disabled, sshd's listener killed). So every
test on a VM starts from the same saved state: `vm.py snapshot` was taken once the
machine had booted and the project was installed, and this fixture restores it
(qemu loadvm: memory, processes, disk) before each test. A test's own reboots are
real reboots of that machine.
"""
import os

import pytest

import vm

RESTORES = []


@pytest.fixture(autouse=True)
def _pristine_vm(request):
    if "_testinfra_host" in request.fixturenames:
        host = request.getfixturevalue("_testinfra_host")
        name = getattr(getattr(host.backend, "host", None), "name", None)
        if name in vm.MACHINES and os.environ.get("SHIM_VM_NO_RESTORE") != "1":
            RESTORES.append(vm.restore(name))
    yield


def pytest_terminal_summary(terminalreporter):
    if RESTORES:
        terminalreporter.write_line(
            f"vm: {len(RESTORES)} restores of the pristine snapshot, "
            f"{sum(RESTORES) / len(RESTORES):.1f}s each on average")
