"""Start-up cost guard (bench/cli_bench.py, bench/in-box): what the hot verbs must not import.

`is-active`, `is-enabled` and `show -p X --value` must stay within 2x of `python3 -c pass`, and
docopt's import alone (re, typing, enum) costs more than that; dataclasses pulls in inspect, dis,
ast, tokenize. The shapes scripts use are parsed without docopt (shim/cli.py), the process model
uses tuples and Plain records, and the usage figures (shim/proc/usage.py) are for status/show only.
`re` and `enum` (5-8 ms in the box) stay out too: fnmatch, string, typing, signal, contextlib and
json are imported where they are used (a glob, a unit we hold a record for, a job), the backends'
regular expressions are compiled on first use, and the three every verb needs (the script's
`PIDFILE=` line, /etc/inittab's initdefault, rcN.d link names) are matched by hand; the tests at
the end hold those to the expressions they replace.
"""
import random
import re
import subprocess
import sys

import pytest

from scripts import REPO, base_env

NEVER = ("docopt", "dataclasses", "inspect", "ast", "dis", "psutil", "shim.proc.usage",
         "shim.proc.capture", "shim.proc.killer", "subprocess")
# ... and, for one unit (never started by us; its script has a PIDFILE= line; no glob), nor these.
# list-units still has them: shim.backends.native (unit files: re, string, signal) is not ours.
NEVER_FOR_ONE_UNIT = NEVER + ("re", "enum", "json", "fnmatch", "string", "typing", "signal",
                              "contextlib", "functools", "collections", "tempfile")


CRON = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          cron
# Default-Start:     2 3 4 5
# Default-Stop:
# Short-Description: Regular background program processing daemon
### END INIT INFO
PIDFILE=/var/run/crond.pid   # as Debian's
case "$1" in status) exit 3 ;; esac
"""


def imported(tmp_path, *args):
    init_d = tmp_path / "etc" / "init.d"
    init_d.mkdir(parents=True, exist_ok=True)
    if not (init_d / "cron").exists():
        (init_d / "cron").write_text(CRON)
        (init_d / "cron").chmod(0o755)
        (tmp_path / "etc" / "rc2.d").mkdir(parents=True)
        (tmp_path / "etc" / "rc2.d" / "S01cron").symlink_to("../init.d/cron")
        (tmp_path / "etc" / "inittab").write_text("# runlevel\nid:2:initdefault:\n")
    env = base_env(SYSTEMCTL_SHIM_ROOT=str(tmp_path), PYTHONPATH=REPO)
    # -S: the host's site-packages .pth hooks import re & co. before us; the box has none. Not
    # -m: runpy itself imports contextlib, functools, collections (the installed command has no
    # runpy: bin/systemctl, installed as a plain script, is exactly this).
    r = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c",
                        "import sys; from shim.cli import main; sys.exit(main())"] + list(args), env=env,
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
    found = imported(tmp_path, *args) & set(NEVER if args[0] == "list-units" else NEVER_FOR_ONE_UNIT)
    assert not found, "%s imports %s" % (" ".join(args), ", ".join(sorted(found)))


def test_status_does_not_import_docopt_dataclasses_or_psutil(tmp_path):
    found = imported(tmp_path, "status", "cron") & {"docopt", "dataclasses", "inspect", "psutil"}
    assert not found, found


def test_status_of_a_unit_never_started_needs_no_re_or_enum(tmp_path):
    found = imported(tmp_path, "status", "cron") & {"re", "enum", "json", "typing", "signal"}
    assert not found, found


def test_a_glob_still_works_and_brings_fnmatch(tmp_path):
    assert "fnmatch" in imported(tmp_path, "is-active", "cr*")


# --- the hand-written matchers are the regular expressions they replace ------------------------

def _corpus(atoms, seed, count=40000, longest=9):
    rnd = random.Random(seed)
    return ["".join(rnd.choice(atoms) for _ in range(rnd.randint(0, longest))) for _ in range(count)]


def test_assigned_pidfile_is_the_regex():
    from shim.backends import lsb
    regex = re.compile(lsb.ASSIGNED_PIDFILE)
    atoms = ["PIDFILE=", "PIDFile=", "pidfile=", "PID_FILE=", "pid_file=", "PidFile=", "export ",
             "readonly\t", "local  ", "export", " ", "\t", "/", "/run/x.pid", "#", ";", "'", '"',
             "`", "$", "a", "\n", "\r", "\x1c", "\u2003", "x#y", "/var/run/", "## c", "; echo", "="]
    for line in _corpus(atoms, 1) + ["PIDFILE=/run/x.pid", "  export PIDFILE='/run/a b'",
                                     "PIDFILE=/a#b$c", "PIDFILE=/a#b c", 'pidfile="/run/x" # c']:
        match = regex.match(line)
        assert lsb._assigned_pidfile(line) == (match.group(1) if match else None), repr(line)


def test_pidfile_lines_parse_as_before():
    from shim.backends import lsb
    text = "PIDFILE=/run/a.pid\nstart-stop-daemon --start --pidfile /run/b.pid -x x\n" \
           "  --pidfile=\"/run/c.pid\" PIDFILE=nope\nexport pid_file=/run/d.pid ; x\n"
    assert lsb.parse(text).pidfiles == ["/run/a.pid", "/run/b.pid", "/run/c.pid", "/run/d.pid"]


def test_initdefault_and_rc_links_are_the_regexes():
    from shim.backends import sysv
    initdefault = re.compile(sysv.INITDEFAULT, re.MULTILINE)
    atoms = ["id", ":", "2", "S", "s", "7", "#", "\n", "initdefault", ":initdefault:", " ", "x",
             "5:initdefault:"]
    for text in _corpus(atoms, 2, longest=12):
        match = initdefault.search(text)
        assert sysv._initdefault(text) == (match.group(1) if match else None), repr(text)
    link = re.compile(sysv.LINK)
    atoms = ["S", "K", "0", "1", "9", "\u0663", "\u00b2", "x", "cron", ".sh", "\n", " "]
    for entry in _corpus(atoms, 3, longest=7):
        match = link.match(entry)
        assert sysv._link(entry) == (match.group(1, 3) if match else None), repr(entry)


def test_clean_signals_are_the_signal_modules():
    import signal
    from shim import runtime
    assert runtime.CLEAN_SIGNALS == {signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE}


def test_valid_chars_are_string_modules():
    import string
    from shim import names
    assert names._VALID_CHARS == frozenset(string.ascii_letters + string.digits + ":-_.\\@")
