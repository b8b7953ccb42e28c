import pytest

from shim.proc import cgroup as cgroup_fs
from proctest import Lab, in_private_pidns

MATRIX_KEY = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[MATRIX_KEY] = []


@pytest.fixture
def pidns():
    """Every test that starts or signals processes needs the private PID namespace."""
    if not in_private_pidns():
        pytest.skip("not in a private PID namespace: run under "
                    "unshare --pid --fork --mount-proc --kill-child python3 tests/pidns.py -- ...")


@pytest.fixture
def cgroup_mount():
    mount = cgroup_fs.writable_cgroup2()
    # the hybrid layout mounts cgroup2 at /sys/fs/cgroup/unified; prefer it when it is writable
    if mount is None:
        return None
    return mount


@pytest.fixture
def lab(pidns, tmp_path, cgroup_mount):
    world = Lab(str(tmp_path), cgroup_mount)
    try:
        yield world
    finally:
        world.cleanup()


@pytest.fixture
def matrix_results(request):
    return request.config.stash[MATRIX_KEY]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = config.stash.get(MATRIX_KEY, [])
    if not rows:
        return
    tr = terminalreporter
    tr.section("escape matrix: what membership catches")
    header = f"{'case':<22} {'mode':<9} {'truth':>5} {'caught':>6} {'missed':>6} {'extra':>5} {'bystanders':<10} note"
    tr.write_line(header)
    for row in sorted(rows, key=lambda r: (r["case"], r["mode"])):
        tr.write_line(f"{row['case']:<22} {row['mode']:<9} {row['truth']:>5} {row['caught']:>6} "
                      f"{row['missed']:>6} {row['extra']:>5} {row['bystanders']:<10} {row.get('note', '')}")
