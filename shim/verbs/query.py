"""is-active, is-failed, is-enabled (src/systemctl/systemctl-is-active.c, -is-enabled.c)."""

from shim import names
from shim.errors import ShimError
from shim.manager import Manager

_ENABLED_OK = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated")


def _check(ctx, patterns, good_states, bad_code) -> int:
    """check_unit_generic(): 0 if any unit is in a good state; else 4 if none exists (v253+
    behaviour is 4; systemd 252 returns the verb's own code, which we follow)."""
    manager = Manager(ctx)
    ok = False
    for unit in manager.units(patterns, include=manager.loaded_filter()):
        rt = manager.inspector.inspect(unit)
        if not ctx.options.quiet:
            ctx.print(rt.active_state)
        ok = ok or rt.active_state in good_states
    return 0 if ok else bad_code


def is_active(ctx, verb, patterns) -> int:
    return _check(ctx, patterns, ("active", "reloading"), 3)


def is_failed(ctx, verb, patterns) -> int:
    return _check(ctx, patterns, ("failed",), 1)


def is_enabled(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    units = manager.units(patterns, allow_globs=False)
    asked = [names.mangle(p, allow_globs=False) for p in patterns] if len(units) == len(patterns) \
        else [u.id for u in units]
    ok = False
    for unit, name in zip(units, asked):
        state = manager.unit_file_state(unit)
        if unit.backend == "native" and name != unit.id and name in unit.names \
                and state not in ("masked", "not-found"):
            state = "alias"                 # asked by an alias's name (a symlink, Alias=)
        if state == "not-found":
            # systemd 252 wording (client side); 253+ prints "not-found" and exits 4.
            raise ShimError("Failed to get unit file state for %s: No such file or directory"
                            % unit.id, 1)
        if not ctx.options.quiet:
            ctx.print(state)
            if ctx.options.full and state == "enabled":
                for line in _install_targets(manager, unit):
                    ctx.print("  " + line)
        ok = ok or state in _ENABLED_OK
    return 0 if ok else 1


def _install_targets(manager, unit):
    """With --full, the symlinks that make the unit enabled (rc links / runlevel entries)."""
    import glob
    import os
    root = manager.ctx.path("/")
    pattern_sets = (manager.ctx.path("/etc/rc?.d/S??" + unit.name),
                    manager.ctx.path("/etc/runlevels/*/" + unit.name))
    for pattern in pattern_sets:
        for path in sorted(glob.glob(pattern)):
            yield "/" + os.path.relpath(path, root)
