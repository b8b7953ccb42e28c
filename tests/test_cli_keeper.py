"""The keeper a start leaves behind (issue 9.3): a resident child subreaper of everything the unit
started, that reaps, records how the main process ended, and is never needed for the truth."""

import json
import os
import signal
import subprocess
import sys
import time

from scripts import gone, pid_alive, wait_for


def _daemon_script(root, name, body):
    """A script whose start forks `body` (a shell snippet) as its daemon, pidfile written."""
    root.raw(name, """\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          %(name)s
        # Short-Description: keeper test daemon
        ### END INIT INFO
        PIDFILE=%(pidfile)s
        case "$1" in
          start) SHIM_TEST_TAG=%(tag)s sh -c '%(body)s' </dev/null >/dev/null 2>&1 &
                 echo $! > "$PIDFILE" ;;
          stop) [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null; rm -f "$PIDFILE" ;;
        esac
        exit 0
        """ % {"name": name, "pidfile": root.pidfile(name), "tag": root.tag, "body": body})


def _keeper(root, name):
    with open(os.path.join(root.state_dir(), "units", name + ".service.json")) as handle:
        keeper = json.load(handle)["tracking"]["keeper"]
    return keeper[0] if keeper else 0


def _ppid(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def _show(root, name, *props):
    r = root.run("show", name, "-p", ",".join(props))
    return dict(line.split("=", 1) for line in r.lines)


def test_keeper_holds_the_tree_and_leaves_with_it(root):
    _daemon_script(root, "kept", "exec sleep 1000")
    started = time.monotonic()
    r = root.run("start", "kept")
    assert r.rc == 0 and time.monotonic() - started < 10   # our pipes are not held by the keeper
    main, keeper = root.daemon_pid("kept"), _keeper(root, "kept")
    assert keeper and pid_alive(keeper) and _ppid(main) == keeper
    assert keeper not in root.tagged()                     # not a process of the unit
    assert root.run("show", "-P", "MainPID", "kept").out == "%d\n" % main
    assert root.run("stop", "kept").rc == 0
    assert wait_for(lambda: gone(keeper)), "the keeper outlived its unit"
    assert root.tagged() == []


def test_main_exit_status_is_recorded(root):
    _daemon_script(root, "quits", "sleep 0.5; exit 3")
    assert root.run("start", "quits").rc == 0
    keeper = _keeper(root, "quits")
    assert wait_for(lambda: gone(keeper), timeout=10)
    r = root.run("is-failed", "quits")
    assert (r.rc, r.out) == (0, "failed\n")
    props = _show(root, "quits", "Result", "ExecMainCode", "ExecMainStatus", "ExecMainExitTimestamp")
    assert (props["Result"], props["ExecMainCode"], props["ExecMainStatus"]) == ("exit-code", "1", "3")
    assert props["ExecMainExitTimestamp"]


def test_main_killed_behind_our_back_is_a_signal_result(root):
    _daemon_script(root, "shot", "exec sleep 1000")
    assert root.run("start", "shot").rc == 0
    os.kill(root.daemon_pid("shot"), signal.SIGUSR1)
    assert wait_for(lambda: gone(_keeper(root, "shot")), timeout=10)
    props = _show(root, "shot", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    assert props == {"ActiveState": "failed", "Result": "signal", "ExecMainCode": "2",
                     "ExecMainStatus": str(int(signal.SIGUSR1))}


def test_clean_main_exit_is_inactive(root):
    _daemon_script(root, "done", "sleep 0.3; exit 0")
    assert root.run("start", "done").rc == 0
    assert wait_for(lambda: gone(_keeper(root, "done")), timeout=10)
    r = root.run("is-active", "done")
    assert (r.rc, r.out) == (3, "inactive\n")
    assert _show(root, "done", "Result")["Result"] == "success"


def test_a_killed_keeper_costs_nothing_but_exactness(root):
    _daemon_script(root, "orphan", "sleep 1000 & exec sleep 1000")
    assert root.run("start", "orphan").rc == 0
    keeper = _keeper(root, "orphan")
    os.kill(keeper, signal.SIGKILL)                          # our own test's unit's keeper
    assert wait_for(lambda: gone(keeper))
    daemons = root.tagged()
    assert len(daemons) == 2
    r = root.run("is-active", "orphan")
    assert (r.rc, r.out) == (0, "active\n")
    assert root.run("kill", "orphan").rc == 0               # still reaches both, from the records
    assert wait_for(lambda: root.tagged() == [])
    assert root.run("start", "orphan").rc == 0 and _keeper(root, "orphan") != keeper
    assert root.run("stop", "orphan").rc == 0


def test_no_keeper_for_a_unit_that_leaves_nothing(root):
    root.daemon("oneshot", daemon=False)
    assert root.run("start", "oneshot").rc == 0
    assert _keeper(root, "oneshot") == 0
    assert root.run("is-active", "oneshot").out == "active\n"


def test_start_output_pipe_is_not_held(root):
    """`x=$(systemctl start kept)` returns as soon as systemctl does: the keeper holds none of the
    caller's descriptors."""
    _daemon_script(root, "piped", "exec sleep 1000")
    done = subprocess.run(["sh", "-c", 'x=$("$0" -m shim start piped); echo "[$x]"',
                           sys.executable], env=root.env(), timeout=30,
                          stdout=subprocess.PIPE)
    assert done.stdout == b"[]\n"
    assert root.run("stop", "piped").rc == 0


def test_output_becomes_timestamped_log_lines(root):
    """What the start script and its daemon print reaches `status` as journal-like lines, tagged
    with the unit's name and a pid, through the keeper (no pipe of ours is held)."""
    _daemon_script(root, "talks", 'echo hello from the daemon; exec sleep 1000')
    root.raw("talker", """\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          talker
        # Short-Description: prints while starting
        ### END INIT INFO
        case "$1" in
          start) echo "starting talker"; echo "to stderr" >&2
                 SHIM_TEST_TAG=%s sh -c 'sleep 0.2; echo "daemon says hi"; exec sleep 1000' \\
                   </dev/null 2>&1 & ;;
        esac
        exit 0
        """ % root.tag)
    assert root.run("start", "talker").rc == 0
    wait_for(lambda: ": daemon says hi\n" in root.run("status", "talker").out, timeout=10)
    lines = root.run("status", "talker").lines
    for text in ("starting talker", "to stderr", "daemon says hi"):
        found = [line for line in lines if line.endswith(": " + text)]
        assert len(found) == 1, "\n".join(lines)
        line = found[0]
        stamp, tag = line.split()[:3], line.split()[4]
        assert len(stamp) == 3 and tag.startswith("talker[") and tag.endswith("]:"), line
    assert root.run("stop", "talker").rc == 0
