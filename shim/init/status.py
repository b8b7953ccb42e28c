"""`<state dir>/init.json`: the PID-1 mode's own record, read by `is-system-running`, `poweroff`,
`halt`, `reboot` and `exit` from `docker exec` / `runc exec`.

    {"pid": 1, "starttime": 12345, "state": "starting" | "running" | "stopping", "since": 1.5e9}

Believed only while that very process (pid and start time) is alive: a file left by an earlier
run of the container describes nobody.
"""

import os
import time

from shim.proc.identity import ProcessRef

STATES = ("starting", "running", "stopping")
EXIT_CODE_FILE = "init.exit-code"        # `systemctl exit CODE` leaves CODE here before SIGTERM


def path(state_dir: str) -> str:
    return os.path.join(state_dir, "init.json")


def write(state_dir: str, ref: ProcessRef, state: str) -> None:
    """Atomically (write + rename): readers never see half a file."""
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    target = path(state_dir)
    tmp = "%s.%d.tmp" % (target, os.getpid())
    with open(tmp, "w") as handle:
        handle.write('{"pid": %d, "starttime": %d, "state": "%s", "since": %r}\n'
                     % (ref.pid, ref.starttime, state, time.time()))
    os.rename(tmp, target)


def read(state_dir: str, proc_root: str = "/proc"):
    """(ProcessRef, state) of the live PID-1 mode, or None (no file, damaged, or its process is
    gone or is another process now)."""
    from shim.state import read_json
    try:
        with open(path(state_dir), "rb") as handle:
            data = read_json(handle.read(4096).decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("state") not in STATES or \
            type(data.get("pid")) is not int or type(data.get("starttime")) is not int:
        return None
    ref = ProcessRef(data["pid"], data["starttime"])
    if ref.pid <= 0 or ProcessRef.of(ref.pid, proc_root) != ref:
        return None
    return ref, data["state"]


def write_exit_code(state_dir: str, code: int) -> None:
    target = os.path.join(state_dir, EXIT_CODE_FILE)
    tmp = "%s.%d.tmp" % (target, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("%d\n" % code)
    os.rename(tmp, target)


def take_exit_code(state_dir: str):
    """The code `systemctl exit CODE` asked for, or None; the request is used up."""
    target = os.path.join(state_dir, EXIT_CODE_FILE)
    try:
        with open(target) as handle:
            text = handle.read(16).strip()
        os.unlink(target)
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) <= 255 else None
