"""Per-command access to units, their records and their live state: the pieces every verb uses.

A `Manager` lives for one command. It caches what it reads (scripts, records, one /proc snapshot)
and is thrown away afterwards: there is no daemon and no global state.
"""

import os

from shim import names
from shim.backends import ScriptLoader
from shim.errors import ShimError
from shim.runtime import Inspector
from shim.state import StateStore
from shim.units import UnitIndex

MASK_DIR = "/etc/systemd/system"


class Manager:
    def __init__(self, ctx):
        self.ctx = ctx
        self.loader = ScriptLoader(ctx)
        self.index = UnitIndex(ctx, self.loader)
        self._inspector = None
        self._configs = {}
        self._presets = []              # the preset rules, read once per command

    def config(self, unit):
        """The engine's model of a found service (None for targets and unknown names)."""
        if not unit.found or unit.backend == "target":
            return None
        if unit.backend == "native":
            return unit.extra["config"]             # loaded with the unit (units.UnitIndex)
        if unit.id not in self._configs:
            self._configs[unit.id] = self.loader.config(unit)
        return self._configs[unit.id]

    @property
    def store(self) -> StateStore:
        return self.inspector.store

    @property
    def inspector(self) -> Inspector:
        """Live state: records under /run and processes. Created on first use, so that the
        offline verbs (enable, is-enabled, list-unit-files with --root) never reach for them."""
        if self._inspector is None:
            self._inspector = Inspector(self.ctx, StateStore(self.ctx.state_dir, self.ctx.proc),
                                        self.is_masked)
        return self._inspector

    # --- names ---------------------------------------------------------------------------------
    def units(self, patterns, *, allow_globs=True, include=None):
        """Mangle, expand globs, resolve. Empty names are systemd's EINVAL."""
        try:
            return self.index.expand(patterns, allow_globs=allow_globs, include=include)
        except ValueError:
            raise ShimError("Failed to mangle unit name: Invalid argument") from None

    def loaded_filter(self):
        """Globs match only loaded units that are not inactive (unless --all/--state)."""
        options = self.ctx.options
        def include(unit):
            if options.types and names.unit_type(unit.id) not in options.types:
                return False
            if options.all:
                return True
            rt = self.inspector.inspect(unit)
            if options.states:
                return bool({rt.load_state, rt.active_state, rt.sub_state} & set(options.states))
            return rt.active_state != "inactive"
        return include

    # --- masks ---------------------------------------------------------------------------------
    def mask_path(self, unit_id: str) -> str:
        return os.path.join(self.ctx.path(MASK_DIR), unit_id)

    def is_masked(self, unit) -> bool:
        for name in unit.names or (unit.id,):
            path = self.mask_path(name)
            if not os.path.lexists(path):           # most units have no file here at all
                continue
            try:
                if os.path.realpath(path) == "/dev/null" or (os.path.isfile(path) and
                                                             os.path.getsize(path) == 0):
                    return True
            except OSError:
                continue
        return False

    # --- enablement ----------------------------------------------------------------------------
    def unit_file_preset(self, unit) -> str:
        """The `preset:` word (systemd.preset(5)); "" where systemd shows none (targets,
        unknown units)."""
        if not unit.found or unit.backend == "target":
            return ""
        from shim.backends import presets
        return presets.preset_of(self.ctx, unit.id, self._presets)

    def unit_file_state(self, unit) -> str:
        """is-enabled's word for a unit (masked wins; targets are static)."""
        if not unit.found:
            return "not-found" if not self.is_masked(unit) else "masked"
        if self.is_masked(unit):
            return "masked"
        if unit.backend == "target":
            return "static"
        return self.installer(unit).is_enabled(unit)

    def installer(self, unit):
        """What enables this unit: systemd's symlinks for a unit file, else the machine's rc
        links or runlevels (update-rc.d, rc-update)."""
        if unit.backend == "native":
            from shim.backends.native_install import NativeInstall
            return NativeInstall(self.ctx, self.config)
        return self.loader.rc
