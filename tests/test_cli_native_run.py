"""Native units' run-time behaviour as systemd 252 has it (reference/unit-files.md §8, §13, §15),
through the real CLI with real processes: Type=notify over the unit's own notify socket,
what happens when the main process ends (Result, ExecStopPost, RemainAfterExit), Restart= and
the start rate limit done by the unit's keeper, KillMode= and TimeoutStopSec= on stop."""

import os
import sys
import time

from scripts import gone, wait_for
from test_cli_native import main_pid, unit

PY = sys.executable
# A notify daemon in a few lines: READY=1 (and STATUS=) over $NOTIFY_SOCKET, as sd_notify does.
NOTIFIER = r"""
import os, socket, sys, time
def notify(text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(os.environ["NOTIFY_SOCKET"])
    s.send(text.encode())
    s.close()
mode = sys.argv[1]
if mode == "ready":
    time.sleep(float(sys.argv[2]))
    notify("STATUS=Ready and waiting\nREADY=1")
elif mode == "never":
    pass
elif mode == "extend":
    notify("EXTEND_TIMEOUT_USEC=5000000")
    time.sleep(2.5)
    notify("READY=1")
elif mode == "exit":
    sys.exit(3)
elif mode == "child":
    if os.fork() == 0:
        notify("READY=1")
        os._exit(0)
time.sleep(1000)
"""


def notifier(root):
    path = os.path.join(root.path, "notifier.py")
    with open(path, "w") as handle:
        handle.write(NOTIFIER)
    return path


def log_of(root, name):
    return root.run("status", "-n", "50", name).out


def test_notify_start_waits_for_ready_and_shows_status(root):
    script = notifier(root)
    unit(root, "n.service", "[Unit]\nDescription=notify\n[Service]\nType=notify\n"
         "ExecStart=%s %s ready 1.0\n" % (PY, script))
    began = time.monotonic()
    r = root.run("start", "n")
    took = time.monotonic() - began
    assert (r.rc, r.err) == (0, ""), str(r) + log_of(root, "n")
    assert took >= 1.0, took                       # returned only after READY=1
    status = root.run("status", "n").out
    assert "Active: active (running)" in status and 'Status: "Ready and waiting"' in status, status
    show = root.run("show", "-p", "StatusText,NotifyAccess,Type", "n").out.splitlines()
    assert show == ["Type=notify", "NotifyAccess=main", "StatusText=Ready and waiting"]
    pid = main_pid(root, "n")
    assert pid and "NOTIFY_SOCKET" in open("/proc/%d/environ" % pid).read()
    assert root.run("stop", "n").rc == 0 and wait_for(lambda: gone(pid))


def test_notify_never_ready_times_out(root):
    script = notifier(root)
    unit(root, "nt.service", "[Service]\nType=notify\nTimeoutStartSec=1\n"
         "ExecStart=%s %s never\n" % (PY, script))
    began = time.monotonic()
    r = root.run("start", "nt")
    assert r.rc == 1 and time.monotonic() - began < 10
    assert r.err.startswith("Job for nt.service failed because a timeout was exceeded."), r
    assert root.run("is-failed", "nt").out.strip() == "failed"
    assert "Result=timeout" in root.run("show", "-p", "Result", "nt").out
    assert root.run("show", "-P", "MainPID", "nt").out.strip() == "0"


def test_notify_extend_timeout_and_exit_before_ready(root):
    script = notifier(root)
    unit(root, "ne.service", "[Service]\nType=notify\nTimeoutStartSec=1\n"
         "ExecStart=%s %s extend\n" % (PY, script))
    r = root.run("start", "ne")
    assert r.rc == 0, r                               # EXTEND_TIMEOUT_USEC= kept it alive
    root.run("stop", "ne")
    unit(root, "nx.service", "[Service]\nType=notify\nExecStart=%s %s exit\n" % (PY, script))
    r = root.run("start", "nx")
    assert r.rc == 1 and "the control process exited with error code" in r.err, r
    show = root.run("show", "-p", "Result,ExecMainStatus,ExecMainCode", "nx").out.splitlines()
    assert show == ["Result=exit-code", "ExecMainCode=1", "ExecMainStatus=3"], show


