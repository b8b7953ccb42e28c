"""A unit's states and the transitions between them, in one place.

systemd's unit states (ActiveState), a service's sub-states (SubState) and results (Result) are
strings on the bus, so they are string constants here: what we store and print is exactly what
systemctl prints. `TRANSITIONS` says which ActiveState may follow which, the way supervisor's
process states guard `change_state()`; `change()` is the only way a stored state moves. The live
process truth still decides what is shown (`shim/runtime.py`): a record that says active while
nothing runs is reported as the death it is, never as active.
"""


class Active:
    INACTIVE = "inactive"
    ACTIVATING = "activating"
    ACTIVE = "active"
    RELOADING = "reloading"
    DEACTIVATING = "deactivating"
    FAILED = "failed"


class Sub:
    DEAD = "dead"
    START = "start"
    RUNNING = "running"
    EXITED = "exited"
    RELOAD = "reload"
    STOP = "stop"
    FAILED = "failed"


class Result:
    SUCCESS = "success"
    EXIT_CODE = "exit-code"
    SIGNAL = "signal"
    CORE_DUMP = "core-dump"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    RESOURCES = "resources"
    START_LIMIT_HIT = "start-limit-hit"


A = Active
TRANSITIONS = {
    A.INACTIVE: {A.ACTIVATING, A.ACTIVE, A.FAILED},
    A.ACTIVATING: {A.ACTIVE, A.FAILED, A.DEACTIVATING, A.INACTIVE},
    A.ACTIVE: {A.RELOADING, A.DEACTIVATING, A.INACTIVE, A.FAILED, A.ACTIVATING},
    A.RELOADING: {A.ACTIVE, A.DEACTIVATING, A.FAILED},
    A.DEACTIVATING: {A.INACTIVE, A.FAILED},
    A.FAILED: {A.ACTIVATING, A.ACTIVE, A.INACTIVE},
}

# The record's own words (what the state store keeps) and the ActiveState each stands for.
RECORD_STATES = {"": A.INACTIVE, "stopped": A.INACTIVE, "started": A.ACTIVE, "failed": A.FAILED,
                 "auto-restart": A.ACTIVATING}     # between a run's end and Restart='s next start


class TransitionError(ValueError):
    pass


def change(current: str, new: str) -> str:
    """`new`, if the state machine allows it after `current`; a bug otherwise."""
    if new != current and new not in TRANSITIONS.get(current, ()):
        raise TransitionError("%s -> %s is not a unit state transition" % (current, new))
    return new
