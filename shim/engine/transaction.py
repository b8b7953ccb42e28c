"""A small transaction, as systemd's src/core/transaction.c builds one: the jobs a command line
needs on other units, and the order to run them in.

From the units of the command line (the anchors) and their job:

* start (and restart) pulls in start jobs for Requires=, BindsTo= and Wants= (with the
  `.wants/`/`.requires/` directories), checks Requisite= (never started, must be active), and adds
  stop jobs for Conflicts= (both directions);
* stop propagates stop jobs to the units that Requires=, BindsTo= or are PartOf= the stopped one;
  restart propagates try-restart to them (a restart of what runs, nothing else started);
* a pulled-in job that would change nothing (start of an active unit, stop of an inactive one) is
  dropped, and with it what only it pulled in (systemd's drop_redundant + collect_garbage): so
  `start foo` never re-runs what basic.target wants, while `start multi-user.target` starts what
  the target wants even though the target is active already;
* jobs run one at a time: every stop first (After= reversed), then every start (After= order);
  jobs with no ordering between them run in the command line's order, what a job pulled in
  before the job (for a stop: the dependents it stops first). A start that fails fails the jobs
  that Requires=/BindsTo=/Requisite= it and are ordered after it ("A dependency job for X
  failed."); a Wants= failure is ignored;
* ordering cycles are broken as systemd breaks them: a job in the cycle that does not matter to
  the anchor (pulled in by Wants= only) is deleted, and the cycle is logged; if there is none the
  anchor fails with "Transaction order is cyclic. See system logs for details.".

Units of types nothing provides on these machines (sockets, mounts, devices, paths, timers,
slices, scopes, swaps, automounts) are ignored for pulling in, ordering and failing: Debian's
rsyslog.service `Requires=syslog.socket` and must still start. systemd's own targets (basic,
sysinit, network-online, ...) are groupings even where no unit file defines them; a target's job
runs nothing, its members do the work.
"""

import os
import time

from shim.engine import jobs
from shim.errors import ShimError
from shim.units import Unit

NOT_RUN_TYPES = frozenset(("socket", "mount", "device", "path", "timer", "slice", "scope", "swap",
                           "automount"))
_LISTS = ("requires", "wants", "requisite", "binds_to", "part_of", "conflicts", "after", "before")
# systemd's own targets (units/*.target in its source), for machines without their files. Only
# the settings that matter here; the rest have none (a grouping for .wants/ links).
_DEFINED_TARGETS = {
    "sysinit.target": {"wants": ("local-fs.target", "swap.target"),
                       "after": ("local-fs.target", "swap.target", "emergency.service",
                                 "emergency.target")},
    "basic.target": {"requires": ("sysinit.target",),
                     "wants": ("sockets.target", "timers.target", "paths.target", "slices.target"),
                     "after": ("sysinit.target", "sockets.target", "paths.target",
                               "slices.target", "tmp.mount")},
    "multi-user.target": {"requires": ("basic.target",),
                          "conflicts": ("rescue.service", "rescue.target"),
                          "after": ("basic.target", "rescue.service", "rescue.target")},
    "graphical.target": {"requires": ("multi-user.target",), "wants": ("display-manager.service",),
                         "conflicts": ("rescue.service", "rescue.target"),
                         "after": ("multi-user.target", "rescue.service", "rescue.target",
                                   "display-manager.service")},
    "rescue.target": {"requires": ("sysinit.target",), "wants": ("rescue.service",),
                      "after": ("sysinit.target", "rescue.service")},
    "network-online.target": {"after": ("network.target",)},
    "remote-fs.target": {"after": ("remote-fs-pre.target",)},
    "local-fs.target": {"after": ("local-fs-pre.target",)},
    "getty.target": {"after": ("getty-pre.target",)},
}
_GROUPING_TARGETS = ("local-fs-pre", "remote-fs-pre", "network", "network-pre", "nss-lookup",
                     "nss-user-lookup", "time-sync", "time-set", "rpcbind", "sockets", "timers",
                     "paths", "slices", "swap", "getty-pre", "cryptsetup", "cryptsetup-pre",
                     "remote-cryptsetup", "sound", "bluetooth", "printer", "smartcard", "usb",
                     "first-boot-complete", "machines", "integritysetup", "veritysetup")