def test_notify_access_main_refuses_a_child(root):
    script = notifier(root)
    unit(root, "nc.service", "[Service]\nType=notify\nTimeoutStartSec=1\n"
         "ExecStart=%s %s child\n" % (PY, script))
    r = root.run("start", "nc")
    assert r.rc == 1 and "timeout" in r.err, r
    assert "but reception only permitted for main PID" in log_of(root, "nc")
    unit(root, "na.service", "[Service]\nType=notify\nNotifyAccess=all\nTimeoutStartSec=3\n"
         "ExecStart=%s %s child\n" % (PY, script))
    assert root.run("start", "na").rc == 0
    root.run("stop", "na")


def test_main_exit_finishes_the_run_with_stop_post(root):
    marker = os.path.join(root.path, "post")
    unit(root, "once.service", "[Service]\nExecStart=/bin/sh -c 'sleep 0.3; exit 4'\n"
         "ExecStopPost=/bin/sh -c 'echo $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS > %s'\n" % marker)
    assert root.run("start", "once").rc == 0
    assert wait_for(lambda: os.path.exists(marker) and open(marker).read().strip(), timeout=10)
    assert open(marker).read().split() == ["exit-code", "exited", "4"]
    assert wait_for(lambda: root.run("is-failed", "once").out.strip() == "failed")
    status = root.run("status", "once").out
    assert "Active: failed (Result: exit-code)" in status, status
    assert "code=exited, status=4" in status, status
    assert "Main process exited, code=exited, status=4" in status, status


def test_clean_exit_is_inactive_and_remain_after_exit_active(root):
    unit(root, "ok.service", "[Service]\nExecStart=/bin/sh -c 'sleep 0.2'\n")
    unit(root, "stay.service", "[Service]\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'sleep 0.2'\n")
    assert root.run("start", "ok", "stay").rc == 0
    time.sleep(1.0)
    assert wait_for(lambda: root.run("is-active", "ok").out.strip() == "inactive")
    assert root.run("is-failed", "ok").rc == 1
    assert root.run("is-active", "stay").out.strip() == "active"
    assert "Active: active (exited)" in root.run("status", "stay").out


def test_restart_on_failure_then_start_limit(root):
    count = os.path.join(root.path, "count")
    unit(root, "flaky.service", "[Unit]\nStartLimitBurst=3\nStartLimitIntervalSec=30\n"
         "[Service]\nRestart=on-failure\nRestartSec=200ms\n"
         "ExecStart=/bin/sh -c 'echo run >> %s; sleep 0.1; exit 1'\n" % count)
    assert root.run("start", "flaky").rc == 0
    assert wait_for(lambda: root.run("is-failed", "flaky").out.strip() == "failed"
                    and root.run("show", "-P", "NRestarts", "flaky").out.strip() == "3", timeout=20)
    time.sleep(0.5)
    assert open(count).read().split() == ["run"] * 3
    log = log_of(root, "flaky")
    assert "Scheduled restart job, restart counter is at 2." in log
    assert "Start request repeated too quickly." in log
    assert root.run("show", "-P", "Result", "flaky").out.strip() == "exit-code"   # not start-limit-hit
    r = root.run("start", "flaky")      # refused, reported by the last run's result [measured]
    assert r.rc == 1 and "the control process exited with error code" in r.err, r
    assert open(count).read().split() == ["run"] * 3
    assert root.run("reset-failed", "flaky").rc == 0


def test_restart_always_comes_back_after_kill_and_stop_cancels(root):
    unit(root, "always.service", "[Service]\nRestart=always\nRestartSec=300ms\n"
         "ExecStart=/bin/sleep 1000\n")
    assert root.run("start", "always").rc == 0
    first = main_pid(root, "always")
    assert root.run("kill", "-s", "KILL", "always").rc == 0
    assert wait_for(lambda: main_pid(root, "always") not in (0, first), timeout=10)
    assert root.run("show", "-P", "NRestarts", "always").out.strip() == "1"
    second = main_pid(root, "always")
    assert root.run("stop", "always").rc == 0
    assert wait_for(lambda: gone(second))
    time.sleep(0.8)
    assert root.run("is-active", "always").out.strip() == "inactive"          # not restarted after stop


