"""NeedDaemonReload without a daemon: has a loaded unit's unit file changed on disk since it was
loaded? (unit-files.md 14.6; systemd's unit_need_daemon_reload()).

systemd loads a unit once and keeps it until daemon-reload; we read unit files afresh for every
command, so "loaded" needs a definition of its own. A native unit is *loaded* while it is started
or failed (a unit we never started, or stopped, is not kept: systemd garbage-collects it and loads
it fresh next time, so it never needs a reload either). What it was loaded from is

* the stamp `daemon-reload` (or the start job, via `stamp()`) wrote: {path: mtime_ns} of its
  fragment, drop-ins and drop-in directories, valid for the invocation it was taken for; exact,
  so an edited, added or removed file or directory is a change; or else
* the time the unit was started (its record's ActiveEnterTimestamp, for a failed unit the time
  it failed): a fragment, drop-in or drop-in directory modified after it is a change (adding or
  removing a drop-in touches its directory). Only a whole drop-in directory removed since the
  start goes unnoticed this way.

Stamps live in one framed marshal file under the state directory (`unitcache.read_framed`). A
stamped unit whose file is then deleted while it runs is still a unit, as after systemd's
daemon-reload: `Loaded: not-found`, active, with systemd's defaults for everything its file
said (no ExecStop=: stop signals its processes), so that `status` shows and `stop` stops it
(`loaded_unit()`).
"""

import os

from shim.backends.unitcache import read_framed, write_framed

STAMPS_NAME = "loaded.marshal"
WARNING = ("Warning: The unit file, source configuration file or drop-ins of %s changed on disk. "
           "Run 'systemctl daemon-reload' to reload units.")


def _stamps_path(manager) -> str:
    return os.path.join(manager.ctx.state_dir, STAMPS_NAME)


def _read_stamps(manager) -> dict:
    return _read_stamps_at(manager.ctx.state_dir)


def _read_stamps_at(state_dir) -> dict:
    stamps = read_framed(os.path.join(state_dir, STAMPS_NAME))
    return stamps if type(stamps) is dict else {}


def _valid(stamp, record):
    """The stamp's {path: mtime_ns} if it was taken for the record's invocation, else None."""
    if type(stamp) is tuple and len(stamp) == 2 and type(stamp[0]) is str and stamp[0] and \
            stamp[0] == record.invocation_id and type(stamp[1]) is dict:
        return stamp[1]
    return None


def _loaded_since(record):
    """When the unit's current configuration was loaded (seconds), or None if it is not loaded."""
    if record.state == "started":
        return record.active_since or None
    if record.state == "failed":
        return record.inactive_since or record.active_since or None
    return None


def _files(manager, unit) -> dict:
    files = manager.index.unit_files()
    return files.mtimes(unit.id, fresh=False)


def changed_on_disk(manager, unit, record=None) -> bool:
    """NeedDaemonReload= of `unit` (a Unit of shim/units.py). Never raises."""
    if unit.backend != "native" or manager.ctx.offline:
        return False
    try:
        if record is None:
            record = manager.store.load(unit.id)
        since = _loaded_since(record)
        if since is None:
            return False
        now = _files(manager, unit)              # {} for a unit whose file is gone
        stamp = _valid(_read_stamps(manager).get(unit.id), record)
        if stamp is not None:
            return stamp != now
        limit = int(since * 1e9)
        return not now or any(m is None or m > limit for m in now.values())
    except (OSError, ValueError):
        return False


def stamp(manager, unit, record=None) -> None:
    """Record what a loaded unit is loaded from now (daemon-reload; a start job may call it
    right after the start so that even a removed drop-in directory counts)."""
    stamp_many(manager, [(unit, record)])


def stamp_many(manager, units, replace=False) -> None:
    """stamp() for [(unit, record or None)]; one write. Units not loaded lose their stamp;
    `replace` (daemon-reload) drops every other stamp too."""
    stamps = {} if replace else _read_stamps(manager)
    for unit, record in units:
        if unit.backend != "native":
            continue
        if record is None:
            record = manager.store.load(unit.id)
        if _loaded_since(record) is None or not record.invocation_id:
            stamps.pop(unit.id, None)
            continue
        stamps[unit.id] = (record.invocation_id, _files(manager, unit))
    # 0644: paths and mtimes of unit files only, and a user's `systemctl status` must agree
    # with root's about NeedDaemonReload
    write_framed(_stamps_path(manager), stamps, mode=0o644)


def loaded_unit(ctx, unit_id: str):
    """A native unit whose file is gone but which is still loaded (started or failed, stamped for
    its current invocation) as a Unit of shim/units.py: LoadState=not-found, systemd's defaults.
    None otherwise (the caller's not-found unit). Never raises."""
    if ctx.offline:
        return None
    try:
        stamp = _read_stamps_at(ctx.state_dir).get(unit_id)
        if stamp is None:
            return None
        from shim.state import StateStore
        record = StateStore(ctx.state_dir, ctx.proc).load(unit_id)
        if _loaded_since(record) is None or _valid(stamp, record) is None:
            return None
        from shim.core.config import UnitConfig
        from shim.units import Unit
        config = UnitConfig(id=unit_id, names=(unit_id,), description=unit_id,
                            load_state="not-found", load_error="Unit %s not found." % unit_id)
        return Unit(id=unit_id, backend="native", names=(unit_id,), description=unit_id,
                    extra={"config": config, "gone": True})
    except (OSError, ValueError, TypeError):
        return None


def warn_if_changed(ctx, manager, unit, record=None) -> bool:
    """Print systemctl's warning on stderr when the unit needs a daemon-reload (status, start,
    stop, restart do this in systemd: src/systemctl/systemctl-util.c warn_unit_file_changed)."""
    if changed_on_disk(manager, unit, record):
        ctx.warn(WARNING % unit.id)
        return True
    return False
