"""The execution environment of a native unit's commands, as systemd 252 sets it up
(unit-files.md sections 11 and 17; man systemd.exec; src/core/execute.c, src/basic/rlimit-util.c):
resource limits, the nice level, where stdout and stderr go; and, from `execdirs`, the
RuntimeDirectory=/StateDirectory=/CacheDirectory=/LogsDirectory=/ConfigurationDirectory= trees.

Nothing here runs a command. `spawn_extras()` turns a `UnitConfig` into the keys the anchor
(`shim/proc/anchor.py` `_spawn`) applies in the child before exec; `prepare_directories()` (before
each command, `+` commands too) and `remove_runtime_directories()` (once the unit is dead) are
called by the native runner.
"""

import os

# The directories live in their own module; the runner knows them by these names.
from shim.engine.execdirs import (  # noqa: F401
    ExecDirectoryError, directory_environment, prepare_directories, remove_runtime_directories)

INFINITY = 2 ** 64 - 1           # RLIM_INFINITY as the loader stores it
# Linux's generic resource numbers (asm-generic/resource.h), for an interpreter whose `resource`
# module lacks a name; keys are the Limit*= suffixes.
RLIMIT_NUMBERS = {"CPU": 0, "FSIZE": 1, "DATA": 2, "STACK": 3, "CORE": 4, "RSS": 5, "NPROC": 6,
                  "NOFILE": 7, "MEMLOCK": 8, "AS": 9, "LOCKS": 10, "SIGPENDING": 11,
                  "MSGQUEUE": 12, "NICE": 13, "RTPRIO": 14, "RTTIME": 15}
# The manager's defaults that every service gets unless it says otherwise (systemd 252 measured:
# LimitNOFILE=524288, LimitNOFILESoft=1024; soft 1024 keeps select() users working). Everything
# else is inherited, as systemd's services inherit PID 1's.
DEFAULT_LIMITS = {"NOFILE": (1024, 524288)}

# StandardOutput=/StandardError= words of systemd 252 whose target is the journal; without
# journald they all mean the unit's log (the anchor's default). syslog* are the pre-246 spellings,
# still read as journal*.
_TO_LOG = ("journal", "journal+console", "kmsg", "kmsg+console", "syslog", "syslog+console")
_OUTPUT_WORDS = _TO_LOG + ("inherit", "null", "tty", "socket", "fd")
_INPUT_WORDS = ("null", "tty", "tty-force", "tty-fail", "data", "socket", "fd")
_FILE_KINDS = ("file", "append", "truncate")
DEFAULT_TTY = "/dev/console"      # TTYPath= default

# --- limits and nice --------------------------------------------------------------------------

def _resource_number(name: str) -> int:
    import resource                   # a builtin module: cheap, and right on every architecture
    return getattr(resource, "RLIMIT_" + name, RLIMIT_NUMBERS[name])


def _rlim(value: int) -> int:
    """The anchor's form: -1 for infinity (Python's RLIM_INFINITY); values above what setrlimit()
    takes from Python (2**63) can only mean unlimited."""
    return -1 if value >= 2 ** 63 else value


def _nice_limit(value: int):
    """LimitNICE= as the kernel's raw 0..40 (rlimit_parse_nice): a negative number is a nice
    level (-20..-1 -> 40..21); None when out of range. The loader parses '+5' as 5 (raw), where
    systemd reads it as nice level 5 (raw 15): the sign is gone by the time we see it."""
    if value == INFINITY:
        return value
    if value < 0:
        return 20 - value if value >= -20 else None
    return value if value <= 40 else None


def rlimits(limits, warn=None) -> list:
    """[(resource number, soft, hard)] for the anchor, the manager's defaults included."""
    merged = dict(DEFAULT_LIMITS)
    merged.update(limits or {})
    result = []
    for name in sorted(merged, key=lambda n: RLIMIT_NUMBERS.get(n, 99)):
        if name not in RLIMIT_NUMBERS:
            continue
        soft, hard = merged[name]
        if name == "NICE":
            soft, hard = _nice_limit(soft), _nice_limit(hard)
            if soft is None or hard is None or (hard != INFINITY and soft > hard):
                if warn:
                    warn("LimitNICE= value out of range, ignoring: %s:%s" % merged[name])
                continue
        result.append((_resource_number(name), _rlim(soft), _rlim(hard)))
    return result


