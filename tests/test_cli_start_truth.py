"""A start whose script exits 0 is only a success if the service is then running (systemd 252,
Type=forking as systemd-sysv-generator makes a SysV unit): with a PIDFile= (`# pidfile:`) that
never names a live process and nothing of the service left, the start fails with
Result: protocol; a script that declares no pidfile and leaves nothing is active (exited)."""

import os

from scripts import pid_alive, wait_for

GHOST = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          ghost
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: says it started, starts nothing
### END INIT INFO
# pidfile: {pidfile}
case "$1" in
  start) echo "ghost: already started"; {body}; exit 0 ;;
  stop) rm -f {pidfile}; exit 0 ;;
  status) exit 3 ;;
  *) exit 3 ;;
esac
"""


def _ghost(root, body=":"):
    pidfile = root.pidfile("ghost")
    root.raw("ghost", GHOST.format(pidfile=pidfile, body=body.format(pidfile=pidfile)))
    return pidfile


def _assert_failed_protocol(root, verb):
    r = root.run(verb, "ghost")
    assert r.rc == 1, str(r)
    assert r.out == ""
    assert r.err == ('Job for ghost.service failed because the service did not take the steps '
                     'required by its unit configuration.\n'
                     'See "systemctl status ghost.service" and "journalctl -xeu ghost.service" '
                     'for details.\n'), str(r)
    r = root.run("is-active", "ghost")
    assert (r.rc, r.out) == (3, "failed\n")
    r = root.run("show", "-p", "Result", "--value", "ghost")
    assert r.out == "protocol\n", str(r)
    r = root.run("status", "ghost")
    assert r.rc == 3
    assert "     Active: failed (Result: protocol) since " in r.out, r.out


def test_start_exit_0_with_pidfile_never_written_fails(root):
    _ghost(root)
    _assert_failed_protocol(root, "start")
    # The next start tries again (and fails the same way): a failed unit is not active.
    _assert_failed_protocol(root, "start")


def test_restart_exit_0_with_dead_pid_in_pidfile_fails(root):
    # The daemon wrote its pidfile and died before the script returned.
    pidfile = _ghost(root, body="sh -c 'echo $$ > {pidfile}'")
    _assert_failed_protocol(root, "restart")
    with open(pidfile) as handle:
        assert not pid_alive(int(handle.read()))


def test_quiet_start_exit_0_leaving_nothing_fails_silently(root):
    _ghost(root)
    r = root.run("start", "-q", "ghost")
    assert (r.rc, r.out, r.err) == (1, "", "")


def test_start_exit_0_without_pidfile_and_no_daemon_is_active_exited(root):
    # Unchanged: RemainAfterExit=yes for a script that declares no daemon.
    root.daemon("once", daemon=False)
    r = root.run("start", "once")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert root.run("show", "-p", "ActiveState,SubState", "once").out == \
        "ActiveState=active\nSubState=exited\n"


def test_start_with_pidfile_and_live_daemon_succeeds(root):
    pidfile = root.daemon("food")
    r = root.run("start", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert wait_for(lambda: os.path.exists(pidfile))
    assert root.run("is-active", "food").out == "active\n"
