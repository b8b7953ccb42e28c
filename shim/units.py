"""What a unit name refers to on this machine, and how names are found.

A `Unit` is immutable data about one service (or runlevel target): where its script is, what it
calls itself, where its pidfile may be. Live state (running? main pid?) is not here; see
`shim/runtime.py`. `UnitIndex` resolves names: the script's own name, LSB `Provides:`, the
cross-distro alias table, and globs against the known units.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False      # typing costs ~3 ms at start-up; annotations are strings (__future__)
if TYPE_CHECKING:
    from typing import Optional

from shim import names
from shim.aliases import alias_family
from shim.plain import Plain


class Unit(Plain):
    """Treat as immutable: use `replace()` to derive a variant."""

    id = ""                      # "cron.service"
    backend = ""                 # "sysv" | "openrc" | "target" | "" (not found)
    script = ""                  # path of the script as we open/run it (under --root)
    source_path = ""             # path on the machine, e.g. /etc/init.d/cron
    names = ()                   # id first, then aliases (Names=)
    description = ""
    pidfile = ""                 # declared pidfile (PIDFile=)
    pidfiles = ()                # every pidfile worth looking at, best first
    can_reload = False
    has_lsb = False
    default_start = ()
    default_stop = ()
    after = ()
    runlevels = ()               # targets: the runlevels this target stands for
    extra = None                 # backend details (OpenRC: command, supervisor)
    _factories = {"extra": dict}

    @property
    def found(self) -> bool:
        return bool(self.backend)

    @property
    def name(self) -> str:
        """The script's base name: 'cron' for cron.service."""
        return self.id.rsplit(".", 1)[0]

    @property
    def is_service(self) -> bool:
        return self.id.endswith(".service")


def not_found(unit_id: str) -> Unit:
    return Unit(id=unit_id, names=(unit_id,))


# Targets that stand for runlevels, where that is natural (systemd's runlevelN.target links).
TARGETS = {
    "poweroff.target": ("0",),
    "rescue.target": ("1", "S"),
    "multi-user.target": ("2", "3", "4"),
    "graphical.target": ("5",),
    "reboot.target": ("6",),
}
TARGET_ALIASES = {
    "runlevel0.target": "poweroff.target", "runlevel1.target": "rescue.target",
    "runlevel2.target": "multi-user.target", "runlevel3.target": "multi-user.target",
    "runlevel4.target": "multi-user.target", "runlevel5.target": "graphical.target",
    "runlevel6.target": "reboot.target",
}
TARGET_DESCRIPTIONS = {
    "poweroff.target": "System Power Off", "rescue.target": "Rescue Mode",
    "multi-user.target": "Multi-User System", "graphical.target": "Graphical Interface",
    "reboot.target": "System Reboot",
}

# Entries of /etc/init.d that are machinery, not services (as Debian's `service --status-all`).
NOT_SERVICES = frozenset({
    "rc", "rcS", "README", "skeleton", "functions", "functions.sh", "halt", "reboot", "single",
    "killprocs", "sendsigs", "umountfs", "umountroot", "umountnfs.sh", "rmnologin", "bootlogs",
    "kbd", "hwclock.sh", "checkroot.sh", "checkroot-bootclean.sh", "checkfs.sh", "mountall.sh",
    "mountall-bootclean.sh", "mountnfs.sh", "mountnfs-bootclean.sh", "mountkernfs.sh",
    "mountdevsubfs.sh", "bootmisc.sh", "urandom", "hostname.sh", "brightness", "mount-configfs",
})


def is_script_candidate(directory: str, entry: str) -> bool:
    """systemd-sysv-generator's rule: a regular file (after symlinks) with the owner-exec bit."""
    if entry.startswith(".") or entry.endswith("~") or ".dpkg-" in entry or ".rpm" in entry \
            or ".apk-new" in entry or entry in NOT_SERVICES:
        return False
    try:
        st = os.stat(os.path.join(directory, entry))
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & stat.S_IXUSR)


