#!/usr/bin/env python3
"""A tiny init for a private PID namespace, so that kill tests can never reach a process of the host:

    unshare --pid --fork --mount-proc --kill-child python3 tests/pidns.py -- CMD [ARG...]

As PID 1 it forks CMD, reaps every orphan that re-parents to it, forwards SIGTERM/SIGINT/SIGHUP to
CMD, and exits with CMD's status as soon as CMD ends (the kernel then kills whatever is left in
the namespace, so nothing a test started can outlive it). Tests recognise the namespace by this
file's name in /proc/1/cmdline.
"""
import os
import signal
import sys


def main(argv):
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        sys.stderr.write("usage: pidns.py -- CMD [ARG...]\n")
        return 2
    child = os.fork()
    if child == 0:
        for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signo, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as error:
            sys.stderr.write(f"pidns.py: {argv[0]}: {error.strerror}\n")
            os._exit(127)

    def forward(signo, _frame):
        try:
            os.kill(child, signo)
        except ProcessLookupError:
            pass

    for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signo, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
