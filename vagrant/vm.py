#!/usr/bin/env python3
"""Build and run the two test VMs (devuan, alpine) with plain qemu under TCG.

    vagrant/vm.py build [NAME...]      build what is missing (cached by recipe hash)
    vagrant/vm.py box [NAME...]        also package them as Vagrant boxes (.box)
    vagrant/vm.py up [NAME...]         boot (qemu -accel tcg, user net, ssh on 127.0.0.1)
    vagrant/vm.py install [NAME...]    pip install the checkout into the running machines
    vagrant/vm.py ssh-config           the ssh_config for the running machines
    vagrant/vm.py snapshot NAME        save the running machine's state (qemu savevm)
    vagrant/vm.py restore NAME         back to that state (qemu loadvm), a pristine machine
    vagrant/vm.py down [NAME...]       poweroff, then qemu quit, then SIGKILL of our pid
    vagrant/vm.py status
    vagrant/vm.py path [NAME...]       the image directory (disk.qcow2, vmlinuz, initrd.img)

Images: $SHIM_VM_CACHE (default /var/cache/systemctl-shim/vagrant)/images/NAME-KEY/,
KEY = hash of the recipe files (and of the images an image is built from), so a
recipe change rebuilds exactly that image. Running machines: $SHIM_VM_WORK (default
/var/tmp/systemctl-shim-vagrant)/NAME/: a qcow2 overlay on the cached image, the
qemu pid file, the QMP socket, the serial log.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "recipes"
CHECKOUT = HERE.parent
CACHE = Path(os.environ.get("SHIM_VM_CACHE", "/var/cache/systemctl-shim/vagrant"))
WORK = Path(os.environ.get("SHIM_VM_WORK", "/var/tmp/systemctl-shim-vagrant"))
QEMU = os.environ.get("SHIM_VM_QEMU", "qemu-system-x86_64")
MEMORY = os.environ.get("SHIM_VM_MEMORY", "768")
BOOT_TIMEOUT = int(os.environ.get("SHIM_VM_BOOT_TIMEOUT", "420"))

MACHINES = {
    "devuan": {
        "files": [RECIPES / "devuan.sh", RECIPES / "provision-devuan.sh", RECIPES / "mkimage.sh"],
        "based_on": [],
        "append": "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet",
    },
    "alpine": {
        "files": [RECIPES / "alpine.sh", RECIPES / "alpine-vm-configure.sh",
                  RECIPES / "graft-debian.sh", RECIPES / "mkimage.sh",
                  CHECKOUT / "tests/boxes/recipes/graft-python.sh"],
        "based_on": ["devuan"],
        "append": "root=/dev/vda rootfstype=ext4 rw console=ttyS0 modules=ext4,virtio_blk "
                  "net.ifnames=0 quiet",
    },
}


def log(*args):
    print("vm:", *args, file=sys.stderr, flush=True)


# ---- images -------------------------------------------------------------------------

def ssh_key():
    """The key of all images built here (root and vagrant may log in with it)."""
    key = CACHE / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "systemctl-shim-vm",
                        "-f", str(key)], check=True)
    return key


def recipe_key(name):
    spec = MACHINES[name]
    digest = hashlib.sha256(f"machine={name}\n".encode())
    for path in spec["files"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(b"pubkey\0" + Path(f"{ssh_key()}.pub").read_bytes())
    for base in spec["based_on"]:
        digest.update(f"based_on={base}:{recipe_key(base)}\n".encode())
    return digest.hexdigest()[:16]


def image_dir(name):
    return CACHE / "images" / f"{name}-{recipe_key(name)}"


def ensure_image(name):
    """The image directory of `name`, built first if its recipe changed."""
    out = image_dir(name)
    if (out / ".complete").exists():
        return out
    bases = [ensure_image(base) for base in MACHINES[name]["based_on"]]
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    logfile = CACHE / "logs" / f"{out.name}.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pub = f"{ssh_key()}.pub"
    if name == "devuan":
        cmd = [str(RECIPES / "devuan.sh"), str(partial), str(CACHE / "debs"), pub]
    else:
        cmd = [str(RECIPES / "alpine.sh"), str(partial), str(CACHE / "pypi"),
               str(bases[0] / "rootfs.tar.zst"), pub]
    log(f"building {name} (key {recipe_key(name)}), log: {logfile}")
    start = time.monotonic()
    with open(logfile, "w") as out_log:
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out_log,
                                stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "".join(logfile.read_text(errors="replace").splitlines(True)[-30:])
        raise SystemExit(f"vm: building {name} failed (rc {result.returncode}):\n{tail}")
    seconds = time.monotonic() - start
    (partial / ".complete").write_text(f"built in {seconds:.0f}s\n")
    os.rename(partial, out)
    log(f"built {name} in {seconds:.0f}s")
    for old in out.parent.glob(f"{name}-*"):
        if old != out:
            shutil.rmtree(old, ignore_errors=True)
    return out


def ensure_box(name):
    """A Vagrant box (libvirt provider) of the image: box.img + metadata.json + Vagrantfile.
    The kernel and initrd stay outside (direct kernel boot, see vagrant/Vagrantfile)."""
    img = ensure_image(name)
    box = img / f"{name}.box"
    if box.exists():
        return box
    size = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(img / "disk.qcow2")],
                                     check=True, capture_output=True, text=True).stdout)
    meta = {"provider": "libvirt", "format": "qcow2",
            "virtual_size": -(-size["virtual-size"] // (1 << 30))}
    (img / "metadata.json").write_text(json.dumps(meta) + "\n")
    (img / "Vagrantfile.box").write_text(
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.provider :libvirt do |libvirt|\n'
        '    libvirt.driver = "qemu"\n'
        '  end\n'
        'end\n')
    partial = box.with_suffix(".box.partial")
    with tarfile.open(partial, "w") as tar:
        tar.add(img / "disk.qcow2", arcname="box.img")
        tar.add(img / "metadata.json", arcname="metadata.json")
        tar.add(img / "Vagrantfile.box", arcname="Vagrantfile")
    os.rename(partial, box)
    return box


# ---- running machines ---------------------------------------------------------------

def state_dir(name):
    return WORK / name


def qemu_pid(name):
    """The pid of our qemu for `name`, if it is still that process (its command line
    names our overlay disk)."""
    try:
        pid = int((state_dir(name) / "qemu.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if str(state_dir(name) / "disk.qcow2").encode() in cmdline else None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssh_config_text():
    key = ssh_key()
    parts = []
    for name in MACHINES:
        port_file = state_dir(name) / "ssh-port"
        if not port_file.exists():
            continue
        parts.append(f"""Host {name}
  HostName 127.0.0.1
  Port {port_file.read_text().strip()}
  User root
  IdentityFile {key}
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 10
  ServerAliveInterval 5
  ServerAliveCountMax 3
  ControlMaster auto
  ControlPath {WORK}/cm-%n
  ControlPersist 120
