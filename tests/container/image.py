"""The Debian 12 image of the container tests: built once with mmdebstrap (recipe.sh), cached as
a tarball keyed by the recipe's hash, extracted once per recipe under the work directory, and a
layer with the checkout's shim and the tests' own units on top (rebuilt every session: it is a
copy, about 50 ms)."""
import fcntl
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.boxes import rootfs as box_rootfs
from tests.boxes import wheelhouse

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parents[1]
RECIPE = HERE / "recipe.sh"
SITE = "usr/local/lib/python3.11/dist-packages"     # on Debian 12's sys.path, empty otherwise


def cache_dir() -> Path:
    path = Path(os.environ.get("SHIM_CONTAINER_CACHE", "/var/cache/systemctl-shim/container"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_dir() -> Path:
    """Not tmpfs: overlayfs needs an upper layer that supports its xattrs and whiteouts."""
    path = Path(os.environ.get("SHIM_CONTAINER_WORK", "/var/tmp/systemctl-shim-container"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def recipe_key() -> str:
    return hashlib.sha256(b"debian12\0" + RECIPE.read_bytes()).hexdigest()[:16]


def tarball() -> Path:
    return cache_dir() / f"debian12-{recipe_key()}.tar.zst"


def ensure(log=print) -> Path:
    """The image tarball, built first if this recipe has none yet (about 25 s with the debs
    cached). A failed build raises with the end of its log."""
    out = tarball()
    if out.exists():
        return out
    with open(cache_dir() / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        log_path = cache_dir() / "logs" / f"{out.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log(f"building the Debian 12 container image (key {recipe_key()}), log: {log_path}")
        with open(log_path, "w") as log_file:
            result = subprocess.run([str(RECIPE), str(out), str(cache_dir() / "debs")],
                                    stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
        if result.returncode != 0 or not out.exists():
            tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-30:])
            raise RuntimeError(f"building the container image failed (rc {result.returncode}):\n{tail}")
        for old in cache_dir().glob("debian12-*.tar.zst"):
            if old != out:
                old.unlink()
    return out


def rootfs(log=print) -> Path:
    """The extracted image: a read-only lower layer shared by every test container."""
    image = ensure(log)
    trees = work_dir() / "rootfs"
    tree = trees / image.name.replace(".tar.zst", "")
    if not tree.exists():
        partial = trees / f"{tree.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        box_rootfs.extract(image, partial)
        partial.rename(tree)
        for stale in trees.glob("debian12-*"):
            if stale != tree and ".partial-" not in stale.name:
                shutil.rmtree(stale, ignore_errors=True)
    return tree


# The tests' own units. Every ExecStop= appends a word to /var/log/shim-stops, on the container's
# disk (its upper layer), so the test reads after the container ended which stops ran.
UNITS = {
    "pinger.service": """\
[Unit]
Description=Restart=always test service
[Service]
ExecStart=/bin/sh -c 'echo pinger up; exec sleep infinity'
ExecStop=/bin/sh -c 'echo pinger >> /var/log/shim-stops'
Restart=always
RestartSec=0.2
[Install]
WantedBy=multi-user.target
""",
    "stamp.service": """\
[Unit]
Description=Oneshot test service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'date +%%s > /run/stamp'
ExecStop=/bin/sh -c 'echo stamp >> /var/log/shim-stops'
[Install]
WantedBy=multi-user.target
""",
    # Forks a short-lived grandchild 20 times a second and never waits for it: orphans.
    "orphans.service": """\
[Unit]
Description=Orphan-leaving test service
[Service]
ExecStart=/bin/sh -c 'echo orphans up; while :; do (sleep 0.01 &); sleep 0.05; done'
ExecStop=/bin/sh -c 'echo orphans >> /var/log/shim-stops'
[Install]
WantedBy=multi-user.target
""",
}
# An init script no unit file shadows, enabled for the default runlevel (rc2.d): it starts at
# boot too, as systemd-sysv-generator would have it.
LEGACY_SCRIPT = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          legacy
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: init script without a unit file
### END INIT INFO
case "$1" in
  start) start-stop-daemon --start --background --make-pidfile --pidfile /run/legacy.pid \\
           --exec /bin/sleep -- 100000 ;;
  stop) start-stop-daemon --stop --pidfile /run/legacy.pid --remove-pidfile --retry 5
        echo legacy >> /var/log/shim-stops ;;
  status) start-stop-daemon --status --pidfile /run/legacy.pid ;;
  restart|force-reload) "$0" stop; "$0" start ;;
  *) echo "Usage: $0 {start|stop|status|restart}" >&2; exit 3 ;;
esac
"""
# Packaged units get a marker too, after their own ExecStop= (ExecStop= lines add up).
STOP_DROPINS = ("nginx", "cron", "rsyslog")


def shim_layer(dest: Path) -> Path:
    """An overlay layer: the checkout's shim, docopt-ng from the project's wheelhouse,
    /usr/bin/systemctl, the test units (enabled), and stop markers for the packaged units."""
    if dest.exists():
        shutil.rmtree(dest)
    site = dest / SITE
    source = CHECKOUT
    revision = os.environ.get("SHIM_CONTAINER_GIT_REV")
    if revision:
        # A commit instead of the working tree (which, shared, may hold someone's half-done edit).
        source = dest.parent / (dest.name + ".src")
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(CHECKOUT), "archive", revision, "shim", "bin/systemctl"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-C", str(source), "-xf", "-"], input=archive, check=True)
    shutil.copytree(source / "shim", site / "shim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = wheelhouse.ensure(CHECKOUT, log=lambda text: None)
    for wheel in sorted(wheels.glob("docopt_ng-*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    (dest / "usr/bin").mkdir(parents=True)
    shutil.copy2(source / "bin/systemctl", dest / "usr/bin/systemctl")
    system = dest / "etc/systemd/system"
    wants = system / "multi-user.target.wants"
    wants.mkdir(parents=True)
    for name, text in UNITS.items():
        (system / name).write_text(text)
        os.symlink(f"../{name}", wants / name)
    (dest / "etc/init.d").mkdir(parents=True)
    (dest / "etc/init.d/legacy").write_text(LEGACY_SCRIPT)
    (dest / "etc/init.d/legacy").chmod(0o755)
    (dest / "etc/rc2.d").mkdir(parents=True)
    os.symlink("../init.d/legacy", dest / "etc/rc2.d/S02legacy")
    for name in STOP_DROPINS:
        dropin = system / f"{name}.service.d"
        dropin.mkdir()
        (dropin / "stop-marker.conf").write_text(
            "[Service]\nExecStop=/bin/sh -c 'echo %s >> /var/log/shim-stops'\n" % name)
    return dest
