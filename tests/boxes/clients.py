"""Helpers for the client tests (tests/boxes/test_clients_*.py): real tools that
call `systemctl` (Ansible, testinfra, Debian's helpers), run unmodified against
the shim inside the boxes.

* Ansible (ansible-core, pinned) goes into a box from a host-built wheelhouse,
  as an overlay layer stacked on the project's install layer (built once per
  session and flavour, like install.install_layer). The boxes have no network.
* `client_machine` boots a box with that extra layer under the name testinfra's
  `host` uses (nsbox://<flavour>), so `host` and `machine` are that box.
* The Ansible controller for the fleet test lives in a venv in the box cache.
"""
import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from . import install
from .cachedir import cache_dir
from .machine import NsBoxMachine

# 2.17 is the last line whose controller runs on 3.10-3.12 and whose modules run
# on 3.7-3.12: the boxes have Debian bookworm's 3.11, the host venv 3.11 too.
ANSIBLE_CORE = "ansible-core==2.17.14"
# Debian bookworm's CPython 3.11 (glibc 2.36), also grafted into the Alpine box.
BOX_PYTHON = ("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
              "--abi", "abi3", "--abi", "none",
              "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
              "--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64",
              "--platform", "any")

# Ansible refuses to run without a UTF-8 locale (the install box runs with a bare env).
ANSIBLE_INSTALL = """set -e
export LANG=C.UTF-8
python3 -m pip install --no-cache-dir --no-index --find-links /wheels \
    --break-system-packages --root-user-action=ignore {req}
ansible --version
"""

ANSIBLE_ENV = ("ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_LOCALHOST_WARNING=0",
               "ANSIBLE_INVENTORY_UNPARSED_WARNING=0", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
               "ANSIBLE_HOST_KEY_CHECKING=0", "ANSIBLE_RETRY_FILES_ENABLED=0")


def ansible_wheelhouse(log=print):
    dest = cache_dir() / "wheels" / ("ansible-" + ANSIBLE_CORE.split("==")[1])
    if (dest / ".complete").exists():
        return dest
    log(f"downloading {ANSIBLE_CORE} wheels for the boxes into {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest),
                    "--only-binary=:all:", *BOX_PYTHON, ANSIBLE_CORE], check=True)
    (dest / ".complete").write_text(ANSIBLE_CORE + "\n")
    return dest


def ansible_layer(session, flavour, log=print):
    """Overlay layer with ansible-core pip-installed on top of the project's layer."""
    layer = session.layer_dir(f"{flavour}-ansible")
    if layer.exists():
        return layer
    shim = install.install_layer(session, flavour, log=log)
    wheels = ansible_wheelhouse(log=log)
    binds = [(str(wheels), "/wheels", "ro")]
    script = ANSIBLE_INSTALL.format(req=ANSIBLE_CORE)
    if flavour == "alpine":
        # Ansible insists on a UTF-8 locale; the glibc python grafted into Alpine has no
        # locale data: Debian's C.utf8, from the sysv rootfs it was grafted from.
        binds.append((str(session.rootfs("sysv") / "usr/lib/locale/C.utf8"), "/mnt/C.utf8", "ro"))
        script = ("mkdir -p /usr/lib/locale && cp -a /mnt/C.utf8 /usr/lib/locale/C.utf8\n"
                  + script)
    return install.build_layer(session, layer, flavour, script, what=ANSIBLE_CORE,
                               layers=[shim], binds=binds)


class ClientMachine(NsBoxMachine):
    """NsBoxMachine plus extra layers above the project's install layer."""

    def __init__(self, session, flavour, name=None, extra_layers=()):
        self.flavour = flavour
        layers = list(extra_layers) + [install.install_layer(session, flavour)]
        self.box = session.new_box(name or flavour, flavour, layers=layers, keep_upper=True)
        self.boot_seconds = self.box.boot()


# -- running things in a box -------------------------------------------------------

def box_sh(host, script, timeout=120):
    """Run a shell script in the machine with a hard timeout (a hang is a failure,
    never a stuck suite). Returns testinfra's CommandResult; rc 124 on timeout."""
    return host.run("timeout -s KILL %s sh -c %s", str(timeout), script)


