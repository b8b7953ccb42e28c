#!/usr/bin/env python3
"""Latency of `systemctl is-active|status|show X` against bare Python start-up and the init
script's own `X status`.

    python3 bench/cli_bench.py [-n 30] [--no-cron] [--installed]
    sudo bench/in-box -n 21          # the same inside a booted SysV box (the numbers that count)

Sets up a temporary root with a real init script, starts its daemon (a `sleep` with a pidfile)
through the shim, then times, interleaved round-robin so drift hits every command alike:

* `python3 -c pass` (the same interpreter: the floor for anything written in Python),
* `python3 -I -S -c pass` (no site, no environment: the interpreter alone; on a development host
  whose site-packages run `.pth` hooks, `python3 -c pass` can cost 60 ms and flatter every ratio),
* `/etc/init.d/X status` (what `service X status` costs),
* `systemctl is-active|is-enabled|show -p MainPID --value|status X` and `list-units --all`, run as
  the installed console script (if one for this interpreter exists) and as `python3 -m shim`.

With --installed the shim is the pip-installed one (no PYTHONPATH to the checkout; how
bench/in-box runs it). Prints the medians in ms and each as a ratio to the three baselines.
If /etc/init.d/cron exists and we are root inside a private PID namespace (tests/run), the same
is measured on the real cron.
The goal: `is-active`, `is-enabled`, `show -p X --value` within 2x of `python3 -c pass` in a clean
box, `status` and `list-units` within 3x.

Recorded in the SysV box (`sudo bench/in-box --rev REV -n 21`, temp-root daemon, medians in ms;
x = ratio to `python3 -c pass` / to `python3 -I -S -c pass`; a shared 2-core host, so expect
+-10% between runs):

    verb (console script)      874e68b (before)         adfe8f7 (after)
    python3 -c pass            12.4                     13.7
    python3 -I -S -c pass       9.1                     10.6
    is-active                  59.5  4.81x / 6.51x      40.2  2.94x / 3.78x
    is-enabled                 55.2  4.46x / 6.04x      41.1  3.01x / 3.86x
    show -p MainPID --value    56.1  4.54x / 6.14x      42.5  3.11x / 3.99x
    status                     57.3  4.63x / 6.27x      43.0  3.15x / 4.05x
    list-units --all           60.6  4.90x / 6.63x      40.2  2.94x / 3.78x

At 848c53a (`sudo bench/in-box -n 21`, the installed `systemctl`, one run per column):

    verb                       temp-root daemon we started   Debian's cron, started at boot
    python3 -c pass             9.7                          10.2
    python3 -I -S -c pass       7.3                           8.2
    is-active                  15.4  1.59x / 2.11x           16.6  1.63x / 2.04x
    is-enabled                 14.4  1.49x / 1.98x           17.3  1.70x / 2.12x
    show -p MainPID --value    16.6  1.72x / 2.28x           19.7  1.94x / 2.42x
    status                     16.4  1.70x / 2.26x           16.5  1.62x / 2.02x
    list-units --all           26.3  2.71x / 3.61x           35.9  3.53x / 4.40x

Left: list-units in the real box parses the ~100 unit files Debian's packages ship.

The unit-file case (`--only-unit-files`, bench/unittree.py: 300 of Debian's unit files cloned,
30 drop-ins, 5 running, one init script; the installed `systemctl`, medians in ms, x python3 -c
pass; `sudo bench/in-box --rev REV -n 21 --only-unit-files`, one quiet run each), before the
parse cache (58ae1fe) and after it (feef627):

    verb                       58ae1fe (before)     feef627 (after)
    python3 -c pass              8.2                  8.1
    list-units                 111.8  13.7x          46.4  5.7x
    list-units --all           113.8  14.0x          49.0  6.1x
    list-unit-files             98.1  12.0x          31.8  3.9x
    is-active (native)          25.0   3.1x          15.9  2.0x
    is-active (script)          13.2   1.6x          13.2  1.6x
    status (native)             24.7   3.0x          16.2  2.0x
    show -p MainPID (native)    24.3   3.0x          15.5  1.9x

In the real box (Debian's own unit files and init scripts) list-units --all went from 3.53x to
2.64x (20.9 ms). What is left of list-units with 300 files: about a third is loading (scan,
cache lookups, ~40 us a unit), two thirds the live state of every unit (runtime.Inspector:
membership, OpenRC state, masks, cgroup mounts probed per unit); `--profile "list-units"` shows
it. Skipping membership for units with nothing recorded, probing the cgroup2 mounts once and not
realpath()ing absent mask paths (runtime.py/manager.py, measured as a what-if) gave 38.4 ms
(4.8x). `is-active` of a native-only unit in the real box (e2scrub_reap.service, 18.8 ms) pays
for the LSB Provides: scan of every init script (which imports re), not for its unit file:
`--profile-real "is-active e2scrub_reap.service"`.

Gone from the hot path: docopt (+re, typing, enum: 11 ms in the box) for the common shapes,
dataclasses (+inspect, dis, ast, tokenize: 14 ms) from shim/proc. What is left is imported by
modules outside shim/cli.py and shim/proc (see tests/test_cli_startup.py for the guard).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable

SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          benchd
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: benchmark daemon
### END INIT INFO
PIDFILE={pidfile}
case "$1" in
  start) sleep 100000 </dev/null >/dev/null 2>&1 & echo $! > "$PIDFILE" ;;
  stop) [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE" ;;
  status) if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
            echo "benchd is running"; exit 0; fi
          echo "benchd is not running"; exit 3 ;;
  *) echo "Usage: $0 {{start|stop|status}}" >&2; exit 3 ;;
esac
exit 0
"""


