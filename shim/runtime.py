"""The live state of a unit, computed now from processes, pidfiles, OpenRC's records and ours.

Never a flag written at start: a daemon killed behind our back is `failed` (or `inactive`), not
`active`. The inspector is per command: it shares one /proc snapshot between the units it looks
at, and takes that snapshot only when a cheaper answer is not enough (`is-active` on a unit with
a good pidfile reads a handful of small files).
"""

import os
import time

from shim import pidfile
from shim.backends import openrc
from shim.plain import Plain
from shim.proc import membership
from shim.proc.identity import ProcessRef
from shim.proc.snapshot import Snapshot, start_epoch
from shim.proc.tracking import Tracking
from shim.state import Record, StateStore
from shim.units import Unit

# Signals after which a daemon's death counts as a clean exit (systemd's EXIT_CLEAN_DAEMON).
# SIGHUP, SIGINT, SIGTERM, SIGPIPE as the plain numbers they are on Linux (`import signal` would
# bring in enum, more than a tenth of Python's start-up; tests/test_cli_startup.py checks them).
CLEAN_SIGNALS = frozenset({1, 2, 15, 13})
_CONTROL_STATES = {"start": ("activating", "start"), "stop": ("deactivating", "stop"),
                   "reload": ("reloading", "reload"), "restart": ("activating", "start"),
                   "stop-post": ("deactivating", "stop-post")}


class Runtime(Plain):
    unit = None
    load_state = "loaded"        # loaded | not-found | masked
    active_state = "inactive"
    sub_state = "dead"
    result = "success"
    since = 0.0                  # when the unit entered its current state (epoch)
    main = None                  # ProcessRef of the main process
    main_source = ""             # the pidfile, or "tracking"
    pidfile_note = ""            # why a pidfile was refused
    control = None               # ProcessRef of the script we are running for the unit
    control_verb = ""
    record = None                # Record
    tracking = None              # Tracking
    mode = "none"                # how members were found: cgroup | tracked | adopted | none
    members = None               # set of pids, filled by Inspector.members()
    logins = None                # pids excluded because they are interactive logins
    extra_cgroups = ()
    main_exit = None             # how the main process ended, as its keeper saw it
    notify = None                # what the unit said over sd_notify (STATUS=, ERRNO=, ...)
    _factories = {"record": Record, "tracking": Tracking, "logins": set}

    @property
    def main_pid(self) -> int:
        return self.main.pid if self.main else 0

    @property
    def control_pid(self) -> int:
        return self.control.pid if self.control else 0

    @property
    def is_active(self) -> bool:
        return self.active_state in ("active", "reloading")


def cgroup2_mounts(ctx) -> list:
    """cgroup2 mount points where OpenRC may keep services (unified or hybrid layouts)."""
    found = []
    for candidate in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        path = ctx.path(candidate)
        if os.path.isfile(os.path.join(path, "cgroup.procs")):
            found.append(path)
    return found


