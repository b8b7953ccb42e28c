"""Per-unit records under /run/systemctl-shim: what we started, when, and which processes.

Layout (all under the state directory, default /run/systemctl-shim):

    boot_id              the boot the records belong to; a different boot wipes them
    units/<unit>.json    one record per unit, replaced atomically (write + rename)
    locks/<unit>.lock    flock()ed for the whole of a start/stop/restart/reload
    logs/<unit>.log      what the unit's scripts printed (shown by `status`, like the journal)

A record is a hint about the past, never the truth about now: live state is always recomputed
from processes (`shim/runtime.py`). A shim killed mid-operation leaves at worst a record whose
control process is dead, which readers treat as "no operation in flight"; its lock is released by
the kernel when it dies.
"""

import errno
import fcntl
import os
import time

from shim.plain import Plain
from shim.proc.tracking import Tracking

RECORD_VERSION = 1
MAX_RECORD_BYTES = 1024 * 1024
MAX_LOG_BYTES = 256 * 1024


class Control(Plain):
    """The script we are running for the unit right now (systemd's control process)."""

    pid = 0
    starttime = 0
    verb = ""


class Record(Plain):
    state = ""                  # "started" | "stopped" | "failed" | "" (never touched by us)
    result = "success"          # systemd's Result=: success, exit-code, signal, timeout, ...
    active_since = 0.0          # epoch seconds (ActiveEnterTimestamp)
    inactive_since = 0.0
    invocation_id = ""
    tracking = None             # Tracking
    control = None              # Control while a script of ours runs for the unit
    last_exec = None            # {"verb", "pid", "code", "status", "time"}: the Process: line
    kill_signal = 0             # last signal `systemctl kill` sent (decides dead vs. failed)
    n_restarts = 0
    start_times = ()            # epoch seconds of the recent starts (StartLimitBurst=)
    main_exit = None            # {"pid", "code", "status", "time"}: how the last main process ended
    condition = None            # last Condition* check: {"result", "time", "failed": [[name, trigger, negate, param]]}
    assertion = None            # last Assert* check, the same shape
    execs = ()                  # this run's finished commands, like last_exec (status's Process: lines)
    _factories = {"tracking": Tracking, "last_exec": dict, "main_exit": dict}

    def to_dict(self) -> dict:
        data = self.as_dict()
        data["control"] = self.control.as_dict() if self.control else None
        data["tracking"] = self.tracking.to_dict()
        data["version"] = RECORD_VERSION
        return data

    @classmethod
    def from_dict(cls, data) -> "Record":
        """Never raises: a damaged or hostile record becomes an empty one."""
        if not isinstance(data, dict):
            return cls()
        record = cls()
        for name in ("state", "result", "invocation_id"):
            if isinstance(data.get(name), str):
                setattr(record, name, data[name][:200])
        for name in ("active_since", "inactive_since"):
            if isinstance(data.get(name), (int, float)) and data[name] >= 0:
                setattr(record, name, float(data[name]))
        for name in ("kill_signal", "n_restarts"):
            if isinstance(data.get(name), int) and data[name] >= 0:
                setattr(record, name, data[name])
        if isinstance(data.get("start_times"), list):
            record.start_times = tuple(float(t) for t in data["start_times"][-64:]
                                       if isinstance(t, (int, float)) and t >= 0)
        record.tracking = Tracking.from_dict(data.get("tracking"))
        control = data.get("control")
        if isinstance(control, dict) and all(isinstance(control.get(k), int) and control[k] > 0
                                             for k in ("pid", "starttime")):
            record.control = Control(control["pid"], control["starttime"], str(control.get("verb", "")))
        ended = data.get("main_exit")
        if isinstance(ended, dict) and ended.get("code") in ("exited", "killed", "dumped") and \
                all(type(ended.get(k)) is int for k in ("pid", "status")) and \
                isinstance(ended.get("time"), (int, float)):
            record.main_exit = {k: ended[k] for k in ("pid", "code", "status", "time")}
        if isinstance(data.get("last_exec"), dict):
            record.last_exec = _exec_entry(data["last_exec"])
        if isinstance(data.get("execs"), list):
            record.execs = tuple(_exec_entry(e) for e in data["execs"][-16:] if isinstance(e, dict))
        for name in ("condition", "assertion"):
            record_check(record, name, data.get(name))
        return record