""")
    return "".join(parts)


def write_ssh_config():
    path = WORK / "ssh_config"
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(ssh_config_text())
    return path


def ssh(name, command, timeout=60, check=False, input=None):
    cfg = WORK / "ssh_config"
    return subprocess.run(["ssh", "-F", str(cfg), name, command], input=input,
                          capture_output=True, timeout=timeout, check=check)


def ssh_close(name):
    """End our ssh ControlMaster to `name` (it would hang on a machine that went away)."""
    if (WORK / f"cm-{name}").exists():
        subprocess.run(["ssh", "-F", str(WORK / "ssh_config"), "-O", "exit", name],
                       capture_output=True, timeout=20)


def wait_ssh(name, timeout=BOOT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if qemu_pid(name) is None:
            raise SystemExit(f"vm: qemu of {name} exited; serial log {state_dir(name)}/serial.log")
        try:
            if ssh(name, "cat /proc/sys/kernel/random/boot_id", timeout=30).returncode == 0:
                return
        except subprocess.TimeoutExpired:
            pass
        ssh_close(name)
        time.sleep(2)
    raise SystemExit(f"vm: {name} not reachable over ssh after {timeout}s; "
                     f"serial log {state_dir(name)}/serial.log")


def up(name):
    if qemu_pid(name):
        log(f"{name} is already running")
        return
    img = ensure_image(name)
    state = state_dir(name)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    disk = state / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
                    "-b", str(img / "disk.qcow2"), str(disk)], check=True)
    port = free_port()
    (state / "ssh-port").write_text(f"{port}\n")
    write_ssh_config()
    cmd = [QEMU, "-name", f"shim-{name}", "-accel", "tcg", "-m", MEMORY, "-smp", "1",
           "-kernel", str(img / "vmlinuz"), "-initrd", str(img / "initrd.img"),
           "-append", MACHINES[name]["append"],
           "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",
           "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
           "-device", "virtio-net-pci,netdev=n0",
           "-device", "virtio-rng-pci",
           "-display", "none", "-vga", "none", "-monitor", "none",
           "-serial", f"file:{state / 'serial.log'}",
           "-qmp", f"unix:{state / 'qmp.sock'},server=on,wait=off",
           "-pidfile", str(state / "qemu.pid"), "-daemonize"]
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    log(f"{name}: qemu pid {qemu_pid(name)}, ssh on 127.0.0.1:{port}")
    wait_ssh(name)
    seconds = time.monotonic() - start
    (state / "boot-seconds").write_text(f"{seconds:.1f}\n")
    log(f"{name} up in {seconds:.0f}s")


def qmp(name, *commands, timeout=600):
    """Run QMP commands (dicts) on the machine's monitor socket; returns the replies."""
    replies = []
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(str(state_dir(name) / "qmp.sock"))
        stream = sock.makefile("rw")
        json.loads(stream.readline())                    # greeting
        for command in ({"execute": "qmp_capabilities"},) + commands:
            stream.write(json.dumps(command) + "\n")
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if "event" in reply:
                    continue
                break
            if "error" in reply:
                raise RuntimeError(f"qmp {command}: {reply['error']}")
            replies.append(reply.get("return"))
    return replies[1:]


