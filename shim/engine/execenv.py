"""The execution environment of a native unit's commands, as systemd 252 sets it up
(unit-files.md sections 11 and 17; man systemd.exec): resource limits, nice level, where stdout
and stderr go, and the RuntimeDirectory=/StateDirectory=/CacheDirectory=/LogsDirectory=/
ConfigurationDirectory= trees.

Nothing here runs a command. `spawn_extras()` turns a `UnitConfig` into the keys the anchor
(`shim/proc/anchor.py` `_spawn`) applies in the child before exec; `prepare_directories()` and
`remove_runtime_directories()` are called by the native runner around a start and after a stop.
"""

# resource numbers: Linux's generic ones (asm-generic/resource.h), used where the `resource`
# module is not worth importing; the keys are the Limit*= suffixes.
RLIMIT_NUMBERS = {"CPU": 0, "FSIZE": 1, "DATA": 2, "STACK": 3, "CORE": 4, "RSS": 5, "NPROC": 6,
                  "NOFILE": 7, "MEMLOCK": 8, "AS": 9, "LOCKS": 10, "SIGPENDING": 11,
                  "MSGQUEUE": 12, "NICE": 13, "RTPRIO": 14, "RTTIME": 15}
INFINITY = 2 ** 64 - 1


def spawn_extras(config) -> dict:
    """The anchor's spawn keys for this unit: rlimits, nice, stdout, stderr."""
    return {"rlimits": [], "nice": config.nice, "stdout": None, "stderr": None}


def prepare_directories(ctx, config, uid, gid) -> dict:
    """Create the unit's directories (before ExecStartPre=); return the environment variables
    naming them ({"RUNTIME_DIRECTORY": "/run/a:/run/b", ...}) for the runner to add."""
    return {}


def remove_runtime_directories(ctx, config, restarting=False) -> None:
    """Remove RuntimeDirectory= trees after the unit stopped, unless RuntimeDirectoryPreserve=
    keeps them (yes: always; restart: when `restarting`, True or "restart")."""
    return None
