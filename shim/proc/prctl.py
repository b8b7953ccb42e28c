"""The one prctl(2) option the process model needs: PR_SET_CHILD_SUBREAPER (Linux 3.4+).

A child subreaper inherits the orphans of its descendants instead of init, which is what makes
"everything a command left behind" exactly the subreaper's descendants."""

import ctypes

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _prctl():
    return ctypes.CDLL(None, use_errno=True).prctl


def get_child_subreaper() -> int:
    value = ctypes.c_int(0)
    if _prctl()(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return 0
    return value.value


def set_child_subreaper(on: int) -> None:
    _prctl()(PR_SET_CHILD_SUBREAPER, on, 0, 0, 0)
