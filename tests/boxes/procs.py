"""Host-side process helpers. A process is identified by pid AND start time, so a
recycled pid is never mistaken for a box we started (and never signalled)."""
import os
import time


def starttime(pid):
    """Field 22 of /proc/PID/stat, or None if the process is gone. The command name
    may contain spaces and parentheses, so parse after the last ')'."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[19])


def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def is_alive(pid, start):
    """Same process still there and not a zombie."""
    return starttime(pid) == start and state(pid) not in (None, "Z", "X")


def children(ppid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == ppid:
            found.append(int(entry))
    return found


def reap_if_child(pid):
    """Collect the exit status if `pid` is our child (the pytest/CLI process that
    booted the box); returns the status or None."""
    try:
        waited, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if waited else None


def wait_until(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
