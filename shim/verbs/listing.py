"""list-units, list-unit-files (src/systemctl/systemctl-list-units.c, -list-unit-files.c)."""

from shim import names
from shim.manager import Manager
from shim.render import table

_TROUBLE = ("not-found", "bad-setting", "error", "masked", "failed", "activating",
            "deactivating", "reloading")


def _wanted_type(ctx, unit_id) -> bool:
    return not ctx.options.types or names.unit_type(unit_id) in ctx.options.types


def _matches(patterns, unit_id) -> bool:
    return not patterns or any(names.matches(p, unit_id) for p in patterns)


def _listed(manager, patterns, native_only=None):
    """Known units in systemd's list order, filtered by --type and the patterns."""
    ctx = manager.ctx
    units = sorted(manager.index.all(native_only) + manager.index.targets(),
                   key=lambda u: names.sort_key(u.id))
    return [u for u in units if _wanted_type(ctx, u.id) and _matches(patterns, u.id)]


def list_units(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    options = ctx.options
    rows = []
    native_only = None
    if not options.all and not options.states and not manager.index.prefer_native:
        # Only what ran can be listed without --all: a unit file never started is inactive,
        # so it is not even read (init scripts are, they may run without us).
        native_only = manager.store.recorded_ids()
    for unit in _listed(manager, patterns, native_only):
        rt = manager.inspector.inspect(unit)
        if options.states:
            if not {rt.load_state, rt.active_state, rt.sub_state} & set(options.states):
                continue
        elif not options.all and rt.active_state == "inactive":
            continue
        glyph = "●" if ctx.utf8 else "*"
        mark = glyph if (rt.load_state in _TROUBLE or rt.active_state in _TROUBLE) else " "
        row = [unit.id, rt.load_state, rt.active_state, rt.sub_state, unit.description or unit.id]
        rows.append(row if options.plain else [mark] + row)
    header = ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]
    if not options.plain:
        header = [""] + header
    legend = not options.no_legend
    for line in table.render(header, rows, legend=legend):
        ctx.print(line)
    if legend:
        if rows:
            ctx.print()
            ctx.print("LOAD   = Reflects whether the unit definition was properly loaded.")
            ctx.print("ACTIVE = The high-level unit activation state, i.e. generalization of SUB.")
            ctx.print("SUB    = The low-level unit activation state, values depend on unit type.")
        count = len(rows)
        if options.all or "inactive" in options.states:
            ctx.print("%d loaded units listed." % count)
            ctx.print("To show all installed unit files use 'systemctl list-unit-files'.")
        elif not options.states:
            ctx.print("%d loaded units listed. Pass --all to see loaded but inactive units, too." % count)
            ctx.print("To show all installed unit files use 'systemctl list-unit-files'.")
        else:
            ctx.print("%d loaded units listed." % count)
    return 0


def list_unit_files(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    options = ctx.options
    rows = []
    for unit in _listed(manager, patterns):
        state = manager.unit_file_state(unit)
        if options.states and state not in options.states:
            continue
        preset = (manager.unit_file_preset(unit) or "enabled") \
            if state in ("enabled", "disabled", "masked") else ""
        rows.append([unit.id, state, preset])
    if not rows:
        return 1                     # v246+: nothing listed is an error (no message)
    legend = not options.no_legend
    for line in table.render(["UNIT FILE", "STATE", "PRESET"], rows, legend=legend):
        ctx.print(line)
    if legend:
        ctx.print()
        ctx.print("%d unit files listed." % len(rows))
    return 0
