"""Deliver one signal to exactly one process: the one named by (pid, starttime), or nobody.

With pidfds (Linux 5.3+) the identity check cannot race: the pidfd pins the process that had the
pid when we opened it, and the start time read after opening proves it is the one we collected
(it had that pid before we opened the fd, so no other process can have had it in between).
"""
from __future__ import annotations

import ctypes
import errno
import os
import signal
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

from shim.proc.identity import ProcessRef

SYS_pidfd_send_signal = 424     # the same number on every architecture (unified syscall table)
SI_QUEUE = -1


class _KillFields(ctypes.Structure):
    # siginfo._sifields._rt: pid, uid, sigval; its alignment (pointer size) gives the kernel layout
    _fields_ = [("pid", ctypes.c_int), ("uid", ctypes.c_uint), ("value", ctypes.c_void_p)]


class _SigInfo(ctypes.Structure):
    _fields_ = [("signo", ctypes.c_int), ("errno", ctypes.c_int), ("code", ctypes.c_int),
                ("rt", _KillFields), ("pad", ctypes.c_byte * 96)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _queue_info(signo: int, value: int) -> _SigInfo:
    info = _SigInfo()
    info.signo, info.code = signo, SI_QUEUE
    info.rt.pid, info.rt.uid = os.getpid(), os.getuid()
    info.rt.value = value & 0xFFFFFFFF      # sival_int is the low half of the union (little endian)
    return info


def _send_via_pidfd(pidfd: int, signo: int, value: Optional[int]) -> None:
    if value is None:
        signal.pidfd_send_signal(pidfd, signo)
        return
    info = _queue_info(signo, value)
    libc = _libc()
    if libc.syscall(SYS_pidfd_send_signal, pidfd, signo, ctypes.byref(info), 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _send_via_pid(pid: int, signo: int, value: Optional[int]) -> None:
    if value is None:
        os.kill(pid, signo)
        return
    libc = _libc()
    libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    if libc.sigqueue(pid, signo, value & 0xFFFFFFFF) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def signal_ref(ref: ProcessRef, signo: int, *, value: Optional[int] = None, proc_root: str = "/proc") -> bool:
    """True if the signal went to ref; False if it is gone, a zombie, or its pid names another
    process now (ESRCH is not an error). Other errors (EPERM) are raised."""
    if ref.pid <= 0:
        return False
    pidfd = None
    try:
        pidfd = os.pidfd_open(ref.pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):
        pidfd = None            # no pidfd_open (kernel < 5.3 or Python build): plain kill
    try:
        if not ref.alive(proc_root):
            return False
        if pidfd is not None:
            _send_via_pidfd(pidfd, signo, value)
        else:
            _send_via_pid(ref.pid, signo, value)
        return True
    except OSError as error:
        if error.errno == errno.ESRCH:
            return False
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