BUILTIN_TARGETS = dict({name + ".target": {} for name in _GROUPING_TARGETS}, **_DEFINED_TARGETS)
# Targets that stand for a change of runlevel: starting one is telinit's business.
RUNLEVEL_CHANGES = ("poweroff.target", "reboot.target", "rescue.target")
# Targets whose members include the SysV/OpenRC scripts linked into their runlevels (the
# generator's WantedBy=, systemd-sysv-generator's <target>.wants/ links).
SCRIPT_TARGETS = ("rescue.target", "multi-user.target", "graphical.target")


class Cyclic(Exception):
    pass


def unit_type(name: str) -> str:
    return name.rpartition(".")[2]


def is_target(unit) -> bool:
    return unit.id.endswith(".target")


def resolve(manager, name: str) -> Unit:
    """The unit `name` refers to, a `.target` from a unit file or systemd's own set included."""
    unit = manager.index.resolve(name)
    if unit.found or not name.endswith(".target"):
        return unit
    files = manager.index.unit_files()
    found = files.find(name)
    if found is not None and not found.is_template:
        config = files.load(found.id)
        return Unit(id=found.id, backend="target", names=tuple(found.names) or (found.id,),
                    source_path=found.fragment_path or "", description=config.description or found.id,
                    extra={"config": config})
    if name in BUILTIN_TARGETS:
        return Unit(id=name, backend="target", names=(name,), description=name,
                    extra={"builtin": True})
    return unit


class Job:
    """One job of the transaction. `kind`: start, stop or restart."""

    def __init__(self, unit, kind, rank):
        self.unit = unit
        self.kind = kind
        self.rank = rank             # post-order of discovery (what a job pulled in first): the tie-break
        self.subjects = set()        # jobs that pulled this one in ("" for an anchor)
        self.matters = False         # reached from an anchor through required edges only
        self.needs = set()           # units whose failed start fails this job if ordered before it
        self.requisites = set()      # units that must be active when this job runs
        self.anchor = None           # (job type, action) when a unit of the command line

    @property
    def key(self):
        return self.unit.id

    def __repr__(self):
        return "%s/%s" % (self.unit.id, self.kind)