def record_check(record, name, data) -> None:
    """A condition or assert result from a record, kept only when it is well formed."""
    if not isinstance(data, dict) or not isinstance(data.get("result"), bool) or \
            not isinstance(data.get("time"), (int, float)) or not isinstance(data.get("failed"), list):
        return
    failed = [list(f) for f in data["failed"][:64] if isinstance(f, list) and len(f) == 4 and
              isinstance(f[0], str) and isinstance(f[3], str)]
    setattr(record, name, {"result": data["result"], "time": float(data["time"]), "failed": failed})


def _exec_entry(data: dict) -> dict:
    return {k: v for k, v in data.items()
            if k in ("verb", "pid", "code", "status", "time", "cmd", "key")
            and isinstance(v, (int, str, float))}


class _Decoding:
    """What the C scanner of the json package reads its settings from (json.decoder's own)."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    def __init__(self):
        self.memo = {}                          # the scanner shares key strings through it

    @staticmethod
    def parse_constant(name):
        raise ValueError("not JSON: %s" % name)


def read_json(text: str):
    """json.loads() for our own files without importing `json`, whose decoder imports `re` (about
    10 ms of every `is-active` of a unit we started): the same C scanner, driven directly. Falls
    back to json where the C module is missing. Raises ValueError for anything not one JSON value."""
    try:
        import _json
    except ImportError:                         # pragma: no cover - another Python implementation
        import json
        return json.loads(text)
    start = len(text) - len(text.lstrip(" \t\n\r"))
    try:
        value, end = _json.make_scanner(_Decoding())(text, start)
    except (StopIteration, RecursionError, SystemError):
        raise ValueError("not JSON") from None
    if text[end:].strip(" \t\n\r"):
        raise ValueError("extra data after the JSON value")
    return value


def _safe_name(unit_id: str) -> str:
    """Unit ids are already mangled; still, never let one name a path outside our directory."""
    return unit_id.replace("/", "-").lstrip(".") or "_"


class StateStore:
    def __init__(self, directory: str, proc_root: str = "/proc"):
        self.directory = directory
        self.proc_root = proc_root
        self._checked_boot = False

    def _path(self, kind: str, unit_id: str, suffix: str) -> str:
        return os.path.join(self.directory, kind, _safe_name(unit_id) + suffix)

    def record_path(self, unit_id):
        return self._path("units", unit_id, ".json")

    def log_path(self, unit_id):
        return self._path("logs", unit_id, ".log")

    def notify_path(self, unit_id):
        """What the unit said over sd_notify (shim/proc/notify.py), written by its keeper."""
        return self._path("units", unit_id, ".notify")

    def notify_state(self, unit_id) -> dict:
        try:
            with open(self.notify_path(unit_id), encoding="utf-8") as handle:
                data = read_json(handle.read(65536))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def console_path(self) -> str:
        """Where keepers also copy their units' output (prefixed with the unit name): the path
        written to `<state dir>/console` by the container's PID 1 (`systemctl init`), so that
        `docker logs` shows the services. Empty when no PID-1 mode runs."""
        try:
            with open(os.path.join(self.directory, "console")) as handle:
                return handle.read(4096).strip()
        except OSError:
            return ""

    def exit_path(self, unit_id):
        """Where the unit's keeper writes how its main process ended."""
        return self._path("units", unit_id, ".exit")

    def main_exit(self, unit_id, main) -> dict:
        """The keeper's word on how `main` (a ProcessRef) ended: {code, status, time}, or {} if
        it has none for that very process (another pid, another start time, damaged file)."""
        if main is None:
            return {}
        try:
            with open(self.exit_path(unit_id), "rb") as handle:
                raw = handle.read(4096)
            data = read_json(raw.decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("pid") != main.pid or \
                data.get("starttime") != main.starttime:
            return {}
        code, status, when = data.get("code"), data.get("status"), data.get("time")
        if code not in ("exited", "killed", "dumped") or type(status) is not int or \
                not isinstance(when, (int, float)):
            return {}
        return {"pid": main.pid, "code": code, "status": status, "time": float(when)}

    # --- boot ----------------------------------------------------------------------------------
    def _boot_id(self) -> str:
        try:
            with open(os.path.join(self.proc_root, "sys/kernel/random/boot_id")) as handle:
                return handle.read().strip()
        except OSError:
            return ""

    def _ensure_current_boot(self, writable: bool) -> bool:
        """False if the records belong to another boot (then they are ignored, or wiped)."""
        marker = os.path.join(self.directory, "boot_id")
        current = self._boot_id()
        try:
            with open(marker) as handle:
                stored = handle.read().strip()
        except OSError:
            stored = None
        if stored == current:
            return True
        if not writable:
            return stored is None and not os.path.isdir(os.path.join(self.directory, "units"))
        with self._lock_file(os.path.join(self.directory, "boot.lock")):
            for kind in ("units", "logs"):
                directory = os.path.join(self.directory, kind)
                for entry in _listdir(directory):
                    try:
                        os.unlink(os.path.join(directory, entry))
                    except OSError:
                        pass
            self._atomic_write(marker, current + "\n")
        return True

    # --- records -------------------------------------------------------------------------------
    def load(self, unit_id: str) -> Record:
        """The unit's record; an empty one if missing, unreadable, damaged or from another boot."""
        if not self._checked_boot:
            self._checked_boot = True
            self._boot_ok = self._ensure_current_boot(writable=False)
        if not self._boot_ok:
            return Record()
        try:
            with open(self.record_path(unit_id), "rb") as handle:
                raw = handle.read(MAX_RECORD_BYTES + 1)
        except OSError:
            return Record()
        if len(raw) > MAX_RECORD_BYTES:
            return Record()
        try:
            return Record.from_dict(read_json(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            return Record()

    def save(self, unit_id: str, record: Record) -> None:
        self._ensure_current_boot(writable=True)
        self._checked_boot, self._boot_ok = True, True
        import json
        self._atomic_write(self.record_path(unit_id), json.dumps(record.to_dict(), sort_keys=True))

    def recorded_ids(self) -> set:
        """The unit ids we hold a record for, without reading them (one listdir)."""
        return {entry[:-5] for entry in _listdir(os.path.join(self.directory, "units"))
                if entry.endswith(".json")}

    def all_records(self) -> dict:
        """{unit id: record} for every unit we hold a record for (this boot)."""
        directory = os.path.join(self.directory, "units")
        return {entry[:-5]: self.load(entry[:-5]) for entry in _listdir(directory)
                if entry.endswith(".json")}

    def _atomic_write(self, path: str, text: str) -> None:
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        import tempfile  # only writers need it; readers start faster without
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            try:
                os.rename(tmp, path)
            except IsADirectoryError:
                # Something made a directory where a record goes. Keep it (nothing is lost:
                # it is renamed aside for whoever made it) and write the record.
                os.rename(path, "%s.damaged-%d" % (path, int(time.time())))
                os.rename(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    # --- locks ---------------------------------------------------------------------------------
    def lock(self, unit_id: str):
        """Exclusive per-unit lock for the duration of a job: concurrent starts serialise."""
        return self._lock_file(self._path("locks", unit_id, ".lock"))

    def _lock_file(self, path: str):
        return _Flock(path)

    def lock_is_held(self, unit_id: str) -> bool:
        """Is a job running on the unit right now (someone holds its lock)?"""
        path = self._path("locks", unit_id, ".lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)

    def cancel_path(self, unit_id):
        """A start job cancelled by a stop (written by the stop, taken by the start)."""
        return self._path("units", unit_id, ".cancel")

    # --- logs ----------------------------------------------------------------------------------
    def prepare_log(self, unit_id: str) -> str:
        """The log file scripts append to; trimmed so it cannot grow without bound."""
        self._ensure_current_boot(writable=True)   # before writing: a new boot wipes old logs
        self._checked_boot, self._boot_ok = True, True
        path = self.log_path(unit_id)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        try:
            if os.path.getsize(path) > MAX_LOG_BYTES:
                with open(path, "rb") as handle:
                    handle.seek(-MAX_LOG_BYTES // 2, os.SEEK_END)
                    tail = handle.read()
                self._atomic_write(path, tail.decode("utf-8", errors="replace"))
        except OSError:
            pass
        return path

    def log_tail(self, unit_id: str, lines: int) -> list:
        try:
            with open(self.log_path(unit_id), "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 64 * 1024))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:] if lines > 0 else []


class _Flock:
    """`with _Flock(path):` holds an exclusive flock() on path (created 0600) for the block.

    A class, not @contextlib.contextmanager: contextlib (collections, functools) would cost every
    command a sixth of Python's start-up, for two locks that only jobs take."""

    def __init__(self, path: str):
        self.path = path
        self.fd = -1

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return None

    def __exit__(self, *exc):
        fd, self.fd = self.fd, -1
        os.close(fd)
        return False


def _listdir(directory: str) -> list:
    try:
        return os.listdir(directory)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
            return []
        raise
