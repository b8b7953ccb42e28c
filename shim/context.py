"""The one object a verb receives: where things are on this machine, and what the user asked for.

Nothing in the package reads global paths or argv itself; tests build a `Context` pointing at a
temporary root and a temporary state directory, and run real processes against it.
"""

import os
import sys
from dataclasses import dataclass, field
from typing import Optional, TextIO

DEFAULT_STATE_DIR = "/run/systemctl-shim"
# Init scripts get a PATH of our own: callers such as Ansible's service module pass none.
SCRIPT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Options:
    """The command-line options verbs look at (already normalised by cli.py)."""

    all: bool = False
    types: tuple = ()
    states: tuple = ()
    properties: tuple = ()
    value: bool = False
    quiet: bool = False
    no_legend: bool = False
    plain: bool = False
    full: bool = False
    no_block: bool = False
    now: bool = False
    force: bool = False
    runtime: bool = False
    job_mode: str = "replace"
    signal: Optional[str] = None
    kill_whom: Optional[str] = None
    kill_value: Optional[str] = None
    lines: int = 10
    preset_mode: str = "full"


@dataclass
class Context:
    root: str = "/"                      # --root: where init scripts, rc links and masks are read
    proc: str = "/proc"
    state_dir: str = ""                  # defaults to <root>/run/systemctl-shim
    cgroup_base: Optional[str] = None    # a writable cgroup2 directory for per-unit cgroups, or None
    stop_timeout: float = 90.0           # seconds before SIGKILL after a stop (systemd: TimeoutStopSec)
    start_timeout: float = 300.0         # systemd-sysv-generator sets TimeoutSec=5min
    options: Options = field(default_factory=Options)
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    env: dict = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self):
        if not self.state_dir:
            self.state_dir = self.path(DEFAULT_STATE_DIR)

    @property
    def offline(self) -> bool:
        """True with --root: we only look at files there, like systemctl's client-side mode."""
        return os.path.realpath(self.root) != "/"

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
