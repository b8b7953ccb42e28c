"""The one object a verb receives: where things are on this machine, and what the user asked for.

Nothing in the package reads global paths or argv itself; tests build a `Context` pointing at a
temporary root and a temporary state directory, and run real processes against it.
"""

import os
import sys
from shim.errors import ShimError
from shim.plain import Plain

DEFAULT_STATE_DIR = "/run/systemctl-shim"
# Init scripts get a PATH of our own: callers such as Ansible's service module pass none.
SCRIPT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class OfflineError(ShimError):
    """Something tried to look at the running machine while operating on an image (--root)."""


class Options(Plain):
    """The command-line options verbs look at (already normalised by cli.py)."""

    all = False
    types = ()
    states = ()
    properties = ()
    value = False
    quiet = False
    no_legend = False
    plain = False
    full = False
    no_block = False
    now = False
    force = False
    runtime = False
    job_mode = "replace"
    signal = None            # -s as typed (parsed by the kill verb)
    kill_whom = None
    kill_value = None
    lines = 10
    preset_mode = "full"
    reverse = False             # list-dependencies --reverse / --after / --before
    after = False
    before = False


class Context(Plain):
    root = "/"                   # where init scripts, rc links and masks are read
    offline = False              # --root: an image, not a running machine (no processes, no /run)
    proc_root = "/proc"          # read through `proc`, which refuses with --root
    state_dir = ""               # defaults to <root>/run/systemctl-shim
    stop_timeout = 90.0          # seconds before SIGKILL after a stop (systemd: TimeoutStopSec)
    start_timeout = 300.0        # systemd-sysv-generator sets TimeoutSec=5min
    options = None
    out = None
    err = None
    env = None
    _factories = {"options": Options, "out": lambda: sys.stdout, "err": lambda: sys.stderr,
                  "env": lambda: dict(os.environ)}

    def __init__(self, *args, **values):
        super().__init__(*args, **values)
        if not self.state_dir:
            self.state_dir = self.path(DEFAULT_STATE_DIR)
        self.foreign_root = os.path.realpath(self.root) != "/"

    # `foreign_root`: the files are not this machine's own (--root, or SYSTEMCTL_SHIM_ROOT for a
    # test tree): links are edited by hand rather than with the machine's update-rc.d or
    # rc-update, and paths are shown relative to the root. `offline` (--root only) additionally
    # means there is no running machine behind those files at all.

    @property
    def proc(self) -> str:
        """/proc of the machine we run on. With --root there is no such machine: the CLI refuses
        online verbs first, and this tripwire turns any path that still reaches for processes into
        an error instead of reading (or later signalling) a host process on the image's behalf."""
        if self.offline:
            raise OfflineError("processes are not looked at with --root=")
        return self.proc_root

    def path(self, absolute: str) -> str:
        """A machine path (/etc/init.d/cron) as seen under --root."""
        if self.root in ("", "/"):
            return absolute
        return os.path.join(self.root, absolute.lstrip("/"))

    @property
    def utf8(self) -> bool:
        """systemd's is_locale_utf8(): glyphs (● ├─ →) unless the locale says otherwise.

        Like systemd, no locale variable at all counts as UTF-8; LANG=C (or any non-UTF-8
        locale) gives the ASCII forms; SYSTEMD_UTF8 overrides both.
        """
        forced = self.env.get("SYSTEMD_UTF8")
        if forced is not None:
            return forced.lower() in ("1", "yes", "true", "on")
        env = self.env
        if not env.get("LC_ALL") and env.get("LC_CTYPE") in ("C.UTF-8", "C.utf8", "UTF-8") \
                and env.get("LANG") in ("C", "POSIX"):
            # PEP 538: Python itself sets LC_CTYPE=C.UTF-8 when the locale is C, so LANG=C
            # reaches us as LANG=C + LC_CTYPE=C.UTF-8. systemctl, which nothing coerced, says ASCII.
            return False
        for var in ("LC_ALL", "LC_CTYPE", "LANG"):
            value = env.get(var)
            if value:
                return "utf-8" in value.lower() or "utf8" in value.lower()
        return True

    def script_env(self) -> dict:
        """The clean environment `service` gives init scripts, plus the redirect guards."""
        keep = {k: v for k, v in self.env.items()
                if k in ("TERM", "LANG", "LANGUAGE") or k.startswith("LC_")}
        keep["PATH"] = SCRIPT_PATH
        # Debian's /lib/lsb/init-functions.d/40-systemd would hand the script back to systemctl,
        # i.e. to us, forever. Both spellings: the old one is still honoured by older hooks.
        keep["SYSTEMCTL_SKIP_REDIRECT"] = "1"
        keep["_SYSTEMCTL_SKIP_REDIRECT"] = "1"
        return keep

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")


def machine_context(env: dict, **values) -> Context:
    """The running machine's Context from the environment alone (SYSTEMCTL_SHIM_ROOT,
    SYSTEMCTL_SHIM_STATE_DIR, SYSTEMCTL_SHIM_STOP_TIMEOUT), for the programs the engine starts
    on its own (the keeper's after-exit handling): no command line, never --root."""
    ctx = Context(root=env.get("SYSTEMCTL_SHIM_ROOT") or "/", env=dict(env),
                  state_dir=env.get("SYSTEMCTL_SHIM_STATE_DIR", ""), **values)
    try:
        ctx.stop_timeout = float(env.get("SYSTEMCTL_SHIM_STOP_TIMEOUT") or ctx.stop_timeout)
    except ValueError:
        pass
    return ctx