def test_restart_prevent_and_on_abnormal(root):
    unit(root, "prev.service", "[Service]\nRestart=always\nRestartSec=100ms\n"
         "RestartPreventExitStatus=3\nExecStart=/bin/sh -c 'sleep 0.2; exit 3'\n")
    unit(root, "abn.service", "[Service]\nRestart=on-abnormal\nRestartSec=100ms\n"
         "ExecStart=/bin/sleep 1000\n")
    assert root.run("start", "prev", "abn").rc == 0
    assert wait_for(lambda: root.run("is-failed", "prev").out.strip() == "failed", timeout=10)
    time.sleep(0.5)
    assert root.run("show", "-P", "NRestarts", "prev").out.strip() == "0"
    assert root.run("kill", "abn").rc == 0                       # SIGTERM: clean, no restart
    assert wait_for(lambda: root.run("is-active", "abn").out.strip() == "inactive", timeout=10)
    time.sleep(0.4)
    assert root.run("is-active", "abn").out.strip() == "inactive"


def test_kill_mode_process_leaves_the_child_and_mixed_kills_it(root):
    for mode in ("process", "mixed"):
        unit(root, "km-%s.service" % mode, "[Service]\nKillMode=%s\n"
             "ExecStart=/bin/sh -c 'SHIM_TEST_TAG=%s sleep 1000 & exec sleep 999'\n"
             % (mode, root.tag))
        assert root.run("start", "km-%s" % mode).rc == 0
        assert wait_for(lambda: len(root.tagged()) == 1)
        child = root.tagged()[0]
        assert root.run("stop", "km-%s" % mode).rc == 0
        if mode == "process":
            time.sleep(0.3)
            assert not gone(child)                  # left running, as systemd leaves it
            os.kill(child, 9)
            assert wait_for(lambda: gone(child))
        else:
            assert wait_for(lambda: gone(child))


def test_stop_timeout_sigkill_and_result_timeout(root):
    unit(root, "stubborn.service", "[Service]\nTimeoutStopSec=1\n"
         "ExecStart=/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\n")
    assert root.run("start", "stubborn").rc == 0
    pid = main_pid(root, "stubborn")
    began = time.monotonic()
    r = root.run("stop", "stubborn")
    assert r.rc == 0 and 0.9 < time.monotonic() - began < 8, r
    assert wait_for(lambda: gone(pid))
    assert root.run("is-failed", "stubborn").out.strip() == "failed"
    assert root.run("show", "-P", "Result", "stubborn").out.strip() == "timeout"
    assert "State 'stop-sigterm' timed out. Killing." in log_of(root, "stubborn")


def test_exec_condition_skips_without_failing(root):
    ran = os.path.join(root.path, "ran")
    unit(root, "cond.service", "[Service]\nExecCondition=/bin/sh -c 'exit 1'\n"
         "ExecStart=/bin/sh -c 'touch %s; exec sleep 1000'\n" % ran)
    r = root.run("start", "cond")
    assert (r.rc, r.err) == (0, ""), r
    assert not os.path.exists(ran)
    assert root.run("is-active", "cond").out.strip() == "inactive"
    assert root.run("is-failed", "cond").rc == 1
    unit(root, "condbad.service", "[Service]\nExecCondition=/bin/sh -c 'exit 255'\n"
         "ExecStart=/bin/sleep 1000\n")
    r = root.run("start", "condbad")
    assert r.rc == 1 and root.run("is-failed", "condbad").out.strip() == "failed", r


def test_forking_daemon_death_is_noticed_and_restarted(root):
    pidfile = os.path.join(root.path, "fork.pid")
    unit(root, "fork.service", "[Service]\nType=forking\nPIDFile=%s\nRestart=on-failure\n"
         "RestartSec=100ms\nExecStart=/bin/sh -c 'sleep 1000 & echo $! > %s'\n" % (pidfile, pidfile))
    assert root.run("start", "fork").rc == 0
    first = main_pid(root, "fork")
    assert first and int(open(pidfile).read()) == first
    os.kill(first, 9)
    assert wait_for(lambda: main_pid(root, "fork") not in (0, first), timeout=10)
    assert root.run("show", "-P", "NRestarts", "fork").out.strip() == "1"
    second = main_pid(root, "fork")
    assert root.run("stop", "fork").rc == 0 and wait_for(lambda: gone(second))