class Inspector:
    def __init__(self, ctx, store: StateStore, masked):
        self.ctx = ctx
        self.store = store
        self.masked = masked              # callable(unit) -> bool
        self._snapshot = None
        self._records = None
        self._mounts = None

    # --- shared, lazily ------------------------------------------------------------------------
    def _cgroup2_mounts(self) -> list:
        if self._mounts is None:
            self._mounts = cgroup2_mounts(self.ctx)     # once per command, not per unit
        return self._mounts

    def snapshot(self, fresh: bool = False) -> Snapshot:
        if self._snapshot is None or fresh:
            self._snapshot = Snapshot.take(self.ctx.proc)
        return self._snapshot

    def protected(self) -> set:
        return membership.protected_pids(self.snapshot())

    def _claimed_elsewhere(self, unit: Unit):
        """pid -> True if another unit's record captured that process (pidfile pointing away)."""
        if self._records is None:
            self._records = self.store.all_records()
        def claimed(pid: int) -> bool:
            for unit_id, record in self._records.items():
                if unit_id in unit.names or record.state != "started":
                    continue
                if any(ref.pid == pid and ref.alive(self.ctx.proc) for ref in record.tracking.processes):
                    return True
            return False
        return claimed

    # --- one unit ------------------------------------------------------------------------------
    def inspect(self, unit: Unit) -> Runtime:
        rt = Runtime(unit=unit)
        if not unit.found:
            rt.load_state = "not-found"
            return rt
        if self.masked(unit):
            rt.load_state = "masked"
        elif unit.backend == "native":
            rt.load_state = unit.extra["config"].load_state     # bad-setting, error
        if unit.backend == "target":
            return self._inspect_target(rt)
        rt.record = self.store.load(unit.id)
        record = rt.record
        if record.state == "started":
            rt.tracking = record.tracking
            if unit.backend == "native" and record.tracking.keeper is not None:
                rt.notify = self.store.notify_state(unit.id)
        if record.control:
            ref = ProcessRef(record.control.pid, record.control.starttime)
            if ref.alive(self.ctx.proc):
                rt.control, rt.control_verb = ref, record.control.verb
        rt.extra_cgroups = tuple(d for m in self._cgroup2_mounts()
                                 for d in openrc.cgroup_dirs(m, unit.name))
        self._find_main(rt)
        self._decide_state(rt)
        if rt.main_exit is None and record.main_exit and not rt.main:
            rt.main_exit = record.main_exit         # the last run's, kept after it was finished
        return rt

    def _pidfile_candidates(self, unit: Unit) -> list:
        recorded = openrc.recorded_pidfiles(self.ctx, unit.name)
        return list(dict.fromkeys(recorded + list(unit.pidfiles)))

    def _find_main(self, rt: Runtime) -> None:
        stale = None
        for path in self._pidfile_candidates(rt.unit):
            if not os.path.lexists(path):
                continue
            # The cheap checks need no snapshot; membership is computed only if the file's owner
            # makes it necessary (is_member is called lazily by pidfile.check).
            verdict = pidfile.check(path, protected=self._cheap_protected(),
                                    is_member=lambda pid: pid in self.members(rt),
                                    claimed_elsewhere=self._claimed_elsewhere(rt.unit),
                                    proc_root=self.ctx.proc)
            if verdict.pid and not self._provably_ours(rt, verdict.pid):
                verdict.pid, verdict.reason = 0, "PID %d is not a process of the service" % verdict.pid
            if verdict.pid:
                rt.main, rt.main_source = verdict.ref, path
                return
            if verdict.exists and stale is None:
                stale = verdict
        if stale is not None:
            rt.pidfile_note = "%s: %s" % (stale.path, stale.reason)
        # No usable pidfile: the main process the unit named over sd_notify (MAINPID=), else
        # the one the keeper saw after start, else the single daemon captured at start.
        said = rt.notify or {}
        if said.get("mainpid") and said.get("mainstart"):
            ref = ProcessRef(said["mainpid"], said["mainstart"])
            if ref.alive(self.ctx.proc):
                rt.main, rt.main_source = ref, "notify"
                return
        main = rt.tracking.main
        if main is not None and main.alive(self.ctx.proc) and \
                (not rt.tracking.cgroup or main.pid in self.members(rt)):
            rt.main, rt.main_source = main, "tracking"     # with a cgroup: still in it
            return
        alive = [ref for ref in rt.tracking.processes if ref.alive(self.ctx.proc)]
        if len(alive) == 1 and not rt.tracking.cgroup:
            rt.main, rt.main_source = alive[0], "tracking"

    def _provably_ours(self, rt: Runtime, pid: int) -> bool:
        """For a unit we started, a pidfile may only name one of its processes: the main pid is
        signalled directly by `kill`, so a pidfile naming a stranger must not become it."""
        if rt.tracking.empty:
            return True                     # nothing recorded: the pidfile is all we have
        recorded = [ref for ref in rt.tracking.processes + rt.tracking.sessions + rt.tracking.pgroups
                    if ref.pid == pid]
        if recorded:
            # The pid of a process we recorded: ours only if it is still that very process. The
            # same number with another start time is a reuse (the daemon died, its pidfile stayed,
            # the kernel handed the number on): when unsure, not ours.
            now = ProcessRef.of(pid, self.ctx.proc)
            return now is not None and now in recorded
        if pid in self.members(rt):
            return True
        if rt.members:
            return False                    # our daemon lives: the pidfile lies
        # Nothing we started is alive: the service was restarted behind our back (e.g.
        # `/etc/init.d/cron restart` by hand, Ansible's sysvinit module). The record is stale;
        # adopt from the pidfile exactly as for a service we never started.
        rt.tracking, rt.members = Tracking(), None
        return True

    def _cheap_protected(self) -> set:
        """PID 1, us and our ancestors (membership.protected_pids), read from a few stat files
        instead of a full snapshot, except an ancestor that can only be a service's daemon: outside
        our session, no terminal, a child of init or of a unit's keeper (the sshd listener when
        systemctl runs over ssh), whose pidfile we may believe."""
        from shim.proc.identity import read_stat
        from shim.proc.snapshot import parse_stat
        proc_root = self.ctx.proc
        protected = {1, os.getpid()}
        raw = read_stat(os.getpid(), proc_root)
        me = parse_stat(os.getpid(), raw) if raw else None
        chain = []
        current = me
        for _ in range(4096):                     # bounded: ancestry cannot be longer than that
            if current is None or current.ppid <= 1:
                break
            raw = read_stat(current.ppid, proc_root)
            current = parse_stat(current.ppid, raw) if raw else None
            if current is not None:
                chain.append(current)
        keepers = None
        for proc in chain:
            daemon_like = me is not None and proc.sid != me.sid and proc.tty_nr == 0
            if daemon_like and proc.ppid not in (0, 1):
                if keepers is None:
                    keepers = {r.tracking.keeper.pid for r in self.store.all_records().values()
                               if r.tracking.keeper}
                daemon_like = proc.ppid in keepers
            if not daemon_like:
                protected.add(proc.pid)
        return protected

    def tracking_for(self, rt: Runtime) -> Tracking:
        """What membership starts from: our record, or (a service we did not start) the tree
        adopted from its validated main pid."""
        tracking = rt.tracking
        if rt.main and tracking.empty:
            tracking = membership.adopt(self.snapshot(), rt.main.pid)
            rt.tracking = tracking
        return tracking

    def members(self, rt: Runtime) -> set:
        """Every live process of the unit (computed once per Runtime)."""
        if rt.members is None:
            rt.members = set()        # guards the recursion through pidfile.check
            tracking = self.tracking_for(rt)
            if tracking.empty and not rt.main_pid and not rt.extra_cgroups:
                # nothing recorded, no main process, no OpenRC cgroup: by the membership rules
                # nothing can be a member (no snapshot needed; list-units over 300 unit files)
                rt.logins, rt.mode = set(), "none"
                return rt.members
            result = membership.compute(self.snapshot(), tracking, main_pid=rt.main_pid or None,
                                        extra_cgroups=rt.extra_cgroups)
            rt.members, rt.logins, rt.mode = set(result.pids), set(result.logins), result.mode
        return rt.members

    # --- state ---------------------------------------------------------------------------------
    def _decide_state(self, rt: Runtime) -> None:
        record, unit = rt.record, rt.unit
        if rt.control:
            rt.active_state, rt.sub_state = _CONTROL_STATES.get(rt.control_verb, ("activating", "start"))
            rt.since = record.active_since or time.time()
            return
        if record.state == "auto-restart" and not self._restart_overdue(rt):
            rt.active_state, rt.sub_state = "activating", "auto-restart"   # Restart='s start is due
            rt.since = record.inactive_since
            return
        if record.state == "auto-restart":
            # Whoever waited out RestartSec= (the keeper's after-exit step) is gone and the
            # restart will not come: the run's own end is the truth, and `start` works again.
            rt.active_state = rt.sub_state = "failed" if record.result != "success" else "inactive"
            if rt.active_state == "inactive":
                rt.sub_state = "dead"
            rt.result, rt.since = record.result, record.inactive_since
            return
        openrc_state = openrc.service_state(self.ctx, unit.name)
        running = bool(rt.main) or bool(self.members(rt))
        if openrc_state in ("starting", "stopping"):
            rt.active_state, rt.sub_state = (("activating", "start") if openrc_state == "starting"
                                             else ("deactivating", "stop"))
        elif running and rt.notify and rt.notify.get("stopping"):
            rt.active_state, rt.sub_state = "deactivating", "stop-sigterm"   # STOPPING=1
        elif running and rt.notify and rt.notify.get("reloading"):
            rt.active_state, rt.sub_state = "reloading", "reload"           # RELOADING=1
        elif running:
            rt.active_state, rt.sub_state = "active", "running"
            rt.since = (record.active_since if record.state == "started" and record.active_since
                        else start_epoch(rt.main.starttime) if rt.main else 0.0)
        elif openrc_state == "failed" or record.state == "failed":
            rt.active_state = rt.sub_state = "failed"
            rt.result = record.result if record.state == "failed" else "exit-code"
            rt.since = record.inactive_since
        elif record.state == "started" or openrc_state == "started":
            # Was there ever a daemon? Then its absence now is a death, not RemainAfterExit.
            config = unit.extra.get("config") if unit.backend == "native" else None
            if config is not None and config.type == "oneshot":
                # a started oneshot is one with RemainAfterExit=yes (else start left it
                # inactive): active (exited) once its commands are done, cgroup or not
                daemon_expected = bool(record.tracking.processes)
            else:
                daemon_expected = bool(record.tracking.processes or record.tracking.cgroup
                                       or record.tracking.main
                                       or openrc.recorded_pidfiles(self.ctx, unit.name)
                                       or rt.pidfile_note or unit.pidfile)
            if not daemon_expected:
                # A script that leaves nothing running (RemainAfterExit=yes, as systemd's
                # generator sets for SysV scripts).
                rt.active_state, rt.sub_state = "active", "exited"
                rt.since = record.active_since
            elif self._main_ended(rt):
                pass
            elif record.kill_signal in CLEAN_SIGNALS:
                rt.active_state, rt.sub_state = "inactive", "dead"
                rt.since = record.inactive_since
            else:
                rt.active_state = rt.sub_state = "failed"
                rt.result = "signal" if record.kill_signal else "exit-code"
                rt.since = record.inactive_since
        elif rt.pidfile_note and record.state != "stopped" and "does not exist" in rt.pidfile_note \
                and record.kill_signal not in CLEAN_SIGNALS:
            # Dead, pidfile exists (LSB status 1): it died without being stopped (or asked to
            # by `systemctl kill` with a clean signal: then inactive, below).
            rt.active_state = rt.sub_state = "failed"
            rt.result = "signal" if record.kill_signal else "exit-code"
        else:
            rt.active_state, rt.sub_state = "inactive", "dead"
            rt.since = record.inactive_since

    def _restart_overdue(self, rt: Runtime) -> bool:
        """An automatic restart that should have begun more than 5 s ago (RestartSec= past)."""
        config = rt.unit.extra.get("config") if rt.unit.backend == "native" else None
        delay = config.restart_usec / 1e6 if config is not None else 0.1
        return time.time() > rt.record.inactive_since + delay + 5.0

    def _main_ended(self, rt: Runtime) -> bool:
        """The keeper reaped the main process and wrote down how it ended: decide as systemd
        does for a main process's exit (service_sigchld_event). False without its word."""
        main_exit = self.store.main_exit(rt.unit.id, rt.record.tracking.main)
        if not main_exit:
            return False
        rt.main_exit = main_exit
        code, status = main_exit["code"], main_exit["status"]
        rt.since = main_exit["time"]
        config = rt.unit.extra.get("config") if rt.unit.backend == "native" else None
        if config is not None:
            from shim.engine.restart import main_result
            clean = main_result(config, code, status) == "success"
        else:
            clean = (code == "exited" and status == 0) or \
                (code == "killed" and status in CLEAN_SIGNALS)
        if clean and config is not None and config.remain_after_exit:
            rt.active_state, rt.sub_state = "active", "exited"
            rt.since = rt.record.active_since
        elif clean:
            rt.active_state, rt.sub_state = "inactive", "dead"
        else:
            rt.active_state = rt.sub_state = "failed"
            rt.result = {"exited": "exit-code", "killed": "signal", "dumped": "core-dump"}[code]
        return True

    def _inspect_target(self, rt: Runtime) -> Runtime:
        """A runlevel's target is active in its runlevel; systemd's own targets whenever init
        booted the machine (it brought all that up); any target once a start job of ours ran
        for it this boot (its record), as the transaction sees them."""
        level = current_runlevel(self.ctx)
        unit = rt.unit
        rt.record = self.store.load(unit.id)
        if level and (level in unit.runlevels or
                      (unit.id == "multi-user.target" and level in ("2", "3", "4", "5"))):
            rt.active_state, rt.sub_state = "active", "active"
        elif rt.record.state == "started" or (level and unit.extra.get("builtin")):
            rt.active_state, rt.sub_state = "active", "active"
        return rt


def parent_pid(pid: int, proc_root: str) -> int:
    try:
        with open("%s/%d/stat" % (proc_root, pid), "rb") as handle:
            data = handle.read()
        return int(data[data.rindex(b")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def current_runlevel(ctx) -> str:
    """The runlevel init is in: OpenRC's softlevel, else the RUN_LVL record in utmp."""
    try:
        with open(ctx.path("/run/openrc/softlevel")) as handle:
            level = handle.read().strip()
        return {"default": "3", "boot": "S", "sysinit": "S", "single": "1",
                "shutdown": "0", "reboot": "6", "": ""}.get(level, "3")
    except OSError:
        pass
    try:
        with open(ctx.path("/run/utmp"), "rb") as handle:
            data = handle.read(384 * 256)
    except OSError:
        return ""
    level = ""
    for offset in range(0, len(data) - 383, 384):
        if int.from_bytes(data[offset:offset + 2], "little") == 1:       # RUN_LVL
            level = chr(int.from_bytes(data[offset + 4:offset + 8], "little") & 0xFF)
    return level if level in "0123456S" else ""
