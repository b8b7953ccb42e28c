"""systemctl as PID 1 of a Debian 12 image (issue 11), in runc and in a namespace box.

The image has Debian's cron, rsyslog and nginx (unit files and init scripts as the packages ship
them, enabled by their postinst) and three units of the test's own (tests/container/image.py):
pinger (Restart=always), stamp (oneshot, RemainAfterExit) and orphans (forks grandchildren it
never waits for). Every ExecStop= leaves a word in /var/log/shim-stops.
"""
import re
import time

import pytest

SERVICES = ("cron.service", "nginx.service", "rsyslog.service", "pinger.service", "orphans.service")
EVERY_STOP = {"cron", "nginx", "rsyslog", "pinger", "orphans", "stamp", "legacy"}
DOCKER_GRACE = 10.0


def _wait(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def _main_pid(machine, unit) -> int:
    return int(machine.systemctl("show", "-p", "MainPID", "--value", unit).stdout.strip() or 0)


def _running_main_pid(machine, unit) -> int:
    pid = _wait(lambda: _main_pid(machine, unit))
    assert pid > 1, machine.systemctl("status", unit)      # never `kill 0` or `kill 1`
    return pid


def _stops(machine) -> list:
    path = machine.upper_file("/var/log/shim-stops")
    return path.read_text().split() if path.exists() else []


def test_boot_starts_the_enabled_services(machine):
    seconds = machine.wait_running()
    listing = machine.systemctl("list-units", "--type=service", "--no-legend", "--plain").stdout
    rows = {line.split()[0]: line.split()[1:4] for line in listing.splitlines() if line.strip()}
    for unit in SERVICES:
        assert rows.get(unit) == ["loaded", "active", "running"], (unit, listing, machine.console_text())
    assert machine.upper_file("/var/log/shim-stops").exists() is False
    ps = machine.sh("ps -eo pid,args").stdout
    for daemon in ("/usr/sbin/cron -f", "nginx: master process", "/usr/sbin/rsyslogd -n"):
        assert daemon in ps, ps
    assert machine.systemctl("is-system-running").stdout == "running\n"
    console = machine.console_text()
    assert re.search(r"Startup finished in [0-9.]+s\.", console), console
    print("%s: boot to running %.3fs (PID 1: %s)" % (machine.kind, seconds,
          re.search(r"Startup finished in ([0-9.]+s)", console).group(1)))


def test_unit_files_win_and_enabled_init_scripts_start(machine):
    """cron and nginx ship both: their unit files are what runs (as under systemd); `legacy` has
    only an init script, enabled in rc2.d: it starts at boot too."""
    machine.wait_running()
    for unit in ("cron", "nginx"):
        path = machine.systemctl("show", "-p", "FragmentPath", "--value", unit).stdout.strip()
        assert path == "/lib/systemd/system/%s.service" % unit, machine.systemctl("status", unit)
    assert machine.systemctl("is-active", "legacy").stdout == "active\n", machine.systemctl("status", "legacy")
    assert machine.sh("start-stop-daemon --status --pidfile /run/legacy.pid").returncode == 0


def test_what_ignores_sigterm_is_killed_and_pid1_still_exits_0(machine):
    """A process outside every unit (started by exec, re-parented to PID 1) that ignores SIGTERM:
    SIGKILL after the grace, never a hang, and PID 1 exits 0."""
    machine.wait_running()
    machine.sh("setsid sh -c 'trap \"\" TERM; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &")
    status, seconds = _stop_and_measure(machine, lambda: machine.signal("TERM"))
    console = machine.console_text()
    assert status == 0, console
    assert "Sending SIGKILL" in console, console
    assert seconds < DOCKER_GRACE, console


def test_oneshot_remains_active(machine):
    machine.wait_running()
    result = machine.systemctl("show", "-p", "ActiveState,SubState,Result", "stamp")
    assert sorted(result.stdout.split()) == ["ActiveState=active", "Result=success", "SubState=exited"], result
    assert machine.sh("cat /run/stamp").stdout.strip().isdigit()


def test_service_output_reaches_the_console_and_status(machine):
    """docker logs: every unit's lines, prefixed with its name, on PID 1's stdout."""
    machine.wait_running()
    assert _wait(lambda: re.search(r"^pinger\.service\[\d+\]: pinger up$", machine.console_text(), re.M)), \
        machine.console_text()
    assert "pinger up" in machine.systemctl("status", "pinger").stdout


def test_zombies_do_not_accumulate(machine):
    machine.wait_running()
    # Orphans of a process outside every unit (runc exec's / nsenter's shell) come to PID 1.
    machine.sh("for i in $(seq 40); do (sleep 0.05 &) ; done")
    time.sleep(1.5)                         # orphans.service leaves about 20 grandchildren a second

    def zombies():
        ps = machine.sh("ps -eo pid,ppid,stat,args").stdout
        return {tuple(line.split()[:2]) for line in ps.splitlines()[1:] if line.split()[2].startswith("Z")}
    # A zombie may exist for an instant (its parent reaps it on its next wait); one that is still
    # there a moment later was never reaped. PID 1 and keepers must leave none at all.
    first = zombies()
    time.sleep(0.5)
    lasting = first & zombies()
    assert not lasting, lasting
    assert not [z for z in first if z[1] == "1"], first
    assert machine.systemctl("is-active", "orphans").stdout == "active\n"


def test_exec_systemctl_commands(machine):
    machine.wait_running()
    status = machine.systemctl("status", "nginx")
    assert status.returncode == 0 and "Active: active (running)" in status.stdout, status
    assert machine.systemctl("stop", "cron").returncode == 0
    assert machine.systemctl("is-active", "cron").stdout == "inactive\n"
    assert "/usr/sbin/cron" not in machine.sh("ps -eo args").stdout
    assert machine.systemctl("start", "cron").returncode == 0
    assert machine.systemctl("is-active", "cron").stdout == "active\n"
    old = _running_main_pid(machine, "nginx")
    assert machine.systemctl("restart", "nginx").returncode == 0
    assert _main_pid(machine, "nginx") not in (0, old)
    assert machine.systemctl("kill", "rsyslog").returncode == 0
    assert _wait(lambda: machine.systemctl("is-active", "rsyslog").stdout != "active\n")
    assert machine.systemctl("daemon-reload").returncode == 0
    assert machine.systemctl("disable", "--now", "orphans").returncode == 0
    assert machine.systemctl("is-active", "orphans").stdout == "inactive\n"
    assert machine.systemctl("enable", "--now", "orphans").returncode == 0
    assert machine.systemctl("is-active", "orphans").stdout == "active\n"


def test_many_execs_at_once(machine):
    machine.wait_running()
    # Four restarts: a fifth within 10 s would hit StartLimitBurst=5 (systemd counts manual starts).
    result = machine.sh("for i in 1 2 3 4; do systemctl restart pinger & systemctl status cron >/dev/null & "
                        "systemctl list-units >/dev/null & done; wait; systemctl is-active pinger cron")
    assert result.stdout.split() == ["active", "active"], result
    assert "Job for" not in result.stderr, result


def test_restart_always_service_comes_back(machine):
    machine.wait_running()
    first = _running_main_pid(machine, "pinger")
    machine.sh("kill -KILL %d" % first)
    assert _wait(lambda: _main_pid(machine, "pinger") not in (0, first), timeout=10), machine.console_text()
    assert machine.systemctl("is-active", "pinger").stdout == "active\n"


def test_pid1_restarts_a_service_whose_keeper_died(machine):
    """Its keeper SIGKILLed, the main process is PID 1's child: PID 1 sees it end and runs the
    after-exit handling, which applies Restart=always."""
    machine.wait_running()
    first = _running_main_pid(machine, "pinger")
    keeper = int(machine.sh("ps -o ppid= -p %d" % first).stdout.strip())
    assert keeper != 1
    machine.sh("kill -KILL %d; sleep 0.2; kill -TERM %d" % (keeper, first))
    assert _wait(lambda: _main_pid(machine, "pinger") not in (0, first), timeout=10), machine.console_text()
    assert machine.systemctl("is-active", "pinger").stdout == "active\n"


def test_degraded_when_a_unit_failed(machine):
    machine.wait_running()
    machine.sh("cat > /etc/systemd/system/broken.service <<'EOF'\n[Service]\nExecStart=/bin/false\n"
               "Type=oneshot\nEOF")
    assert machine.systemctl("start", "broken").returncode != 0
    result = machine.systemctl("is-system-running")
    assert (result.stdout, result.returncode) == ("degraded\n", 1)


def _stop_and_measure(machine, how):
    machine.wait_running()
    began = time.monotonic()
    how()
    status = machine.wait(DOCKER_GRACE + 20)
    return status, time.monotonic() - began


def test_sigterm_stops_every_unit_and_exits_0_within_docker_grace(machine):
    status, seconds = _stop_and_measure(machine, lambda: machine.signal("TERM"))
    console = machine.console_text()
    assert status == 0, console
    assert set(_stops(machine)) == EVERY_STOP, console
    assert seconds < DOCKER_GRACE, console
    assert "Received SIGTERM" in console
    print("%s: SIGTERM to exit %.3fs" % (machine.kind, seconds))


@pytest.mark.parametrize("signal_name", ["RTMIN+3", "RTMIN+4"])
def test_halt_and_poweroff_signals(machine, signal_name):
    status, seconds = _stop_and_measure(machine, lambda: machine.signal(signal_name))
    assert status == 0, machine.console_text()
    assert set(_stops(machine)) == EVERY_STOP


def test_systemctl_exit_code_from_inside(machine):
    status, _ = _stop_and_measure(machine, lambda: machine.systemctl("exit", "42"))
    assert status == 42, machine.console_text()
    assert set(_stops(machine)) == EVERY_STOP


def test_systemctl_poweroff_from_inside(machine):
    status, _ = _stop_and_measure(machine, lambda: machine.systemctl("poweroff"))
    assert status == 0, machine.console_text()
    assert set(_stops(machine)) == EVERY_STOP


def test_sigint_is_ctrl_alt_del_a_reboot(machine):
    status, _ = _stop_and_measure(machine, lambda: machine.signal("INT"))
    assert status == 129, machine.console_text()
    assert set(_stops(machine)) == EVERY_STOP


def test_systemctl_reboot_from_inside(machine):
    status, _ = _stop_and_measure(machine, lambda: machine.systemctl("reboot"))
    assert status == 129, machine.console_text()
    assert set(_stops(machine)) == EVERY_STOP


def test_immediate_poweroff_skips_the_stop_jobs(machine):
    """SIGRTMIN+14, systemd's immediate poweroff: no ExecStop=, SIGTERM/SIGKILL to everything."""
    status, seconds = _stop_and_measure(machine, lambda: machine.signal("RTMIN+14"))
    assert status == 0, machine.console_text()
    assert _stops(machine) == []
    assert seconds < DOCKER_GRACE


def test_eight_sigints_within_2s_reboot_at_once(machine):
    """systemd: ctrl-alt-del more than 7 times within 2 s reboots immediately."""
    def burst():
        machine.sh("mkdir -p /etc/systemd/system/pinger.service.d && printf '[Service]\\nExecStop=/bin/sleep 3\\n'"
                   " > /etc/systemd/system/pinger.service.d/slow.conf")
        for _ in range(8):
            machine.signal("INT")
            time.sleep(0.1)             # a pending SIGINT absorbs the next one: space them out
    status, seconds = _stop_and_measure(machine, burst)
    assert status == 129, machine.console_text()
    assert "more than 7 times within 2s" in machine.console_text()
    assert seconds < 3 + 3, machine.console_text()      # the slow ExecStop= was cut short


def test_unhandled_signal_is_logged_not_lost(machine):
    machine.wait_running()
    machine.signal("USR1")
    assert _wait(lambda: "Got unhandled signal <SIGUSR1>" in machine.console_text()), machine.console_text()
    assert machine.systemctl("is-system-running").stdout == "running\n"


def test_is_system_running_says_stopping_while_units_stop(machine):
    machine.wait_running()
    machine.sh("mkdir -p /etc/systemd/system/pinger.service.d && printf '[Service]\\nExecStop=/bin/sleep 2\\n'"
               " > /etc/systemd/system/pinger.service.d/slow.conf")
    machine.signal("TERM")
    assert _wait(lambda: machine.systemctl("is-system-running").stdout == "stopping\n", timeout=5)
    assert machine.wait(DOCKER_GRACE) == 0


def test_pid1_memory(machine):
    """PID 1 stays small: it imports no engine (jobs run in children)."""
    machine.wait_running()
    rollup = machine.sh("cat /proc/1/smaps_rollup").stdout
    values = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(Rss|Pss):\s+(\d+) kB", rollup, re.M)}
    print("%s: PID 1 Rss %d kB, Pss %d kB" % (machine.kind, values["Rss"], values["Pss"]))
    assert values["Pss"] < 16 * 1024, rollup