def test_send_sighup_and_kill_signal(root):
    trace = os.path.join(root.path, "trace")
    # sh runs pending traps in signal-number order, so only the set is certain; neither trap
    # exits: the stop ends with SIGKILL after TimeoutStopSec=.
    unit(root, "hup.service", "[Service]\nKillSignal=SIGUSR1\nSendSIGHUP=yes\nTimeoutStopSec=1\n"
         "ExecStart=/bin/sh -c 'trap \"echo USR1 >> %s\" USR1; trap \"echo HUP >> %s\" HUP;"
         " while :; do sleep 0.1; done'\n" % (trace, trace))
    assert root.run("start", "hup").rc == 0
    time.sleep(0.3)
    assert root.run("stop", "hup").rc == 0
    assert sorted(open(trace).read().split()) == ["HUP", "USR1"]


def test_status_shows_a_process_line_per_finished_command(root):
    unit(root, "pre.service", "[Service]\nExecStartPre=/bin/true\nExecStartPre=-/bin/false\n"
         "ExecStart=/bin/sleep 1000\n")
    assert root.run("start", "pre").rc == 0
    lines = [line for line in root.run("status", "pre").out.splitlines() if "Process:" in line]
    assert len(lines) == 2, lines
    assert lines[0].endswith("ExecStartPre=/bin/true (code=exited, status=0/SUCCESS)")
    assert lines[1].endswith("ExecStartPre=/bin/false (code=exited, status=1/FAILURE)")
    root.run("stop", "pre")


def test_manual_starts_over_the_limit_and_reset_failed(root):
    unit(root, "slr.service", "[Unit]\nStartLimitBurst=2\n[Service]\nExecStart=/bin/sleep 1000\n")
    assert root.run("start", "slr").rc == 0
    assert root.run("restart", "slr").rc == 0
    r = root.run("restart", "slr")
    assert r.rc == 1 and r.out == "", r
    assert r.err == (
        "Job for slr.service failed because start of the service was attempted too often.\n"
        'See "systemctl status slr.service" and "journalctl -xeu slr.service" for details.\n'
        'To force a start use "systemctl reset-failed slr.service"\n'
        'followed by "systemctl start slr.service" again.\n'), r
    assert "Active: failed (Result: start-limit-hit)" in root.run("status", "slr").out
    assert root.run("reset-failed", "slr").rc == 0
    assert root.run("start", "slr").rc == 0
    root.run("stop", "slr")


def test_no_block_returns_before_the_job_is_done(root):
    script = notifier(root)
    unit(root, "slow.service", "[Service]\nType=notify\nExecStart=%s %s ready 1.5\n" % (PY, script))
    began = time.monotonic()
    r = root.run("start", "--no-block", "slow")
    assert (r.rc, r.out, r.err) == (0, "", ""), r
    assert time.monotonic() - began < 1.2
    assert wait_for(lambda: root.run("is-active", "slow").out.strip() == "activating", timeout=5)
    assert wait_for(lambda: root.run("is-active", "slow").out.strip() == "active", timeout=10)
    r = root.run("stop", "--no-block", "slow")
    assert r.rc == 0
    assert wait_for(lambda: root.run("is-active", "slow").out.strip() == "inactive", timeout=10)
    r = root.run("start", "--no-block", "nosuch")
    assert r.rc == 5 and "Unit nosuch.service not found." in r.err, r


def test_status_drop_in_block_and_show_properties(root):
    unit(root, "d.service", "[Unit]\nDescription=Demo\n[Service]\nExecStart=/bin/sleep 1000\n")
    for directory, name, text in (("lib/systemd/system/d.service.d", "10-x.conf", "Environment=A=1"),
                                  ("lib/systemd/system/d.service.d", "20-x.conf", "Environment=B=2"),
                                  ("etc/systemd/system/d.service.d", "override.conf", "UMask=0077")):
        os.makedirs(os.path.join(root.path, directory), exist_ok=True)
        with open(os.path.join(root.path, directory, name), "w") as handle:
            handle.write("[Service]\n%s\n" % text)
    out = root.run("status", "d").out.splitlines()
    at = out.index("    Drop-In: /lib/systemd/system/d.service.d")
    assert out[at - 1].startswith("     Loaded: loaded (/lib/systemd/system/d.service; static")
    assert out[at:at + 6] == [
        "    Drop-In: /lib/systemd/system/d.service.d", "             ├─10-x.conf",
        "             └─20-x.conf", "             /etc/systemd/system/d.service.d",
        "             └─override.conf", "     Active: inactive (dead)"], out
    show = root.run("show", "d", "-p", "Environment,UMask,DropInPaths").out.splitlines()
    assert show == ["Environment=A=1 B=2", "UMask=0077",
                    "DropInPaths=/lib/systemd/system/d.service.d/10-x.conf "
                    "/lib/systemd/system/d.service.d/20-x.conf "
                    "/etc/systemd/system/d.service.d/override.conf"], show


