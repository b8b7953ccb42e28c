"""What a unit's record remembers about its processes (stored as JSON by the state store)."""
from __future__ import annotations

import os
# typing only for the reader: never imported at run time (start-up cost, see shim/plain.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Optional

from shim.plain import Plain
from shim.proc.identity import ProcessRef

_MAX_PID = 2**22          # PID_MAX_LIMIT on 64-bit kernels
_MAX_REFS = 100_000       # more than any real service; a bigger list is garbage
_REF_LISTS = ("processes", "sessions", "pgroups")


class Tracking(Plain):
    invocation_id = ""
    processes = None    # [ProcessRef]: captured at start, or adopted
    sessions = None     # [ProcessRef]: (sid, leader starttime)
    pgroups = None      # [ProcessRef]: (pgid, leader starttime)
    cgroup = None       # absolute path of the unit's cgroup2 dir, or None
    adopted = False
    keeper = None       # ProcessRef of the resident keeper (child subreaper of the whole tree)
    main = None         # ProcessRef of the main process, as the keeper saw it after start
    _factories = {"processes": list, "sessions": list, "pgroups": list}

    @property
    def empty(self) -> bool:
        return not (self.invocation_id or self.processes or self.sessions or self.pgroups or self.cgroup
                    or self.keeper)

    def earliest_start(self) -> Optional[int]:
        """No process of this invocation can have started before its earliest recorded leader or
        process; membership uses this to skip old processes cheaply."""
        starts = [ref.starttime for ref in self.processes + self.sessions + self.pgroups]
        return min(starts) if starts else None

    def to_dict(self) -> dict:
        return {
            "invocation_id": self.invocation_id,
            "processes": [[ref.pid, ref.starttime] for ref in self.processes],
            "sessions": [[ref.pid, ref.starttime] for ref in self.sessions],
            "pgroups": [[ref.pid, ref.starttime] for ref in self.pgroups],
            "cgroup": self.cgroup,
            "adopted": self.adopted,
            "keeper": list(self.keeper) if self.keeper else None,
            "main": list(self.main) if self.main else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Tracking":
        """Never raises: a record that is not exactly what to_dict writes gives an empty Tracking,
        because a wrong pid here means signals sent to a stranger."""
        try:
            return _validated(data)
        except Exception:   # noqa: BLE001 - hostile input of any shape
            return cls()

    def merged(self, other: "Tracking") -> "Tracking":
        """Union of two records (self first). adopted stays true only if every non-empty part was
        adopted: once we captured anything ourselves, the unit counts as tracked."""
        def union(a: List[ProcessRef], b: List[ProcessRef]) -> List[ProcessRef]:
            return list(dict.fromkeys(a + b))
        parts = [t for t in (self, other) if not t.empty]
        return Tracking(
            invocation_id=self.invocation_id or other.invocation_id,
            processes=union(self.processes, other.processes),
            sessions=union(self.sessions, other.sessions),
            pgroups=union(self.pgroups, other.pgroups),
            cgroup=self.cgroup or other.cgroup,
            adopted=bool(parts) and all(t.adopted for t in parts),
            keeper=self.keeper or other.keeper,
            main=self.main or other.main,
        )


def _int(value: Any) -> int:
    if type(value) is not int:       # bool is an int subclass: refuse it too
        raise ValueError("not an int")
    return value


def _refs(value: Any) -> List[ProcessRef]:
    if not isinstance(value, list) or len(value) > _MAX_REFS:
        raise ValueError("not a list of refs")
    refs = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ValueError("not a ref")
        pid, starttime = _int(item[0]), _int(item[1])
        if not 0 < pid <= _MAX_PID or starttime < 0:
            raise ValueError("ref out of range")
        refs.append(ProcessRef(pid, starttime))
    return list(dict.fromkeys(refs))


def _cgroup(value: Any) -> Optional[str]:
    if value is None:
        return None
    if (not isinstance(value, str) or not value.startswith("/") or value == "/"
            or "\0" in value or "\n" in value or os.path.normpath(value) != value):
        raise ValueError("not an absolute, normalised cgroup path")
    return value


def _validated(data: Any) -> Tracking:
    if not isinstance(data, dict):
        raise ValueError("not a dict")
    invocation_id = data.get("invocation_id", "")
    if not isinstance(invocation_id, str) or "\0" in invocation_id or "\n" in invocation_id:
        raise ValueError("bad invocation id")
    adopted = data.get("adopted", False)
    if not isinstance(adopted, bool):
        raise ValueError("bad adopted flag")
    lists = {name: _refs(data.get(name, [])) for name in _REF_LISTS}
    single = {name: (_refs([data[name]])[0] if data.get(name) is not None else None)
              for name in ("keeper", "main")}
    return Tracking(invocation_id=invocation_id, cgroup=_cgroup(data.get("cgroup")), adopted=adopted,
                    **lists, **single)
