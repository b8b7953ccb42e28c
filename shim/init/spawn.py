"""Children of PID 1 start with a clean signal state.

PID 1 blocks every signal and takes them with sigtimedwait(); a blocked mask and ignored
dispositions are inherited across fork and exec, so a child started any other way would never
see SIGTERM (and would ignore SIGPIPE, as Python does). posix_spawn resets both."""

import os
try:
    import _signal as signal    # the C module: `signal` wraps it in enum (PID 1 stays small)
except ImportError:             # pragma: no cover - another Python implementation
    import signal
import sys

# Every signal a process can have a disposition for: 1..SIGRTMAX, minus the two nobody can catch.
ALL_SIGNALS = frozenset(range(1, signal.SIGRTMAX + 1)) - {signal.SIGKILL, signal.SIGSTOP, 32, 33}
# 32 and 33 belong to glibc's threads (SIGCANCEL, SIGSETXID): never ours to block or reset.


def spawn(argv, env=None) -> int:
    """Start argv (argv[0] a path) with every signal unblocked and at its default action."""
    return os.posix_spawn(argv[0], argv, os.environ if env is None else env,
                          setsigmask=(), setsigdef=sorted(ALL_SIGNALS))


def python_module(module: str, *args, env=None) -> int:
    """`python3 -m MODULE ARGS...` with the interpreter PID 1 runs on (same shim, same paths)."""
    return spawn([sys.executable, "-m", module] + list(args), env=env)