PINGER = r"""
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
assert os.environ["WATCHDOG_PID"] == str(os.getpid()) and os.environ["WATCHDOG_USEC"] == "1000000"
s.send(b"READY=1")
while True:
    time.sleep(0.2)
    if sys.argv[1] == "ping":
        s.send(b"WATCHDOG=1")
"""


def test_watchdog_kills_a_silent_service_and_spares_a_pinging_one(root):
    script = os.path.join(root.path, "pinger.py")
    with open(script, "w") as handle:
        handle.write(PINGER)
    for name, mode in (("wd-ping", "ping"), ("wd-mute", "mute")):
        unit(root, name + ".service", "[Service]\nType=notify\nWatchdogSec=1\n"
             "ExecStart=%s %s %s\n" % (PY, script, mode))
        assert root.run("start", name).rc == 0, root.run("status", name).out
    assert wait_for(lambda: root.run("is-failed", "wd-mute").out.strip() == "failed", timeout=10)
    assert root.run("show", "-P", "Result", "wd-mute").out.strip() == "watchdog"
    assert "Watchdog timeout (limit 1s)!" in log_of(root, "wd-mute")
    assert root.run("is-active", "wd-ping").out.strip() == "active"
    root.run("stop", "wd-ping")


RELOADER = r"""
import os, signal, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
def reload(signo, frame):
    s.send(b"RELOADING=1")
    time.sleep(0.6)
    s.send(b"READY=1")
signal.signal(signal.SIGHUP, reload)
s.send(b"READY=1")
while True:
    time.sleep(1)
"""


def test_reload_of_a_notify_service_waits_for_ready(root):
    script = os.path.join(root.path, "reloader.py")
    with open(script, "w") as handle:
        handle.write(RELOADER)
    unit(root, "rl.service", "[Service]\nType=notify\nExecStart=%s %s\n"
         "ExecReload=/bin/kill -HUP $MAINPID\n" % (PY, script))
    assert root.run("start", "rl").rc == 0
    began = time.monotonic()
    assert root.run("reload", "rl").rc == 0
    assert time.monotonic() - began >= 0.5
    assert root.run("is-active", "rl").out.strip() == "active"
    root.run("stop", "rl")


MOVER = r"""
import os, socket, sys, time
child = os.fork()
if child == 0:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(os.environ["NOTIFY_SOCKET"])
    time.sleep(1000)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
s.send(("MAINPID=%d\nREADY=1" % child).encode())
time.sleep(0.3)
os._exit(0)                       # the parent goes; the child is the main process now
"""


def test_mainpid_moves_the_main_process(root):
    script = os.path.join(root.path, "mover.py")
    with open(script, "w") as handle:
        handle.write(MOVER)
    unit(root, "mv.service", "[Service]\nType=notify\nRestart=no\nExecStart=%s %s\n" % (PY, script))
    assert root.run("start", "mv").rc == 0
    time.sleep(0.6)
    pid = main_pid(root, "mv")
    assert pid and root.run("is-active", "mv").out.strip() == "active"
    with open("/proc/%d/cmdline" % pid) as handle:
        assert "mover.py" in handle.read()
    os.kill(pid, 9)
    assert wait_for(lambda: root.run("is-failed", "mv").out.strip() == "failed", timeout=10)
    assert root.run("show", "-P", "Result", "mv").out.strip() == "signal"


def test_native_unit_in_a_real_cgroup_has_its_main_pid_and_restarts(root, cgroup_dir):
    root.env_extra["SYSTEMCTL_SHIM_CGROUP"] = cgroup_dir
    unit(root, "cg.service", "[Service]\nRestart=on-failure\nRestartSec=100ms\n"
         "ExecStart=/bin/sh -c 'sleep 1000 & exec sleep 999'\n")
    assert root.run("start", "cg").rc == 0
    pid = main_pid(root, "cg")
    with open(os.path.join(cgroup_dir, "cg.service", "cgroup.procs")) as handle:
        assert str(pid) in handle.read().split()
    assert "   Main PID: %d (sleep)" % pid in root.run("status", "cg").out
    assert root.run("kill", "-s", "KILL", "--kill-whom=main", "cg").rc == 0
    assert wait_for(lambda: main_pid(root, "cg") not in (0, pid), timeout=10)
    assert root.run("show", "-P", "NRestarts", "cg").out.strip() == "1"
    assert root.run("stop", "cg").rc == 0
    assert wait_for(lambda: not os.path.exists(os.path.join(cgroup_dir, "cg.service")))