def _nice(config, warn=None):
    value = config.nice
    if value is None:
        return None
    if not -20 <= value <= 19:
        if warn:
            warn("Nice= out of range, ignoring: %s" % value)
        return None
    return value


# --- standard input/output --------------------------------------------------------------------

def parse_output(value: str):
    """(kind, argument) for a StandardOutput=/StandardError= value systemd 252 accepts, else None
    (systemd: 'Failed to parse output specifier, ignoring: X', and the setting keeps its
    default). argument: the path for file/append/truncate, the name for fd, else None."""
    kind, sep, argument = value.partition(":")
    if kind in _FILE_KINDS and sep:
        path = _absolute_path(argument)
        return (kind, path) if path else None
    if kind == "fd":
        return ("fd", argument or None) if not sep or (argument and ":" not in argument) else None
    if not sep and kind in _OUTPUT_WORDS:
        return (kind, None)
    return None


def parse_input(value: str):
    """(kind, argument) for a StandardInput= value, else None (the default, null, stays)."""
    kind, sep, argument = value.partition(":")
    if kind == "file" and sep:
        path = _absolute_path(argument)
        return ("file", path) if path else None
    if kind == "fd":
        return ("fd", argument or None) if not sep or (argument and ":" not in argument) else None
    if not sep and kind in _INPUT_WORDS:
        return (kind, None)
    return None


def _absolute_path(text: str) -> str:
    """path_simplify_and_warn(PATH_CHECK_ABSOLUTE): '' when not an absolute path."""
    if not text.startswith("/") or "\0" in text or ".." in text.split("/"):
        return ""
    return os.path.normpath(text).replace("//", "/")


def _tty_path(config) -> str:
    found = DEFAULT_TTY
    for key, value in config.sandboxing or ():
        if key == "TTYPath":
            found = value or DEFAULT_TTY
    return found


def _stdout_target(config, output, warn, key="StandardOutput"):
    """The anchor's key for a parsed StandardOutput= (or StandardError=): None is the unit's
    log."""
    kind, argument = output
    if kind in _TO_LOG:
        return None
    if kind == "null":
        return ("null", os.devnull)
    if kind == "tty":
        return ("tty", _tty_path(config))
    if kind in _FILE_KINDS:
        return (kind, argument)
    if kind == "inherit":
        # systemd: stdout inherits from stdin; stdin null (the default) or data gives /dev/null
        # (PID 1 opens /dev/null anew), a terminal gives the terminal.
        stdin = parse_input(config.standard_input or "null") or ("null", None)
        if stdin[0].startswith("tty"):
            return ("tty", _tty_path(config))
        if stdin[0] in ("null", "data", "file"):
            # (file: systemd duplicates the read-only descriptor; every write fails, like null)
            return ("null", os.devnull)
        kind = "stdin " + stdin[0]
    if warn:
        warn("%s=%s is not supported by systemctl-shim (no socket activation, no file "
             "descriptor store); output goes to the unit's log." % (key, kind))
    return None


def standard_streams(config, warn=None):
    """(stdout, stderr) keys for the anchor: None (the unit's log), (mode, path), or for stderr
    ("inherit", None): the same descriptor as stdout."""
    output = parse_output(config.standard_output or "") or ("journal", None)
    error = parse_output(config.standard_error or "") or ("inherit", None)
    stdout = _stdout_target(config, output, warn)
    # can_inherit_stderr_from_stdout(): inherit, or the very same setting (same kind, same path),
    # shares stdout's descriptor (one file offset: file: output is not overwritten by stderr).
    if error[0] == "inherit" or error == output:
        return stdout, (None if stdout is None else ("inherit", None))
    return stdout, _stdout_target(config, error, warn, "StandardError")


def spawn_extras(config, warn=None) -> dict:
    """The anchor's spawn keys for this unit: rlimits, nice, stdout, stderr. Never raises: a value
    systemd would not accept means its default (the loader warns where systemd does); `warn` gets
    a sentence for what is accepted but not done."""
    stdout, stderr = standard_streams(config, warn)
    return {"rlimits": rlimits(config.limits, warn), "nice": _nice(config, warn),
            "stdout": stdout, "stderr": stderr}
