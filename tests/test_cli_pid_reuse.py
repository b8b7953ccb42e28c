"""A daemon dies, its pidfile stays, and the kernel hands its PID to another process within a
second (a busy host, a container's small PID space). The newcomer is a bystander: it must never
be reported as the service or signalled for it (issue 8.2, process-pitfalls.md).

The reuse is forced through /proc/sys/kernel/ns_last_pid, which needs the private PID namespace
the host suite runs in (tests/run): the next fork there gets the PID we ask for.
"""

import os
import signal
import time

import pytest

from scripts import IN_PIDNS, gone, impostor_with_pid, wait_for


pytestmark = pytest.mark.skipif(not IN_PIDNS, reason="forcing a PID needs the suite's own PID "
                                "namespace: run through tests/run")


def _kill_and_reap(pid):
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: gone(pid)), "pid %d not reaped" % pid


def _assert_not_the_service(root, impostor, name):
    r = root.run("is-active", name)
    assert r.out != "active\n", "a reused PID passed for %s: %s" % (name, r)
    r = root.run("show", "-p", "MainPID", "--value", name)
    assert r.out != "%d\n" % impostor.pid
    r = root.run("kill", "-s", "KILL", name)
    time.sleep(0.2)
    assert impostor.poll() is None, "systemctl kill reached the process that reused the PID"
    r = root.run("kill", "-s", "HUP", "--kill-whom=main", name)
    assert r.rc == 1 and impostor.poll() is None


def test_reused_main_pid_of_a_started_unit_is_not_adopted(root):
    root.daemon("reused")
    assert root.run("start", "reused").rc == 0
    main = root.daemon_pid("reused")
    assert main and root.tagged() == [main]
    _kill_and_reap(main)                           # behind our back; the pidfile stays
    impostor = impostor_with_pid(root, main)      # well within a second of the pidfile
    _assert_not_the_service(root, impostor, "reused")
    assert root.run("is-failed", "reused").out == "failed\n"


def test_reused_pid_in_pidfile_of_a_service_we_never_started(root):
    """No record of ours, so the pidfile's mtime is all there is: a process that started after
    the file was written is not the writer, even by a few milliseconds."""
    pidfile = root.daemon("adopted")
    writer = root.spawn_tagged_sleep()
    with open(pidfile, "w") as handle:
        handle.write("%d\n" % writer.pid)
    assert root.run("is-active", "adopted").out == "active\n"     # the control: adopted
    writer.kill()
    writer.wait()
    time.sleep(0.05)                               # a few ticks, far below btime's one second
    impostor = impostor_with_pid(root, writer.pid)
    _assert_not_the_service(root, impostor, "adopted")
