"""Where built rootfs tarballs, downloads and the host venv are kept: outside the
checkout, so CI can cache it and a `git clean` does not throw it away."""
import os
from pathlib import Path

DEFAULT_CACHE = "/var/cache/systemctl-shim/boxes"
DEFAULT_WORK = "/var/tmp/systemctl-shim-boxes"


def cache_dir():
    path = Path(os.environ.get("SHIM_BOX_CACHE", DEFAULT_CACHE))
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_base():
    """Extracted rootfs trees, overlay layers and box state live here (not tmpfs:
    overlayfs needs a filesystem that supports its upper-layer xattrs and whiteouts)."""
    path = Path(os.environ.get("SHIM_BOX_WORK", DEFAULT_WORK))
    path.mkdir(parents=True, exist_ok=True)
    return path