class Graph:
    """Dependencies of units for one command (cached; nothing global)."""

    def __init__(self, manager):
        self.manager = manager
        self.ctx = manager.ctx
        self._units = {}
        self._deps = {}
        self._reverse = None
        self._script_members = None
        self._booted = None

    def unit(self, name: str) -> Unit:
        if name not in self._units:
            unit = resolve(self.manager, name)
            self._units[name] = unit
            self._units.setdefault(unit.id, unit)
        return self._units[name]

    def config(self, unit):
        """The unit's UnitConfig, or a plain dict for systemd's own targets."""
        if unit.backend == "target":
            if unit.extra.get("config") is not None:
                return unit.extra["config"]
            files = self.manager.index.unit_files()
            found = files.find(unit.id)
            if found is not None and not found.masked and not found.is_template:
                return files.load(found.id)
            return BUILTIN_TARGETS.get(unit.id, {})
        return self.manager.config(unit)

    def deps(self, unit) -> dict:
        """{requires, wants, requisite, binds_to, part_of, conflicts, after, before: [names]}."""
        if unit.id in self._deps:
            return self._deps[unit.id]
        config = self.config(unit)
        lists = {}
        for key in _LISTS:
            value = config.get(key, ()) if isinstance(config, dict) else getattr(config, key, ())
            lists[key] = [n for n in value if unit_type(n) not in NOT_RUN_TYPES]
        for suffix, key in ((".wants", "wants"), (".requires", "requires")):
            for name in unit.names or (unit.id,):
                for entry in self._dir_entries(name + suffix):
                    if entry not in lists[key] and unit_type(entry) not in NOT_RUN_TYPES:
                        lists[key].append(entry)
        if unit.id in SCRIPT_TARGETS and not self.init_booted():
            # the scripts of the runlevel are init's to start where init booted the machine (it
            # ran them, and one that leaves nothing running would run twice); elsewhere (a
            # container, our PID 1) the target starts them
            lists["wants"].extend(n for n in self.script_members(unit.id) if n not in lists["wants"])
        default = config.get("default_dependencies", True) if isinstance(config, dict) \
            else getattr(config, "default_dependencies", True)
        if default and is_target(unit):
            # target_add_default_dependencies(): a target is ordered after what it pulls in
            members = lists["requires"] + lists["wants"] + lists["binds_to"] + lists["requisite"]
            lists["after"].extend(n for n in members
                                  if n not in lists["before"] and n not in lists["after"])
        elif default:
            # service_add_default_dependencies(): After=sysinit.target basic.target. Ordering
            # only: init has brought the base system up here, so a start does not pull it in.
            lists["after"].extend(n for n in ("sysinit.target", "basic.target")
                                  if n not in lists["after"])
        self._deps[unit.id] = lists
        return lists

    def _dir_entries(self, dirname: str) -> list:
        from shim.backends.native import is_valid_name
        files = self.manager.index.unit_files()
        out = []
        for directory in files.unit_dirs():
            try:
                entries = sorted(os.listdir(files.path(directory + "/" + dirname)))
            except OSError:
                continue
            out.extend(e for e in entries if is_valid_name(e) and e not in out)
        return out

    def script_members(self, target: str) -> list:
        """Scripts whose generated unit says WantedBy=target (an S link in its runlevels)."""
        if self._script_members is None:
            members = {}
            for unit in self.manager.index.scripts():
                config = self.manager.config(unit)
                for wanted in config.wanted_by if config is not None else ():
                    members.setdefault(wanted, []).append(unit.id)
            self._script_members = members
        return self._script_members.get(target, [])

    def reverse(self) -> dict:
        """{unit id: {"requires"|"binds_to"|"part_of"|"conflicts": set of ids depending so}}
        over every unit file and target (scripts never have these dependencies)."""
        if self._reverse is not None:
            return self._reverse
        files = self.manager.index.unit_files()
        names = set(BUILTIN_TARGETS)
        for name in files.all():
            if unit_type(name) in ("service", "target") and "@." not in name and \
                    self._mentions_reverse_keys(files, name):
                names.add(name)
        for directory in files.unit_dirs():
            try:
                entries = os.listdir(files.path(directory))
            except OSError:
                continue
            for entry in entries:
                base, dot, kind = entry.rpartition(".")
                if dot and kind in ("requires", "wants") and unit_type(base) in ("service", "target"):
                    names.add(base)
        reverse = {}
        for name in sorted(names):
            unit = self.unit(name)
            if not unit.found:
                continue
            lists = self.deps(unit)
            for key in ("requires", "binds_to", "part_of", "conflicts"):
                for other in lists[key]:
                    target = self.unit(other)
                    reverse.setdefault(target.id, {}).setdefault(key, set()).add(unit.id)
        self._reverse = reverse
        return reverse

    @staticmethod
    def _mentions_reverse_keys(files, name) -> bool:
        """Could the unit file (or a drop-in) say Requires=, BindsTo=, PartOf= or Conflicts=?
        Only those are parsed for the reverse index: a start then costs a read per unit
        file, not a parse."""
        found = files.find(name)
        if found is None or found.masked:
            return False
        texts = [found.text or ""]
        for path in found.dropin_paths:
            try:
                texts.append(files.read(path))
            except OSError:
                continue
        return any(key in text for text in texts for key in ("Requires", "BindsTo", "PartOf",
                                                             "Conflicts"))

    def dependents(self, unit, keys) -> list:
        found = set()
        for key in keys:
            found |= self.reverse().get(unit.id, {}).get(key, set())
        return [self.unit(n) for n in sorted(found)]

    # --- state -----------------------------------------------------------------------------------
    def init_booted(self) -> bool:
        """Did an init (sysvinit, OpenRC) boot this machine? It is in a runlevel then."""
        if self._booted is None:
            from shim.runtime import current_runlevel
            self._booted = bool(current_runlevel(self.ctx))
        return self._booted

    def booting(self) -> bool:
        """SYSTEMCTL_SHIM_BOOTING=1: the caller is the boot (a boot hook run by init), so
        systemd's targets are not up yet; they count as active once started (their records)."""
        return self.ctx.env.get("SYSTEMCTL_SHIM_BOOTING", "") in ("1", "yes", "true")

    def refresh(self) -> None:
        """Forget the inspector's processes and records (as Runner.refresh()): jobs changed them."""
        self.manager.inspector._snapshot = None
        self.manager.inspector._records = None

    def is_active(self, unit, fresh=True) -> bool:
        """Active or on its way there, read fresh (jobs of this transaction change it). A target
        is active once a start job of ours ran for it this boot; a runlevel target also when init
        is in its runlevel; systemd's own targets (basic, sysinit, network-online, ...) also
        whenever init booted this machine (a runlevel is known): init brought all that up,
        unless the caller is the boot itself (SYSTEMCTL_SHIM_BOOTING=1)."""
        manager = self.manager
        if fresh:
            self.refresh()
        if is_target(unit):
            if manager.store.load(unit.id).state == "started":
                return True
            if unit.runlevels and manager.inspector.inspect(unit).is_active:
                return True
            return unit.id in BUILTIN_TARGETS and self.init_booted() and not self.booting()

        rt = manager.inspector.inspect(unit)
        return rt.is_active or rt.active_state in ("activating", "reloading")


