"""Restart= and the start rate limit, as systemd 252 decides them (reference/unit-files.md §13).

Pure functions of a unit's config, how its run ended and the times of its recent starts, so that
the keeper's after-exit handling (`shim/engine/afterexit.py`) and the start job ask the same
questions and tests can ask them without processes.
"""

from shim.core.config import USEC

# Signals after which a main process's death is clean for a service (EXIT_CLEAN_DAEMON).
CLEAN_SIGNALS = frozenset({1, 2, 15, 13})     # SIGHUP, SIGINT, SIGTERM, SIGPIPE

# Restart= -> the run results it restarts after (service_shall_restart's table)
_RESTARTS_AFTER = {
    "no": frozenset(),
    "always": frozenset({"success", "exit-code", "signal", "core-dump", "timeout", "watchdog"}),
    "on-success": frozenset({"success"}),
    "on-failure": frozenset({"exit-code", "signal", "core-dump", "timeout", "watchdog"}),
    "on-abnormal": frozenset({"signal", "core-dump", "timeout", "watchdog"}),
    "on-abort": frozenset({"signal", "core-dump"}),
    "on-watchdog": frozenset({"watchdog"}),
}


def main_result(config, code: str, status: int) -> str:
    """systemd's Result= for a main process that ended with (code, status): code is "exited",
    "killed" or "dumped" (ExecMainCode), status the exit code or signal number."""
    if code == "exited":
        return "success" if status == 0 or status in config.success_exit_status else "exit-code"
    if status in CLEAN_SIGNALS or status in config.success_exit_signals:
        return "success"
    return "core-dump" if code == "dumped" else "signal"


def shall_restart(config, result: str, code: str = "", status: int = 0) -> bool:
    """After a run that ended with `result` (and, when the main process ended, its code and
    status): RestartPreventExitStatus= wins, RestartForceExitStatus= forces, else Restart=."""
    if code:
        prevent = config.restart_prevent_exit_signals if code != "exited" else \
            config.restart_prevent_exit_status
        if status in prevent:
            return False
        force = config.restart_force_exit_signals if code != "exited" else \
            config.restart_force_exit_status
        if status in force:
            return True
    return result in _RESTARTS_AFTER.get(config.restart, frozenset())


def within_limit(config, start_times, now: float) -> bool:
    """May the unit start once more? StartLimitBurst= starts within StartLimitIntervalSec=
    (0 for either turns the limit off)."""
    interval = config.start_limit_interval_usec / USEC
    burst = config.start_limit_burst
    if interval <= 0 or burst <= 0:
        return True
    recent = [t for t in start_times if now - t < interval]
    return len(recent) < burst


def recent_starts(config, start_times, now: float) -> list:
    """The start times still inside the interval (what the record keeps)."""
    interval = config.start_limit_interval_usec / USEC
    if interval <= 0:
        return []
    return [t for t in start_times if now - t < interval][-max(config.start_limit_burst, 1) - 1:]
