"""shim/proc/usage.py and the status block's formats (format_bytes, format_timespan)."""
import os
import subprocess
import sys
import time

import pytest

from shim.proc import usage
from shim.render.status import format_bytes, format_timespan, usage_lines


def test_format_bytes_as_systemd():
    assert format_bytes(512) == "512B"
    assert format_bytes(1024) == "1.0K"
    assert format_bytes(545000) == "532.2K"
    assert format_bytes(1258291) == "1.1M"      # systemd truncates through whole KiB: 1228K -> 1.1M
    assert format_bytes(1300000) == "1.2M"
    assert format_bytes(3 * 1024 ** 3) == "3.0G"


def test_format_timespan_at_msec_accuracy():
    assert format_timespan(0) == "0"
    assert format_timespan(12345) == "12ms"
    assert format_timespan(1500000) == "1.500s"
    assert format_timespan(59999000) == "59.999s"
    assert format_timespan(123250000) == "2min 3.250s"
    assert format_timespan(3600 * 10 ** 6 + 1000) == "1h 1ms"


def test_cgroup_files(tmp_path):
    (tmp_path / "pids.current").write_text("3\n")
    (tmp_path / "pids.max").write_text("4915\n")
    (tmp_path / "memory.current").write_text("1258291\n")
    (tmp_path / "cpu.stat").write_text("usage_usec 12345\nuser_usec 10000\nsystem_usec 2345\n")
    u = usage.measure([], cgroup=str(tmp_path))
    assert (u.tasks, u.tasks_limit, u.memory, u.cpu_nsec) == (3, 4915, 1258291, 12345000)
    assert usage_lines(u, []) == ["      Tasks: 3 (limit: 4915)", "     Memory: 1.1M", "        CPU: 12ms"]
    (tmp_path / "pids.max").write_text("max\n")
    assert usage_lines(usage.of_cgroup(str(tmp_path)), [])[0] == "      Tasks: 3"


def test_cgroup_without_memory_and_pids_controllers_falls_back_to_processes(tmp_path):
    (tmp_path / "cpu.stat").write_text("usage_usec 5000\n")
    me = os.getpid()
    start = int(open("/proc/%d/stat" % me).read().rsplit(")", 1)[1].split()[19])
    u = usage.measure([(me, start)], cgroup=str(tmp_path))
    assert u.cpu_nsec == 5000000 and u.tasks >= 1 and u.memory > 1024 * 1024


def test_processes_gone_or_reused_are_not_counted():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        start = int(open("/proc/%d/stat" % child.pid).read().rsplit(")", 1)[1].split()[19])
        assert usage.of_processes([(child.pid, start)]).tasks == 1
        assert usage.of_processes([(child.pid, start + 1)]).tasks is None     # another process now
    finally:
        child.kill()
        child.wait()
    assert usage.of_processes([(child.pid, start)]).source == ""


def test_per_process_figures_agree_with_psutil():
    """psutil as the oracle: the same files read its way (PSS, cpu_times incl. children, threads)."""
    psutil = pytest.importorskip("psutil")
    me = os.getpid()
    start = int(open("/proc/%d/stat" % me).read().rsplit(")", 1)[1].split()[19])
    ours = usage.of_processes([(me, start)])
    process = psutil.Process(me)
    times = process.cpu_times()
    cpu = times.user + times.system + times.children_user + times.children_system
    assert ours.tasks == process.num_threads()
    try:
        theirs = process.memory_full_info().pss
    except psutil.AccessDenied:
        theirs = process.memory_info().rss
    assert abs(ours.memory - theirs) < 4 * 1024 * 1024
    assert abs(ours.cpu_nsec / 1e9 - cpu) < 0.1