class Transaction:
    """The jobs of one command line."""

    def __init__(self, manager):
        self.manager = manager
        self.ctx = manager.ctx
        self.graph = Graph(manager)
        self.jobs = {}
        self._rank = 0

    # --- building --------------------------------------------------------------------------------
    def add_anchor(self, unit, job_type: str, action: str, kind: str) -> None:
        """Add the jobs for one unit of the command line. Raises ShimError with systemd's message
        (and leaves the transaction as it was) when its jobs cannot be built."""
        saved = {k: (j, set(j.subjects), j.kind, j.matters) for k, j in self.jobs.items()}
        rank = self._rank
        try:
            job = self._add(unit, kind, subject="", required=True, job_type=job_type)
            job.anchor = (job_type, action)
            self.finish()
            self._verify_order(job_type, unit)
        except ShimError:
            self.jobs = {k: v[0] for k, v in saved.items()}
            for j, subjects, old_kind, matters in saved.values():
                j.subjects, j.kind, j.matters = subjects, old_kind, matters
            self._rank = rank
            raise

    def _validate(self, unit, job_type, anchor_unit):
        """bus_unit_validate_load_state() for a unit a start job is added for."""
        manager = self.manager
        if manager.is_masked(unit):             # a masked unit file does not resolve: check first
            raise ShimError("Failed to %s %s: Unit %s is masked." % (job_type, anchor_unit.id, unit.id), 1)
        if not unit.found:
            raise ShimError("Failed to %s %s: Unit %s not found." % (job_type, anchor_unit.id, unit.id), 5)
        config = self.graph.config(unit)
        if getattr(config, "load_state", "loaded") == "masked":
            raise ShimError("Failed to %s %s: Unit %s is masked." % (job_type, anchor_unit.id, unit.id), 1)
        if getattr(config, "load_state", "loaded") in ("bad-setting", "error"):
            raise ShimError("Failed to %s %s: Unit %s has a bad unit file setting.\nSee system logs "
                            "and 'systemctl status %s' for details."
                            % (job_type, anchor_unit.id, unit.id, anchor_unit.id), 1)

    def _add(self, unit, kind, *, subject, required, job_type, anchor_unit=None):
        anchor_unit = anchor_unit or unit
        existing = self.jobs.get(unit.id)
        if existing is not None:
            merged = _merge(existing.kind, kind)
            if merged is None:
                if not required:
                    return existing              # a Wants=/ConflictedBy= job gives way
                if existing.matters:                 # anchors and what they require
                    raise ShimError(
                        "Failed to %s %s: Transaction contains conflicting jobs '%s' and '%s' for "
                        "%s. Probably contradicting requirement dependencies configured."
                        % (job_type, anchor_unit.id, existing.kind, kind, unit.id), 1)
                merged = kind
            existing.subjects.add(subject)
            existing.matters = existing.matters or required
            if merged == existing.kind:
                return existing
            existing.kind = merged
            job = existing
        else:
            if kind != "stop":
                self._validate(unit, job_type, anchor_unit)
            job = Job(unit, kind, 0)
            job.subjects.add(subject)
            job.matters = required
            self.jobs[unit.id] = job
        self._add_dependencies(job, required, job_type, anchor_unit)
        self._rank += 1
        job.rank = self._rank                    # after what it pulled in: dependencies first
        return job

    def _add_dependencies(self, job, required, job_type, anchor_unit):
        graph, unit = self.graph, job.unit
        lists = graph.deps(unit)
        if job.kind in ("start", "restart"):
            for key in ("requires", "binds_to"):
                for name in lists[key]:
                    other = graph.unit(name)
                    self._add(other, "start", subject=unit.id, required=required,
                              job_type=job_type, anchor_unit=anchor_unit)
                    job.needs.add(other.id)
            for name in lists["wants"]:
                other = graph.unit(name)
                if not other.found:
                    continue
                snapshot = dict(self.jobs)
                try:
                    self._add(other, "start", subject=unit.id, required=False,
                              job_type=job_type, anchor_unit=anchor_unit)
                except ShimError:
                    self.jobs = snapshot         # a Wants= that cannot be satisfied is ignored
            for name in lists["requisite"]:
                other = graph.unit(name)
                self._validate(other, job_type, anchor_unit)
                job.requisites.add(other.id)
            for name in lists["conflicts"]:
                other = graph.unit(name)
                if other.found:
                    self._add(other, "stop", subject=unit.id, required=required,
                              job_type=job_type, anchor_unit=anchor_unit)
            for other in graph.dependents(unit, ("conflicts",)):
                if other.id not in self.jobs or self.jobs[other.id].kind == "stop":
                    self._add(other, "stop", subject=unit.id, required=False,
                              job_type=job_type, anchor_unit=anchor_unit)
        if job.kind in ("stop", "restart"):
            keys = ("requires", "binds_to", "part_of")
            for other in graph.dependents(unit, keys):
                if job.kind == "stop":
                    self._add(other, "stop", subject=unit.id, required=required,
                              job_type=job_type, anchor_unit=anchor_unit)
                elif graph.is_active(other):      # try-restart: only what runs
                    self._add(other, "restart", subject=unit.id, required=required,
                              job_type=job_type, anchor_unit=anchor_unit)

    def finish(self) -> None:
        """Drop redundant jobs and what only they pulled in; order check over all anchors."""
        graph = self.graph
        graph.refresh()                          # one read of the machine for all of them
        redundant = [j for j in self.jobs.values() if j.anchor is None and
                     ((j.kind == "start" and graph.is_active(j.unit, fresh=False)) or
                      (j.kind == "stop" and not graph.is_active(j.unit, fresh=False)))]
        for job in redundant:
            del self.jobs[job.key]
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        """transaction_collect_garbage(): drop jobs no remaining job pulled in."""
        while True:
            orphans = [j for j in self.jobs.values() if j.anchor is None and
                       not any(s in self.jobs for s in j.subjects if s)]
            if not orphans:
                break
            for job in orphans:
                del self.jobs[job.key]

    # --- ordering --------------------------------------------------------------------------------
    def _ordering(self, job):
        """(names of the job's unit, names it is After=, names it is Before=)."""
        lists = self.graph.deps(job.unit)
        return set(job.unit.names) | {job.unit.id}, set(lists["after"]), set(lists["before"])

    def _after(self, a, b) -> bool:
        """Is job a's unit ordered after job b's?"""
        names_a, after_a, _ = self._ordering(a)
        names_b, _, before_b = self._ordering(b)
        return bool(names_b & after_a or names_a & before_b)

    def _edges(self, jobs, phase):
        """{job key: set of keys that must run before it} within one phase."""
        info = {j.key: self._ordering(j) for j in jobs}
        owner = {}
        for j in jobs:
            for name in info[j.key][0]:
                owner.setdefault(name, j.key)
        before = {j.key: set() for j in jobs}
        for a in jobs:
            names, after, befores = info[a.key]
            earlier = {owner[n] for n in after if n in owner}          # a After= them
            later = {owner[n] for n in befores if n in owner}          # a Before= them
            for b in earlier - {a.key}:
                (before[a.key].add(b) if phase == "start" else before[b].add(a.key))
            for b in later - {a.key}:
                (before[b].add(a.key) if phase == "start" else before[a.key].add(b))
        return before

    def order(self, phase: str, *, strict=False, job_type="start", anchor=None) -> list:
        """The jobs of a phase ("stop": stop and the stop half of restart; "start": the rest) in
        run order. A cycle is broken by deleting a job that does not matter to the anchor;
        `strict`: raise ShimError when none can be deleted, else go on at any job of it (never
        hang)."""
        kinds = ("stop", "restart") if phase == "stop" else ("start", "restart")
        pending = {j.key: j for j in self.jobs.values() if j.kind in kinds}
        edges = self._edges(list(pending.values()), phase)
        out = []
        while pending:
            ready = [j for j in pending.values() if not edges[j.key] & pending.keys()]
            if ready:
                # unordered: the command line's order, and what a job pulled in (or, for a
                # stop, the dependents it stops) before the job itself
                pick = min(ready, key=lambda j: j.rank)
                out.append(pick)
                del pending[pick.key]
                continue
            cycle = _find_cycle(pending, edges)
            first = self.jobs[cycle[0]]
            log_unit = (anchor or first.unit).id
            for index, key in enumerate(cycle):
                self._log(log_unit, "%s: Found %s on %s/%s" % (
                    log_unit, "ordering cycle" if index == 0 else "dependency", key,
                    self.jobs[key].kind))
            victim = next((self.jobs[k] for k in cycle
                           if not self.jobs[k].matters and self.jobs[k].anchor is None), None)
            if victim is None:
                self._log(log_unit, "%s: Unable to break cycle starting with %s/%s"
                          % (log_unit, first.unit.id, first.kind))
                if strict:
                    raise ShimError("Failed to %s %s: Transaction order is cyclic. See system "
                                    "logs for details." % (job_type, log_unit), 1)
                out.append(first)                  # run it out of order rather than hang
                del pending[first.key]
                continue
            self._log(log_unit, "%s: Job %s/%s deleted to break ordering cycle starting with %s/%s"
                      % (log_unit, victim.unit.id, victim.kind, first.unit.id, first.kind))
            del self.jobs[victim.key]
            self._collect_garbage()              # and what only the deleted job pulled in
            return self.order(phase, strict=strict, job_type=job_type, anchor=anchor)
        return out

    def _verify_order(self, job_type, unit):
        for phase in ("stop", "start"):
            self.order(phase, strict=True, job_type=job_type, anchor=unit)

    def _log(self, unit_id, message):
        jobs._log(self.manager.store.prepare_log(unit_id), message)

    # --- running ---------------------------------------------------------------------------------
    def run(self) -> list:
        """Run every job; [(anchor unit, None | ShimError | JobFailed)] in the order the anchors'
        jobs finished (JobFailed("dependency"): a job it needed failed)."""
        self.finish()
        results = []
        failed = set()
        for job in self.order("stop"):
            outcome = self._run_one(job, "stop")
            if job.kind == "stop" and job.anchor is not None:
                results.append((job.unit, outcome))
            elif outcome is not None and job.kind == "restart":
                failed.add(job.key)
                if job.anchor is not None:
                    results.append((job.unit, outcome))
        for job in self.order("start"):
            if job.key in failed:
                continue
            outcome = None
            broken = [n for n in job.needs if n in failed and self._ordered_before(n, job)]
            if broken or any(not self._requisite_ok(n) for n in job.requisites):
                outcome = jobs.JobFailed("dependency")
                self._log(job.unit.id, "Dependency failed for %s." % self._ident(job.unit))
            else:
                outcome = self._run_one(job, "start")
            if outcome is not None:
                failed.add(job.key)
            if job.anchor is not None:
                results.append((job.unit, outcome))
        return results

    def _ordered_before(self, key, job) -> bool:
        other = self.jobs.get(key)
        return other is not None and self._after(job, other)

    def _requisite_ok(self, key) -> bool:
        return self.graph.is_active(self.graph.unit(key))

    def _ident(self, unit):
        """unit_status_string() as 252 logs it: `id - Description`, or the id alone."""
        config = self.graph.config(unit)
        text = config.get("description", "") if isinstance(config, dict) else \
            getattr(config, "description", "")
        return "%s - %s" % (unit.id, text) if text and text != unit.id else unit.id

    def _run_one(self, job, half):
        """Run one job (or one half of a restart): None, or how it failed."""
        unit = job.unit
        job_type, action = job.anchor or (job.kind, job.kind)
        single = len(self.jobs) == 1 and job.anchor is not None
        if single and not is_target(unit):
            step = action                        # one job alone: the engine's own job, as before
        else:
            step = half
        if half == "stop" and job.kind == "restart" and single and not is_target(unit):
            return None                          # the whole restart runs in the start phase
        if is_target(unit) and unit.backend == "target":
            return self._target_step(unit, job_type, step)
        if job.anchor is None and step == "stop" and not self.graph.is_active(unit):
            return None
        try:
            jobs.run_job(self.manager, unit, job_type, step)
        except ShimError as error:
            return error
        except jobs.JobFailed as failed:
            return failed
        return None

    def _target_step(self, unit, job_type, step):
        """A target's job runs nothing: its record says it was started (or stopped) this boot."""
        store = self.manager.store
        if os.geteuid() != 0:
            return ShimError("Failed to %s %s: Access denied\nSee system logs and 'systemctl status"
                             " %s' for details." % (job_type, unit.id, unit.id), 4)
        with store.lock(unit.id):
            record = store.load(unit.id)
            word = "stopped" if step == "stop" else "started"
            if record.state != word:
                jobs.enter(record, word)
                if word == "started":
                    record.active_since = time.time()
                else:
                    record.inactive_since = time.time()
                store.save(unit.id, record)
        return None