INSTALLED = False   # --installed: measure the pip-installed shim, not the checkout


def shim_env(**extra):
    env = dict(os.environ, SYSTEMCTL_SHIM_CGROUP="none", LANG="C.UTF-8", **extra)
    if not INSTALLED:
        env["PYTHONPATH"] = REPO
    return env


def console_script():
    """The `systemctl` console script installed for *this* interpreter (pip install -e .)."""
    candidate = os.path.join(os.path.dirname(PY), "systemctl")
    if not os.path.exists(candidate) and INSTALLED:
        candidate = "/usr/local/bin/systemctl"
    try:
        with open(candidate, "rb") as handle:
            head = handle.read(200)
    except OSError:
        return None
    return candidate if head.startswith(b"#!") and b"python" in head else None


def run_once(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(commands, env, runs):
    """{label: [seconds...]}, interleaved: one run of each command per round."""
    times = {label: [] for label in commands}
    for argv in commands.values():                # warm the page cache once
        run_once(argv, env)
    for _ in range(runs):
        for label, argv in commands.items():
            times[label].append(run_once(argv, env))
    return times


BARE = "python3 -c pass"
ISOLATED = "python3 -I -S -c pass"
GOALS = {"is-active": 2, "is-enabled": 2, "show -p MainPID --value": 2, "status": 3,
         "list-units --all": 3}


def table(title, times, base_script):
    med = {label: statistics.median(values) * 1000 for label, values in times.items()}
    py, iso, sc = med[BARE], med[ISOLATED], med[base_script]
    width = max(len(label) for label in med)
    print("\n" + title)
    print("%-*s  %9s  %8s  %8s  %8s  %8s" % (width, "command", "median ms", "stdev", "x python",
                                             "x -I -S", "x script"))
    for label, value in med.items():
        stdev = statistics.pstdev(times[label]) * 1000
        print("%-*s  %9.1f  %8.1f  %8.2f  %8.2f  %8.2f" % (width, label, value, stdev, value / py,
                                                          value / iso, value / sc))
    print("goals (x python3 -c pass):")
    for verb, goal in GOALS.items():
        for how in ("systemctl %s (console script)", "python3 -m shim %s"):
            label = how % verb
            if label in med:
                ratio = med[label] / py
                print("  %-*s %5.2fx  goal <= %dx  %s" % (width, label, ratio, goal,
                                                        "ok" if ratio <= goal else "MISSED"))
    return med


def shim_commands(unit, root_args, script_status):
    commands = {BARE: [PY, "-c", "pass"], ISOLATED: [PY, "-I", "-S", "-c", "pass"],
                "init script status": script_status}
    installed = console_script()
    verbs = {"is-active": ["is-active", unit], "is-enabled": ["is-enabled", unit],
             "show -p MainPID --value": ["show", "-p", "MainPID", "--value", unit],
             "status": ["status", unit], "list-units --all": ["list-units", "--all"]}
    for verb, args in verbs.items():
        if installed:
            commands["systemctl %s (console script)" % verb] = [installed] + root_args + args
        commands["python3 -m shim %s" % verb] = [PY, "-m", "shim"] + root_args + args
    return commands


def bench_temp_root(runs):
    root = tempfile.mkdtemp(prefix="shim-bench-")
    env = shim_env(SYSTEMCTL_SHIM_ROOT=root)
    shim = [PY, "-m", "shim"]
    try:
        os.makedirs(os.path.join(root, "etc", "init.d"))
        pidfile = os.path.join(root, "benchd.pid")
        script = os.path.join(root, "etc", "init.d", "benchd")
        with open(script, "w") as handle:
            handle.write(SCRIPT.format(pidfile=pidfile))
        os.chmod(script, 0o755)
        subprocess.run(shim + ["start", "benchd"], env=env, check=True)
        check = subprocess.run(shim + ["is-active", "benchd"], env=env, stdout=subprocess.PIPE)
        if check.stdout != b"active\n":
            sys.exit("bench: the daemon did not come up: %r" % check.stdout)
        times = measure(shim_commands("benchd", [], [script, "status"]), env, runs)
        return table("temp root, real daemon with a pidfile (%d runs each, interleaved)" % runs,
                     times, "init script status")
    finally:
        subprocess.run(shim + ["stop", "benchd"], env=env)
        shutil.rmtree(root, ignore_errors=True)


UNIT_FILE_VERBS = {
    "list-units": ["list-units"],
    "list-units --all": ["list-units", "--all"],
    "list-unit-files": ["list-unit-files"],
    "is-active (native)": ["is-active", "running-1.service"],
    "is-active (script)": ["is-active", "benchd"],
    "status (native)": ["status", "running-1.service"],
    "show -p MainPID --value (native)": ["show", "-p", "MainPID", "--value", "running-1.service"],
}
UNIT_FILE_GOALS = {"list-units": 3, "list-units --all": 3, "list-unit-files": 3,
                   "is-active (native)": 2, "is-active (script)": 2, "status (native)": 3,
                   "show -p MainPID --value (native)": 2}


def bench_unit_files(runs, count):
    """A root with `count` unit files (bench/unittree.py: Debian's own, cloned, drop-ins, masks,
    aliases, enable links), five of them running, beside one init script."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import unittree
    root = tempfile.mkdtemp(prefix="shim-bench-units-")
    os.chmod(root, 0o755)    # as / is: mkdtemp's 0700 would make no unit world-readable (uncached)
    env = shim_env(SYSTEMCTL_SHIM_ROOT=root)
    shim = [PY, "-m", "shim"]
    info = {"running": []}
    try:
        info = unittree.build(root, count=count, running=5)
        os.makedirs(os.path.join(root, "etc", "init.d"))
        script = os.path.join(root, "etc", "init.d", "benchd")
        with open(script, "w") as handle:
            handle.write(SCRIPT.format(pidfile=os.path.join(root, "benchd.pid")))
        os.chmod(script, 0o755)
        subprocess.run(shim + ["start", "benchd"] + info["running"], env=env, check=True)
        time.sleep(2.2)          # the parse cache skips files changed in the last 2 s (racy)
        installed = console_script()
        commands = {BARE: [PY, "-c", "pass"], ISOLATED: [PY, "-I", "-S", "-c", "pass"]}
        for verb, args in UNIT_FILE_VERBS.items():
            if installed:
                commands["systemctl %s (console script)" % verb] = [installed] + args
            commands["python3 -m shim %s" % verb] = shim + args
        if PROFILE:
            profile(env, PROFILE)
        times = measure(commands, env, runs)
        med = {label: statistics.median(values) * 1000 for label, values in times.items()}
        py, iso = med[BARE], med[ISOLATED]
        width = max(len(label) for label in med)
        print("\n%d unit files (%d drop-ins), 5 running + 1 init script (%d runs each, "
              "interleaved)" % (len(info["units"]), info["dropins"], runs))
        print("%-*s  %9s  %8s  %8s  %8s" % (width, "command", "median ms", "stdev", "x python",
                                            "x -I -S"))
        for label, value in med.items():
            print("%-*s  %9.1f  %8.1f  %8.2f  %8.2f" % (width, label, value,
                                                       statistics.pstdev(times[label]) * 1000,
                                                       value / py, value / iso))
        print("goals (x python3 -c pass):")
        for verb, goal in UNIT_FILE_GOALS.items():
            for how in ("systemctl %s (console script)", "python3 -m shim %s"):
                label = how % verb
                if label in med:
                    ratio = med[label] / py
                    print("  %-*s %5.2fx  goal <= %dx  %s" % (width, label, ratio, goal,
                                                            "ok" if ratio <= goal else "MISSED"))
        return med
    finally:
        subprocess.run(shim + ["stop", "benchd"] + info["running"], env=env)
        shutil.rmtree(root, ignore_errors=True)


def profile(env, verb_line):
    """Where one command's time goes, in this environment (the box): cProfile's top functions
    by own time and by cumulative time, plus -X importtime's slowest imports."""
    argv = verb_line.split()
    script = ("import cProfile, pstats, sys; from shim.cli import main; sys.argv = ['systemctl'] + %r; "
              "p = cProfile.Profile(); p.enable()\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
              "p.disable(); sys.stdout = sys.__stderr__; s = pstats.Stats(p, stream=sys.stderr); "
              "s.sort_stats('tottime').print_stats(25); s.sort_stats('cumtime').print_stats(40)" % argv)
    print("\nprofile of systemctl %s (after one run: caches warm):" % verb_line, flush=True)
    subprocess.run([PY, "-m", "shim"] + argv, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-c", script], env=env, stdout=subprocess.DEVNULL)
    imports = subprocess.run([PY, "-X", "importtime", "-c",
                              "import sys; from shim.cli import main; sys.argv = ['systemctl'] + %r; "
                              "main()" % argv], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True).stderr
    rows = [line for line in imports.splitlines() if line.startswith("import time:")]
    rows.sort(key=lambda line: -int(line.split("|")[1]) if line.split("|")[1].strip().isdigit()
              else 0)
    print("slowest imports (cumulative us):\n" + "\n".join(rows[:15]), flush=True)


PROFILE = ""        # --profile "list-units --all": print where that command's time goes


def in_private_namespace():
    """tests/run's PID namespace, or a box (tests/boxes, bench/in-box): nothing of the host's
    own can be started or stopped from here."""
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            if b"pidns.py" in handle.read():
                return True
        return os.path.exists("/run/box-booted")
    except OSError:
        return False


def bench_cron(runs):
    if not os.path.exists("/etc/init.d/cron"):
        print("\n/etc/init.d/cron: absent, skipped")
        return None
    if os.geteuid() != 0:
        print("\n/etc/init.d/cron: needs root, skipped")
        return None
    env = shim_env()
    shim = [PY, "-m", "shim"]
    was_active = subprocess.run(shim + ["is-active", "-q", "cron"], env=env).returncode == 0
    if not was_active and not in_private_namespace():
        print("\n/etc/init.d/cron: not running, and we start daemons only inside tests/run's "
              "private namespace; skipped")
        return None
    try:
        if not was_active:
            subprocess.run(shim + ["start", "cron"], env=env, check=True)
        commands = shim_commands("cron", [], ["/etc/init.d/cron", "status"])
        native = "e2scrub_reap.service"         # Debian's, no init script: a unit file only
        if os.path.exists("/lib/systemd/system/" + native) and console_script():
            commands["systemctl is-active %s (console script)" % native] = \
                [console_script(), "is-active", native]
        times = measure(commands, env, runs)
        return table("/etc/init.d/cron (%d runs each, interleaved)" % runs, times,
                     "init script status")
    finally:
        if not was_active:
            subprocess.run(shim + ["stop", "cron"], env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=30)
    parser.add_argument("--no-cron", action="store_true")
    parser.add_argument("--unit-files", type=int, default=300, metavar="N",
                        help="the unit-file case with N unit files (0: skip it)")
    parser.add_argument("--only-unit-files", action="store_true",
                        help="run the unit-file case alone")
    parser.add_argument("--profile", default="", metavar="VERB",
                        help='profile one command in the unit-file case, e.g. "list-units --all"')
    parser.add_argument("--profile-real", default="", metavar="VERB",
                        help="profile one command against this machine's own units, and stop")
    parser.add_argument("--installed", action="store_true",
                        help="measure the pip-installed shim (no PYTHONPATH to this checkout)")
    args = parser.parse_args()
    global INSTALLED, PROFILE
    INSTALLED, PROFILE = args.installed, args.profile
    print("interpreter: %s (%s)" % (PY, sys.version.split()[0]))
    if INSTALLED:
        where = subprocess.run([PY, "-c", "import shim; print(shim.__file__)"], cwd="/",
                               stdout=subprocess.PIPE, text=True).stdout.strip()
        print("shim: %s (installed)" % (where or "not importable"))
    if not console_script():
        print("console script: not installed for this interpreter (pip install -e .); "
              "measuring python3 -m shim only")
    if args.profile_real:
        profile(shim_env(), args.profile_real)
        return 0
    if args.unit_files:
        bench_unit_files(args.runs, args.unit_files)
        if args.only_unit_files:
            return 0
    med = bench_temp_root(args.runs)
    if not args.no_cron:
        bench_cron(args.runs)
    ratio = med["python3 -m shim is-active"] / med[BARE]
    print("\nis-active / bare python (python3 -m shim, temp root): %.2fx (goal: <= 2x)" % ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