class UnitIndex:
    """Resolves names to units for one command. Caches what it has read; never global."""

    def __init__(self, ctx, loader):
        self.ctx = ctx
        self.loader = loader              # backends.ScriptLoader: script path -> Unit
        self.init_d = ctx.path("/etc/init.d")
        self._by_script = {}
        self._scanned = None
        self._unit_files = None
        self._all = None

    # --- one name ------------------------------------------------------------------------------
    def resolve(self, unit_id: str) -> Unit:
        """The unit `unit_id` (already mangled) refers to, or a not-found Unit."""
        if unit_id.endswith(".target"):
            return self._target(unit_id)
        if not unit_id.endswith(".service"):
            return not_found(unit_id)          # sockets, timers, mounts...: nothing provides them
        base = unit_id[: -len(".service")]
        if base.endswith(".sh"):
            base = base[:-3]                   # foo.sh.service -> foo (service(8) does the same)
        if self.prefer_native:
            unit = self._native(unit_id)
            if unit is not None:
                return unit
        for candidate in (base,) + alias_family(base):
            unit = self._load(candidate)
            if unit is not None:
                return self._as_alias(unit, unit_id)
        for unit in self._scripts_mentioning(base):    # LSB Provides: (OpenRC provide)
            if unit_id in unit.names:
                return unit
        unit = self._native(unit_id)           # a unit file where no script exists
        if unit is None:                       # its file deleted while it runs: still loaded
            from shim.backends.reloadstate import loaded_unit
            unit = loaded_unit(self.ctx, unit_id)
        return unit if unit is not None else not_found(unit_id)

    # --- native unit files ---------------------------------------------------------------------
    @property
    def prefer_native(self) -> bool:
        """Scripts are the units where a running init starts them at boot (so that systemctl acts
        on what init started); SYSTEMCTL_SHIM_PREFER_NATIVE=1 makes unit files win, as on
        systemd (a container, the PID-1 mode)."""
        chosen = self.ctx.env.get("SYSTEMCTL_SHIM_PREFER_NATIVE", "")
        if chosen:
            return chosen in ("1", "yes", "true")
        # Our init is the container's PID 1 (shim/init): there too, as under systemd.
        return os.path.exists(os.path.join(self.ctx.state_dir, "init.json"))

    def unit_files(self):
        if self._unit_files is None:
            from shim.backends.native import UnitFiles   # only when no script answers
            self._unit_files = UnitFiles.for_context(self.ctx)   # with the parse cache
        return self._unit_files

    def _native(self, unit_id: str):
        found = self.unit_files().find(unit_id)
        if found is None or found.masked or found.is_template:
            return None
        config = self.unit_files().load(found.id)
        return Unit(id=found.id, backend="native", source_path=found.fragment_path,
                    names=tuple(found.names) or (found.id,), script="",
                    description=config.description or found.id, pidfile=config.pid_file,
                    pidfiles=(config.pid_file,) if config.pid_file else (),
                    can_reload=bool(config.exec_reload), extra={"config": config})

    def _as_alias(self, unit: Unit, requested: str) -> Unit:
        if requested in unit.names:
            return unit
        return unit.replace(names=unit.names + (requested,))

    def _load(self, base: str) -> Optional[Unit]:
        if base in self._by_script:
            return self._by_script[base]
        unit = None
        if base and "/" not in base and base not in (".", ".."):
            for entry in (base, base + ".sh"):
                if is_script_candidate(self.init_d, entry):
                    unit = self.loader.load(os.path.join(self.init_d, entry), entry)
                    break
        self._by_script[base] = unit
        return unit

    def _target(self, unit_id: str) -> Unit:
        if unit_id == "default.target":
            unit_id = self.loader.default_target()
        real = TARGET_ALIASES.get(unit_id, unit_id)
        if real not in TARGETS:
            return self._other_target(unit_id)
        aliases = tuple(a for a, t in TARGET_ALIASES.items() if t == real)
        return Unit(id=real, backend="target", names=(real,) + aliases,
                    description=TARGET_DESCRIPTIONS[real], runlevels=TARGETS[real])

    def _other_target(self, unit_id: str) -> Unit:
        """A target that stands for no runlevel: a `.target` unit file, or one of systemd's own
        (sysinit, basic, network-online, ...), as groupings (shim/engine/transaction.py)."""
        files = self.unit_files()
        found = files.find(unit_id)
        if found is not None and not found.is_template:
            config = files.load(found.id)
            return Unit(id=found.id, backend="target", names=tuple(found.names) or (found.id,),
                        source_path=found.fragment_path or "",
                        description=config.description or found.id, extra={"config": config})
        from shim.engine.transaction import BUILTIN_TARGETS     # names and their wiring only
        if unit_id in BUILTIN_TARGETS:
            return Unit(id=unit_id, backend="target", names=(unit_id,), description=unit_id,
                        extra={"builtin": True})
        return not_found(unit_id)

    # --- all units -----------------------------------------------------------------------------
    def all(self, native_only=None) -> list:
        """Every service unit: scripts, and unit files no script shadows (sorted by name).
        `native_only`: a set of names; unit files not in it are left out unread (list-units
        without --all needs only the unit files that ever ran: those we hold a record for)."""
        if native_only is not None:
            return self._all_units(native_only)
        if self._all is None:
            self._all = self._all_units(None)
        return self._all

    def _all_units(self, native_only) -> list:
        scripts = self.scripts()
        taken = {name for unit in scripts for name in unit.names}
        native = []
        shadowed = set() if self.prefer_native else taken   # who wins a shared name
        for name in self.unit_files().all():
            if not name.endswith(".service") or name in shadowed or name.endswith("@.service"):
                continue
            if native_only is not None and name not in native_only:
                continue
            unit = self._native(name)
            if unit is not None and unit.id == name and not (set(unit.names) & shadowed):
                native.append(unit)
        if self.prefer_native:
            own = {name for unit in native for name in unit.names}
            scripts = [u for u in scripts if not set(u.names) & own]
        return sorted(scripts + native, key=lambda u: u.id)

    def scripts(self) -> list:
        """Every service unit this machine has a script for (sorted by name)."""
        if self._scanned is None:
            units = []
            try:
                entries = sorted(os.listdir(self.init_d))
            except OSError:
                entries = []
            for entry in entries:
                base = entry[:-3] if entry.endswith(".sh") else entry
                unit = self._load(base)
                if unit is not None and unit.script.endswith("/" + entry):
                    units.append(unit)
            self._scanned = units
        return self._scanned

    def _scripts_mentioning(self, base: str) -> list:
        """The scripts whose text contains `base` at all, parsed; the others cannot provide it.
        A byte search instead of parsing every header (the LSB parser needs re, a third of an
        is-active's start-up) when a name no script is called by is looked up, e.g. a unit
        file's."""
        if self._scanned is not None:
            return self._scanned
        needle = base.encode("utf-8", "surrogateescape")
        found = []
        try:
            entries = sorted(os.listdir(self.init_d))
        except OSError:
            return found
        for entry in entries:
            try:
                with open(os.path.join(self.init_d, entry), "rb") as handle:
                    if needle not in handle.read(1 << 20):
                        continue
            except OSError:
                continue
            unit = self._load(entry[:-3] if entry.endswith(".sh") else entry)
            if unit is not None and unit.script.endswith("/" + entry):
                found.append(unit)
        return found

    def targets(self) -> list:
        return [self._target(t) for t in TARGETS]

    def expand(self, patterns, *, allow_globs=True, include=None) -> list:
        """expand_unit_names(): literal names first (in order), then glob matches.

        `include(unit)` filters glob matches the way systemd filters loaded units (without
        --all, inactive units are not matched). Raises ValueError for an empty name.
        """
        literal, globs = [], []
        for pattern in patterns:
            mangled = names.mangle(pattern, allow_globs=allow_globs)
            (globs if allow_globs and names.is_glob(mangled) else literal).append(mangled)
        units = [self.resolve(n) for n in literal]
        if globs:
            seen = {u.id for u in units}
            for unit in self.all() + self.targets():
                if unit.id in seen or not any(names.matches(g, unit.id) for g in globs):
                    continue
                if include is None or include(unit):
                    units.append(unit)
                    seen.add(unit.id)
        return units