def test_oneshot_remain_after_exit_in_a_real_cgroup_is_active_exited(root, cgroup_dir):
    root.env_extra["SYSTEMCTL_SHIM_CGROUP"] = cgroup_dir
    unit(root, "one.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n")
    assert root.run("start", "one").rc == 0
    assert root.run("is-active", "one").out.strip() == "active"
    assert "Active: active (exited)" in root.run("status", "one").out
    assert root.run("stop", "one").rc == 0
    assert root.run("is-active", "one").out.strip() == "inactive"


def test_dynamic_user_is_refused_not_run_as_root(root):
    ran = os.path.join(root.path, "ran")
    unit(root, "dyn.service", "[Service]\nDynamicUser=yes\nExecStart=/bin/touch %s\n" % ran)
    r = root.run("start", "dyn")
    assert r.rc == 1 and "DynamicUser= is not supported" in r.err, r
    assert not os.path.exists(ran)


def test_prefer_native_lists_the_unit_file_not_the_script(root):
    unit(root, "dual.service", "[Unit]\nDescription=Native dual\n[Service]\nExecStart=/bin/sleep 1000\n")
    root.daemon("dual", description="Script dual")
    plain = root.run("list-units", "--all", "--no-legend", "dual.service").out.split()
    assert plain[-2:] == ["Script", "dual"], plain
    root.env_extra["SYSTEMCTL_SHIM_PREFER_NATIVE"] = "1"
    native = root.run("list-units", "--all", "--no-legend", "dual.service").out
    assert native.split()[-2:] == ["Native", "dual"], native
    assert "dual.service - Native dual" in root.run("status", "dual").out


def test_oneshot_status_docs_and_main_pid_and_alias_is_enabled(root):
    unit(root, "nft.service", "[Unit]\nDescription=nft\nDocumentation=man:nft(8) http://wiki.nftables.org\n"
         "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
         "[Install]\nWantedBy=multi-user.target\nAlias=nft-alias.service\n")
    assert root.run("enable", "nft").rc == 0
    assert root.run("start", "nft").rc == 0
    out = root.run("status", "nft").out.splitlines()
    at = [i for i, line in enumerate(out) if line.startswith("     Active: active (exited)")][0]
    assert out[at + 1:at + 3] == ["       Docs: man:nft(8)", "             http://wiki.nftables.org"], out
    process = [line for line in out if "Process:" in line]
    assert len(process) == 1 and process[0].endswith("ExecStart=/bin/true (code=exited, status=0/SUCCESS)")
    pid = process[0].split()[1]
    assert "   Main PID: %s (code=exited, status=0/SUCCESS)" % pid in out, out
    r = root.run("is-enabled", "nft-alias.service")
    assert (r.rc, r.out) == (0, "alias\n"), r
    assert root.run("is-enabled", "nft").out == "enabled\n"


def test_stop_cancels_a_start_still_waiting_for_ready(root):
    import subprocess
    script = notifier(root)
    unit(root, "cx.service", "[Service]\nType=notify\nTimeoutStartSec=20\n"
         "ExecStart=%s %s never\n" % (PY, script))
    from scripts import REPO
    starter = subprocess.Popen([PY, "-m", "shim", "start", "cx"], env=root.env(), cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: root.run("is-active", "cx").out.strip() == "activating", timeout=5)
        began = time.monotonic()
        r = root.run("stop", "cx")
        assert (r.rc, r.err) == (0, ""), r
        assert time.monotonic() - began < 5
        out, err = starter.communicate(timeout=10)
    finally:
        if starter.poll() is None:
            starter.kill()
    assert (starter.returncode, err) == (1, "Job for cx.service canceled.\n"), (starter.returncode, err)
    assert root.run("is-active", "cx").out.strip() == "inactive"
    assert root.run("is-failed", "cx").rc == 1
