"""is-system-running while PID 1 boots: `starting` until the boot set is up, then `running`."""
import os
import time

import pytest

SLOW = """[Unit]
Description=Slow to start
[Service]
ExecStartPre=/bin/sleep 2
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
"""


@pytest.fixture
def extra_layers(tmp_path):
    system = tmp_path / "slow-layer/etc/systemd/system"
    (system / "multi-user.target.wants").mkdir(parents=True)
    (system / "slowstart.service").write_text(SLOW)
    os.symlink("../slowstart.service", system / "multi-user.target.wants/slowstart.service")
    return [tmp_path / "slow-layer"]


def test_starting_then_running(machine):
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = machine.sh("test -e /run/systemctl-shim/init.json && systemctl is-system-running")
        if result.stdout:
            seen.append((result.stdout.strip(), result.returncode))
            if result.stdout == "running\n":
                break
        time.sleep(0.1)
    assert ("starting", 1) in seen, seen
    assert seen[-1] == ("running", 0), seen
    assert seen.index(("starting", 1)) < len(seen) - 1
    assert machine.systemctl("is-active", "slowstart").stdout == "active\n"