def hmp(name, line):
    out = qmp(name, {"execute": "human-monitor-command", "arguments": {"command-line": line}})[0]
    if out and out.strip():
        raise RuntimeError(f"qemu {line!r}: {out.strip()}")


def snapshot(name, tag="pristine"):
    """Save the whole running machine (memory, devices, disk) in its overlay."""
    ssh_close(name)
    time.sleep(1)
    start = time.monotonic()
    hmp(name, f"savevm {tag}")
    log(f"{name}: snapshot {tag!r} in {time.monotonic() - start:.1f}s")


def restore(name, tag="pristine"):
    """The machine as it was at snapshot(): processes, files, everything."""
    ssh_close(name)
    start = time.monotonic()
    hmp(name, f"loadvm {tag}")
    # The guest's clock continues from the snapshot's time. It is NOT set from the
    # host's: stepping the wall clock moves /proc/stat's btime, and with it the start
    # time of every process, which then looks younger than its pidfile (the shim
    # then refuses the pidfile as a reused PID, rightly for what it can see).
    wait_ssh(name, timeout=60)
    return time.monotonic() - start


def down(name, timeout=90):
    pid = qemu_pid(name)
    if pid:
        try:
            ssh(name, "(sleep 1; poweroff) >/dev/null 2>&1 </dev/null &", timeout=20)
        except subprocess.TimeoutExpired:
            pass
        ssh_close(name)
        deadline = time.monotonic() + timeout
        while qemu_pid(name) and time.monotonic() < deadline:
            time.sleep(1)
        if qemu_pid(name):
            log(f"{name}: no poweroff after {timeout}s, qemu quit")
            try:
                qmp(name, {"execute": "quit"}, timeout=10)
            except (OSError, RuntimeError, ValueError):
                pass
            time.sleep(3)
        pid = qemu_pid(name)
        if pid:
            log(f"{name}: SIGKILL to qemu pid {pid}")
            os.kill(pid, signal.SIGKILL)
            time.sleep(1)
    else:
        ssh_close(name)
    shutil.rmtree(state_dir(name), ignore_errors=True)
    write_ssh_config()


