"""Install the project into a flavour the way a user would (pip, offline), once per
session: the result is an overlay layer that every test box stacks on its rootfs."""
import shutil
from pathlib import Path

from . import wheelhouse
from .boxlib import BoxError

CHECKOUT = Path(__file__).resolve().parents[2]

# pip builds in the source tree, and /src is read-only: build from a copy.
INSTALL_SCRIPT = """set -e
mkdir -p /tmp/src
cd /src && tar --exclude=./.git -cf - . | tar -C /tmp/src -xf -
python3 -m pip install --no-cache-dir --no-index --find-links /wheels \
    --break-system-packages /tmp/src
command -v systemctl
"""


def install_layer(session, flavour, checkout=CHECKOUT, log=print):
    """Overlay layer (a directory) with the project pip-installed into `flavour`."""
    layer = session.layer_dir(f"{flavour}-shim")
    if layer.exists():
        return layer
    wheels = wheelhouse.ensure(checkout, log=log)
    return build_layer(session, layer, flavour, INSTALL_SCRIPT, what="the project",
                       binds=[(str(checkout), "/src", "ro"), (str(wheels), "/wheels", "ro")])


def build_layer(session, layer, flavour, script, *, what, layers=(), binds=()):
    """Run `script` in a throwaway box of `flavour` (over `layers`) and keep what it wrote
    (the box's upper directory) as the overlay layer `layer`."""
    box = session.new_box(f"install-{layer.name}", flavour, layers=list(layers), keep_upper=True,
                          binds=binds)
    status = box.run_to_completion(["/bin/sh", "-c", script])
    if status != 0:
        raise BoxError(f"installing {what} into {flavour} failed (rc {status}):\n"
                       + box.console_log.read_text(errors="replace")[-4000:])
    layer.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(box.upper_dir), str(layer))
    box.destroy()
    return layer
