"""Helpers for the native-unit box tests (tests/boxes/test_native_*.py): the boot hook, unit files
written into a box, and real Debian packages that ship only a unit file.

The packages (nftables: oneshot + RemainAfterExit; rsyslog: Type=notify) are fetched once on the
host with `apt-get download` (a Debian 12 host, like the boxes), together with the dependencies
the boxes' rootfs lacks (apt's own resolver, simulated against the rootfs's dpkg status), into
<box cache>/debs-native; a test installs them into its box with `dpkg -i` under a policy-rc.d
that forbids starts, as mmdebstrap does, so that only the shim ever starts them.
"""
import shutil
import subprocess

from .cachedir import cache_dir
from .clients import box_sh

PACKAGES = ("nftables", "rsyslog")
HOOK = "systemctl-shim-units"
POLICY_RC_D = "/usr/sbin/policy-rc.d"


def native_debs(session, log=print):
    """The .debs of PACKAGES and their missing dependencies, downloaded once; a list of paths."""
    dest = cache_dir() / "debs-native"
    marker = dest / ".complete"
    if marker.exists():
        names = marker.read_text().split()
        debs = [next(iter(sorted(dest.glob(f"{name}_*.deb"))), None) for name in names]
        if names and all(debs):
            return debs
    dest.mkdir(parents=True, exist_ok=True)
    status = session.rootfs("sysv") / "var/lib/dpkg/status"
    plan = subprocess.run(["apt-get", "-s", "-o", f"Dir::State::status={status}",
                           "--no-install-recommends", "install", *PACKAGES],
                          check=True, stdout=subprocess.PIPE, text=True).stdout
    names = [line.split()[1] for line in plan.splitlines() if line.startswith("Inst ")]
    log(f"fetching {' '.join(names)} into {dest}")
    subprocess.run(["apt-get", "download", "-q", *names], cwd=dest, check=True,
                   stdout=subprocess.DEVNULL)
    marker.write_text("\n".join(names) + "\n")
    return [sorted(dest.glob(f"{name}_*.deb"))[-1] for name in names]


def install_debs(host, machine, session):
    """dpkg -i the cached packages in the box, with starts forbidden (policy-rc.d exit 101)."""
    inbox = machine.box.root_path / "root" / "native-debs"
    inbox.mkdir(parents=True, exist_ok=True)
    for deb in native_debs(session):
        shutil.copyfile(deb, inbox / deb.name)
    result = box_sh(host, f"printf '#!/bin/sh\\nexit 101\\n' > {POLICY_RC_D} && "
                          f"chmod 755 {POLICY_RC_D} && DEBIAN_FRONTEND=noninteractive "
                          f"dpkg -i /root/native-debs/*.deb </dev/null; rc=$?; "
                          f"rm -f {POLICY_RC_D}; exit $rc", timeout=300)
    assert result.rc == 0, f"dpkg -i failed: {result.stdout[-2000:]}{result.stderr[-2000:]}"


def shim_install(host, *args):
    """`systemctl-shim install` in the machine: launchers and the boot hook."""
    result = host.run("systemctl-shim install " + " ".join(args))
    assert result.rc == 0, result.stdout + result.stderr
    return result


def write_unit(host, name, text, directory="/etc/systemd/system"):
    result = host.run("mkdir -p %s && printf '%%s' %s > %s/%s", directory, text, directory, name)
    assert result.rc == 0, result.stderr


# A native daemon every flavour has: sleep, and an ExecStop that leaves a trace on the disk
# (the box's upper layer survives a reboot) before it stops the main process.
DEMO_STOPPED = "/root/demo-stopped"
DEMO_UNIT = f"""[Unit]
Description=Demo native daemon

[Service]
ExecStart=/bin/sleep 100000
ExecStop=/bin/sh -c 'echo "stopped $MAINPID" >> {DEMO_STOPPED}; kill $MAINPID'

[Install]
WantedBy=multi-user.target
"""


def show(host, unit, *props):
    out = host.run("systemctl show %s -p %s", unit, ",".join(props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def main_pid(host, unit):
    return int(show(host, unit, "MainPID").get("MainPID") or 0)


FIND_INVOCATION = """import os, sys
marker = ("INVOCATION_ID=" + sys.argv[1]).encode()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        env = open("/proc/%s/environ" % pid, "rb").read().split(b"\\0")
        args = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\\0", b" ").strip()
    except OSError:
        continue
    if marker in env:
        print(pid, args.decode())
"""


def unit_processes(host, unit):
    """{pid: command line} of the processes carrying the unit's INVOCATION_ID (what systemd puts
    in every process of a unit; found without asking the shim for MainPID)."""
    invocation = host.run("systemctl show %s -p InvocationID --value", unit).stdout.strip()
    if not invocation:
        return {}
    out = host.run("python3 -c %s %s", FIND_INVOCATION, invocation).stdout
    return {int(pid): args for pid, _, args in (line.partition(" ") for line in out.splitlines())}


def cmdline(host, pid):
    result = host.run("tr '\\0' ' ' < /proc/%s/cmdline", str(pid))
    return result.stdout.strip() if result.rc == 0 else ""