def wheelhouse():
    """The project's runtime and build requirements as cp311 wheels (the machines run
    Debian's python3.11, grafted into Alpine): tests/boxes/wheelhouse.py, our cache."""
    env = dict(os.environ, SHIM_BOX_CACHE=str(CACHE))
    out = subprocess.run([sys.executable, "-c",
                          "import sys; from tests.boxes import wheelhouse; "
                          "print(wheelhouse.ensure(sys.argv[1], log=lambda *a: None))",
                          str(CHECKOUT)], cwd=CHECKOUT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return Path(out.strip().splitlines()[-1])


INSTALL = """set -e
if [ -e /usr/local/bin/systemctl ]; then
  python3 -m pip uninstall -y -q --break-system-packages systemctl-shim 2>&1 | grep -v 'WARNING: Running pip as' || true
fi
python3 -m pip install -q --no-cache-dir --no-index --find-links /tmp/shim-wheels \\
    --break-system-packages /tmp/shim-src/*.whl 2>&1 | grep -v 'WARNING: Running pip as' || true
cd / && rm -rf /tmp/shim-src /tmp/shim-wheels
systemctl --version | head -n1
"""


def copy_tree(name, source, dest, *excludes):
    tar = subprocess.run(["tar", "-C", str(source), *[f"--exclude={e}" for e in excludes],
                          "-cf", "-", "."], check=True, capture_output=True).stdout
    ssh(name, f"rm -rf {dest} && mkdir -p {dest} && tar -C {dest} -xf -", timeout=300,
        input=tar, check=True)


def project_wheel(wheels):
    """The project as a wheel, built on the host (pip in a TCG guest takes a minute
    to set up a build environment; installing a wheel takes seconds). From the
    committed tree (git archive of SHIM_VM_REV, default HEAD), so that a half-edited
    working tree never ends up in the machines; SHIM_VM_REV=worktree takes the files
    as they are."""
    out = WORK / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    src = WORK / "wheel-src"
    shutil.rmtree(src, ignore_errors=True)
    rev = os.environ.get("SHIM_VM_REV", "HEAD")
    if rev == "worktree":
        shutil.copytree(CHECKOUT, src, ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "*.egg-info", "build", "vagrant", "bench"))
    else:
        src.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(CHECKOUT), "archive", rev], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-C", str(src), "-xf", "-"], input=archive, check=True)
        commit = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short", rev],
                                check=True, capture_output=True, text=True).stdout.strip()
        log(f"installing the project at {rev} ({commit})")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
                    "--find-links", str(wheels), "-w", str(out), str(src)], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(src)
    return out


def install(name):
    """pip install the checkout into the machine, offline, as a user would (from a
    wheel of it, with the wheelhouse for its requirements)."""
    wheels = wheelhouse()
    copy_tree(name, wheels, "/tmp/shim-wheels")
    copy_tree(name, project_wheel(wheels), "/tmp/shim-src")
    result = ssh(name, INSTALL, timeout=600)
    out = (result.stdout + result.stderr).decode(errors="replace")
    if result.returncode != 0 or "systemctl" not in out:
        raise SystemExit(f"vm: installing the project into {name} failed:\n{out}")
    log(f"{name}: installed,", out.strip().splitlines()[-1])


def status():
    for name in MACHINES:
        pid = qemu_pid(name)
        built = (image_dir(name) / ".complete").exists()
        print(f"{name}: image {'built' if built else 'missing'} ({image_dir(name)}), "
              + (f"running (qemu pid {pid})" if pid else "not running"))


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    verb, names = argv[0], argv[1:] or list(MACHINES)
    for name in names if verb != "ssh-config" else []:
        if name not in MACHINES:
            raise SystemExit(f"vm: unknown machine {name!r} (known: {', '.join(MACHINES)})")
    if verb == "build":
        for name in names:
            print(ensure_image(name))
    elif verb == "box":
        for name in names:
            print(ensure_box(name))
    elif verb == "up":
        for name in names:
            up(name)
        print(write_ssh_config())
    elif verb == "install":
        for name in names:
            install(name)
    elif verb == "ssh-config":
        sys.stdout.write(ssh_config_text())
    elif verb == "snapshot":
        for name in names:
            snapshot(name)
    elif verb == "restore":
        for name in names:
            print(f"{name} restored in {restore(name):.1f}s")
    elif verb == "down":
        for name in names:
            down(name)
    elif verb == "path":
        for name in names:
            print(image_dir(name))
    elif verb == "status":
        status()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