def _merge(old: str, new: str):
    """job_type_merge_and_collapse() for start/stop/restart: None when they conflict."""
    if old == new:
        return old
    if {old, new} == {"start", "restart"}:
        return "restart"
    return None


def _find_cycle(pending, edges) -> list:
    """Keys of one cycle among the pending jobs (each waits for the next)."""
    start = min(pending, key=lambda k: pending[k].rank)
    path, seen = [start], {start: 0}
    node = start
    while True:
        node = sorted(k for k in edges[node] if k in pending)[0]
        if node in seen:
            return path[seen[node]:]
        seen[node] = len(path)
        path.append(node)


def kind_for(graph, unit, job_type: str, action: str):
    """job_type_collapse() of the action for this unit now: "start", "stop" or "restart" for a
    transaction, or None when the engine's single job does it (reload, no-ops). For a target,
    raises systemd's refusals (a runlevel change, reload)."""
    active = graph.is_active(unit)
    if is_target(unit):
        if action in ("try-restart", "reload-or-try-restart"):
            if not active:
                return None
            action = "restart"
        if action == "reload":
            raise ShimError("Failed to reload %s: Job type reload is not applicable for unit %s."
                            % (unit.id, unit.id), 3)
        kind = {"start": "start", "stop": "stop"}.get(action, "restart")
        current = bool(unit.runlevels) and graph.manager.inspector.inspect(unit).is_active
        if kind == "restart" and current:
            kind = "start"                       # init's runlevel stays; its members are started
        if (kind != "stop" and unit.id in RUNLEVEL_CHANGES and not current) or \
                (kind == "stop" and current):
            raise ShimError("Failed to %s %s: Changing the runlevel is not supported; use telinit."
                            % (job_type, unit.id), 3)
        return kind
    if action in ("start", "stop", "restart"):
        return action
    if action == "try-restart":
        return "restart" if active else None
    if action == "reload-or-restart":
        if unit.can_reload:
            return None if active else "start"
        return "restart"
    if action == "reload-or-try-restart":
        return "restart" if active and not unit.can_reload else None
    return None


def run_target(manager, unit, job_type: str, action: str) -> None:
    """A job on a target outside a command line's transaction (run_job() of a target): its
    members through a transaction of its own. Raises ShimError or JobFailed like run_job()."""
    if os.geteuid() != 0:
        raise ShimError("Failed to %s %s: Access denied\nSee system logs and 'systemctl status %s'"
                        " for details." % (job_type, unit.id, unit.id), 4)
    tx = Transaction(manager)
    kind = kind_for(tx.graph, unit, job_type, action)
    if kind is None:
        return
    tx.add_anchor(unit, job_type, action, kind)
    for done, outcome in tx.run():
        if done.id != unit.id or outcome is None:
            continue
        raise outcome