def ansible(host, module, args="", timeout=180, extra=""):
    """`ansible localhost -c local -m MODULE -a ARGS` in the machine; returns
    (rc, the result dict for localhost, raw CommandResult)."""
    env = " ".join(ANSIBLE_ENV)
    cmd = (f"env {env} timeout -s KILL {timeout} ansible localhost -c local "
           f"-m {module} {extra}")
    result = host.run(cmd + " -a %s" if args else cmd, *([args] if args else []))
    return result.rc, parse_ansible_json(result.stdout), result


def parse_ansible_json(stdout):
    """The host's result dict from ad-hoc output (`localhost | CHANGED => {...}`), or {}."""
    match = re.search(r"^\S+ \| ([A-Z!]+)(?: \| rc=\d+)? => ", stdout, re.M)
    if not match:
        return {}
    try:
        result = json.JSONDecoder().raw_decode(stdout[match.end():])[0]
    except ValueError:
        return {}
    if match.group(1) in ("FAILED!", "UNREACHABLE!"):
        result.setdefault("failed", True)
    return result


def alive_pidfile(host, path):
    from . import helpers
    pid = helpers.read_pid(host, path)
    return pid if helpers.alive(host, pid) else None


def rc_links(host, name):
    """S/K links of an init script in the SysV runlevel dirs, e.g. ['rc2.d/S01cron', ...]."""
    out = host.run("cd /etc && ls -d rc?.d/[SK]??%s 2>/dev/null", name).stdout
    return sorted(out.split())


def runlevels_of(host, name):
    out = host.run("cd /etc/runlevels && ls -d */%s 2>/dev/null", name).stdout
    return sorted(line.split("/")[0] for line in out.split())


def enabled_natively(host, flavour, name):
    if flavour == "sysv":
        return any(link.startswith("rc2.d/S") for link in rc_links(host, name))
    return bool(runlevels_of(host, name))


# -- the Ansible controller on the host (fleet) ---------------------------------------

def controller_venv(log=print):
    """A venv in the box cache with ansible-core (host side, from PyPI)."""
    path = cache_dir() / "ansible-controller"
    marker = path / ".reqs"
    if marker.exists() and marker.read_text().strip() == ANSIBLE_CORE:
        return path
    log(f"creating the Ansible controller venv {path} ({ANSIBLE_CORE})")
    shutil.rmtree(path, ignore_errors=True)
    venv.create(path, with_pip=True)
    subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    ANSIBLE_CORE], check=True)
    marker.write_text(ANSIBLE_CORE + "\n")
    return path


def checkout():
    return Path(__file__).resolve().parents[2]


# -- Debian's side ----------------------------------------------------------------------

HOOK = "lib/lsb/init-functions.d/40-systemd"


def systemd_deb(log=print):
    """Debian's systemd package (.deb) in the box cache, fetched with apt-get download
    on the host (a Debian 12 host, like the boxes). Only its LSB hook is used."""
    dest = cache_dir() / "debs-extra"
    found = sorted(dest.glob("systemd_*.deb"))
    if found:
        return found[-1]
    dest.mkdir(parents=True, exist_ok=True)
    log(f"fetching Debian's systemd package into {dest} (for its {HOOK})")
    subprocess.run(["apt-get", "download", "-q", "systemd"], cwd=dest, check=True,
                   stdout=subprocess.DEVNULL)
    return sorted(dest.glob("systemd_*.deb"))[-1]


def systemd_hook_text():
    deb = systemd_deb()
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                         stdout=subprocess.PIPE).stdout
    return subprocess.run(["tar", "-xO", "./" + HOOK], input=tar, check=True,
                          stdout=subprocess.PIPE).stdout


def install_systemd_hook(machine):
    """Put Debian's /lib/lsb/init-functions.d/40-systemd into the box, as if the
    systemd package (not systemd-sysv) were installed next to sysvinit."""
    path = machine.box.root_path / HOOK
    path.write_bytes(systemd_hook_text())
    path.chmod(0o644)


def box_debs():
    """The .debs the rootfs builder cached (rootfs.py: <cache>/debs)."""
    return cache_dir() / "debs"


def copy_deb(machine, package, dest_dir="root"):
    """Copy the cached .deb of `package` into the box; returns its path in the box."""
    found = sorted(box_debs().glob(f"{package}_*.deb"))
    assert found, f"no cached .deb of {package} in {box_debs()}"
    target = machine.box.root_path / dest_dir / found[-1].name
    shutil.copyfile(found[-1], target)
    return "/" + dest_dir + "/" + found[-1].name
