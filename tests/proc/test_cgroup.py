import os
import signal
import subprocess

import pytest

from shim.proc import cgroup
from proctest import wait_for


@pytest.fixture
def scratch(pidns, cgroup_mount):
    if cgroup_mount is None:
        pytest.skip("no writable cgroup2")
    path = os.path.join(cgroup_mount, f"shim-test-cg-{os.getpid()}")
    yield path
    cgroup.remove(path)
    assert not os.path.exists(path)


def test_mountinfo_parsing(tmp_path):
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime - cgroup2 cgroup2 rw\n"
        "42 31 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n")
    assert cgroup.cgroup2_mounts(str(tmp_path)) == ["/sys/fs/cgroup/uni fied"]
    assert cgroup.writable_cgroup2(str(tmp_path / "nothing")) is None


def test_lifecycle(scratch):
    sub = os.path.join(scratch, "sub")
    assert cgroup.create(sub)
    process = subprocess.Popen(["sh", "-c", 'echo 0 > "$1/cgroup.procs" && exec sleep 100', "sh", sub])
    try:
        wait_for(lambda: process.pid in cgroup.procs(scratch))
        assert cgroup.populated(scratch)
        assert cgroup.cgroup_of(process.pid).endswith("/sub")
        assert cgroup.freeze(scratch, True)
        assert cgroup.freeze(scratch, False)
        cgroup.remove(scratch)                     # populated: left alone
        assert os.path.isdir(sub)
        assert cgroup.kill(scratch)
        process.wait(timeout=5)
        assert process.returncode == -signal.SIGKILL
        wait_for(lambda: not cgroup.populated(scratch))
        assert cgroup.procs(scratch) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    cgroup.remove(scratch)
    assert not os.path.exists(scratch)
    cgroup.remove(scratch)                          # gone: no error
    assert cgroup.procs(scratch) == [] and not cgroup.populated(scratch)
    assert not cgroup.kill(scratch) and not cgroup.freeze(scratch, True)
    assert cgroup.cgroup_of(99999999) is None
