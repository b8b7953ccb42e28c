"""The execution environment of a native unit on each real init system (host-side details in
tests/test_native_execenv.py): the machine's own /run and /var/lib, a real user, and what the
daemon's process really got."""
import pytest

from .helpers import alive, systemctl, wait_until
from .nativeunits import unit_processes, write_unit

pytestmark = pytest.mark.box

OUT = "/var/log/envdemo.out"
UNIT = f"""[Service]
User=nobody
RuntimeDirectory=envdemo
StateDirectory=envdemo
StateDirectoryMode=0700
LimitNOFILE=1000:2000
Nice=3
StandardOutput=append:{OUT}
ExecStartPre=/bin/sh -c 'touch "$RUNTIME_DIRECTORY/pre"'
ExecStart=/bin/sh -c 'echo "up in $RUNTIME_DIRECTORY"; exec sleep 100000'
"""


def owner_mode(host, path):
    result = host.run("stat -c '%%U %%a' %s", path)
    return result.stdout.strip() if result.rc == 0 else None


def test_directories_limits_nice_and_output_of_a_native_daemon(host, machine):
    write_unit(host, "envdemo.service", UNIT)
    started = systemctl(host, "start", "envdemo")
    assert (started.rc, started.stderr) == (0, ""), started.stderr + \
        systemctl(host, "status", "envdemo").stdout
    try:
        def main():
            pids = [pid for pid, args in unit_processes(host, "envdemo").items()
                    if args.startswith("sleep")]
            return pids[0] if len(pids) == 1 and alive(host, pids[0]) else None
        pid = wait_until(main, 10)
        assert pid, systemctl(host, "status", "envdemo").stdout
        assert owner_mode(host, "/run/envdemo") == "nobody 755"
        assert owner_mode(host, "/run/envdemo/pre") == "nobody 644"    # ExecStartPre= ran as nobody
        assert owner_mode(host, "/var/lib/envdemo") == "nobody 700"
        limits = host.run("grep 'Max open files' /proc/%s/limits", str(pid)).stdout.split()
        assert limits[3:5] == ["1000", "2000"], limits
        stat = host.run("cat /proc/%s/stat", str(pid)).stdout
        assert stat.rsplit(")", 1)[1].split()[16] == "3"                 # field 19: nice
        assert wait_until(lambda: "up in /run/envdemo\n" in host.run("cat %s", OUT).stdout, 5)
    finally:
        stopped = systemctl(host, "stop", "envdemo")
    assert stopped.rc == 0, stopped.stderr
    assert owner_mode(host, "/run/envdemo") is None                     # RuntimeDirectory= goes
    assert owner_mode(host, "/var/lib/envdemo") == "nobody 700"          # StateDirectory= stays
    host.run("rm -rf /var/lib/envdemo %s /etc/systemd/system/envdemo.service", OUT)
