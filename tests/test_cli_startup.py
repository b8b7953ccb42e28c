"""Start-up cost guard (bench/cli_bench.py, bench/in-box): what the hot verbs must not import.

`is-active`, `is-enabled` and `show -p X --value` must stay within 2x of `python3 -c pass`, and
docopt's import alone (re, typing, enum) costs more than that; dataclasses pulls in inspect, dis,
ast, tokenize. The shapes scripts use are parsed without docopt (shim/cli.py), the process model
uses tuples and Plain records, and the usage figures (shim/proc/usage.py) are for status/show only.
"""
import subprocess
import sys

import pytest

from scripts import REPO, base_env

NEVER = ("docopt", "dataclasses", "inspect", "ast", "dis", "psutil", "shim.proc.usage",
         "shim.proc.capture", "shim.proc.killer", "subprocess")


def imported(tmp_path, *args):
    (tmp_path / "etc" / "init.d").mkdir(parents=True, exist_ok=True)
    env = base_env(SYSTEMCTL_SHIM_ROOT=str(tmp_path), PYTHONPATH=REPO)
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "shim"] + list(args), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    names = set()
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "shim.cli" in names, r.stderr[-2000:]
    return names


@pytest.mark.parametrize("args", [
    ("is-active", "cron"), ("is-active", "-q", "cron"), ("is-enabled", "cron"),
    ("is-failed", "cron"), ("show", "-p", "MainPID", "--value", "cron"),
    ("show", "cron", "--property=ActiveState"), ("list-units", "--all"),
])
def test_hot_verbs_import_none_of_the_heavy_modules(tmp_path, args):
    found = imported(tmp_path, *args) & set(NEVER)
    assert not found, "%s imports %s" % (" ".join(args), ", ".join(sorted(found)))


def test_status_does_not_import_docopt_dataclasses_or_psutil(tmp_path):
    found = imported(tmp_path, "status", "cron") & {"docopt", "dataclasses", "inspect", "psutil"}
    assert not found, found
