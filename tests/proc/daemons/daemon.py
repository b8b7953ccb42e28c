#!/usr/bin/env python3
"""Small daemons for the escape matrix. Usage: daemon.py MODE READY_DIR [ARGS...]

Every mode writes READY_DIR/<mode>.ready once set up; modes with a late action wait for
READY_DIR/go (written by the test after run_captured returned) and then write READY_DIR/<mode>.done.
Processes write their pids to READY_DIR/<mode>.pids where the test needs them.
"""
import ctypes
import os
import pty
import sys
import time

PR_SET_NAME = 15


def touch(path):
    open(path, "w").close()


def append_pid(path, pid=None):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, b"%d\n" % (pid or os.getpid()))
    os.close(fd)


def wait_file(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            os._exit(3)
        time.sleep(0.01)


def tty_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[4])
    except (OSError, ValueError, IndexError):
        return 0


def forever():
    while True:
        time.sleep(1000)


def sleep_exec(argv0="sleep"):
    os.execvp("sleep", [argv0, "1000"])


def detach():
    """Classic daemonize: fork, setsid, fork; the caller continues in the grandchild."""
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)


def main(mode, ready, *args):
    me = os.path.join(ready, mode)
    go = os.path.join(ready, "go")
    if mode == "login":
        # An interactive login inside the service: a new session owning a pty, like sshd's
        # per-connection `[priv]` process and the user's shell under it.
        os.environ["LOGIN"] = "1"
        os.setsid()
        pid, fd = pty.fork()
        if pid == 0:
            sleep_exec()
        deadline = time.monotonic() + 30
        while tty_of(pid) == 0 and time.monotonic() < deadline:    # ready only once it has its terminal
            time.sleep(0.005)
        append_pid(me + ".pids")
        append_pid(me + ".pids", pid)
        touch(me + ".ready")
        while True:
            try:
                if not os.read(fd, 1024):
                    break
            except OSError:
                break
        forever()
    if mode == "solo":
        os.setsid()
        append_pid(me + ".pids")
        touch(me + ".ready")
        forever()
    if mode == "setpgid":
        os.setpgid(0, 0)
        if os.fork() == 0:
            append_pid(me + ".pids")
            forever()
        touch(me + ".ready")
        wait_file(go)
        if os.fork() == 0:          # a late child moves to yet another group
            os.setpgid(0, 0)
            touch(me + ".done")
            forever()
        forever()
    if mode == "rename":
        libc = ctypes.CDLL(None)
        libc.prctl(PR_SET_NAME, b"kworker/0:1", 0, 0, 0)     # looks like a kernel thread by name
        touch(me + ".ready")
        forever()
    if mode == "exec":
        touch(me + ".ready")
        wait_file(go)
        touch(me + ".done")
        os.execvp("sleep", ["sleep", "1000"])                 # same pid, another binary
    if mode == "outlive":
        for _ in range(3):
            if os.fork() == 0:
                forever()
        touch(me + ".ready")
        wait_file(go)
        touch(me + ".done")
        os._exit(0)                                          # the children outlive their parent
    if mode == "escape":
        # After the capture: double fork + setsid, so the escapee is init's child in a session
        # nobody recorded. With "envi" it also clears its environment: no marker left.
        clear = "envi" in args
        touch(me + ".ready")
        wait_file(go)
        if os.fork() == 0:
            detach()
            append_pid(me + ".pids")
            touch(me + ".done")
            if clear:
                os.execve("/bin/sleep", ["sleep", "1000"], {})
            forever()
        forever()
    if mode == "late_envi":
        # After the capture: a child that stays in the session but re-execs with env -i and
        # re-parents to init (double fork without setsid).
        touch(me + ".ready")
        wait_file(go)
        if os.fork() == 0:
            if os.fork():
                os._exit(0)
            append_pid(me + ".pids")
            touch(me + ".done")
            os.execve("/bin/sleep", ["sleep", "1000"], {})
        forever()
    if mode == "chain":
        # A running fork storm: each process forks its successor and exits, forever.
        touch(me + ".ready")
        while True:
            if os.fork():
                os._exit(0)
            time.sleep(0.002)
    if mode == "zombie":
        child = os.fork()
        if child == 0:
            os._exit(0)
        append_pid(me + ".pids", child)
        touch(me + ".ready")
        forever()                                            # never waits: the child stays a zombie
    if mode == "caller":
        # An admin shell inside the service runs the kill: it and its ancestors must survive.
        touch(me + ".ready")
        wait_file(go)
        helper = os.path.join(os.path.dirname(__file__), "kill_from_inside.py")
        os.execvp(sys.executable, [sys.executable, helper, ready])
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(*sys.argv[1:])
