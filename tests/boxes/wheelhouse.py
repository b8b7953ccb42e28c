"""Host-built wheelhouse for installing the project into a box without network:
the project's runtime requirements (setup.cfg) and its build requirements
(pyproject.toml), downloaded once per distinct requirement set."""
import configparser
import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path

from .cachedir import cache_dir

# The boxes all run Debian bookworm's CPython 3.11 (grafted into Alpine too).
BOX_PYTHON = ("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
              "--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64")


def requirements(checkout):
    checkout = Path(checkout)
    cfg = configparser.ConfigParser()
    cfg.read(checkout / "setup.cfg")
    runtime = cfg.get("options", "install_requires", fallback="").split("\n")
    build = tomllib.loads((checkout / "pyproject.toml").read_text())
    build_requires = build.get("build-system", {}).get("requires", [])
    return sorted({r.strip() for r in runtime + build_requires if r.strip()})


def ensure(checkout, log=print):
    reqs = requirements(checkout)
    key = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:16]
    dest = cache_dir() / "wheels" / key
    if (dest / ".complete").exists():
        return dest
    log(f"downloading wheelhouse for {', '.join(reqs)} into {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest),
                    "--only-binary=:all:", *BOX_PYTHON, *reqs], check=True)
    (dest / ".complete").write_text("\n".join(reqs) + "\n")
    return dest
