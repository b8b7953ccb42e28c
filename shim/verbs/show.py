"""status, show, cat (src/systemctl/systemctl-show.c, systemctl-edit.c)."""

import os

from shim.errors import ShimError
from shim.manager import Manager
from shim.render import properties, status as status_render


def _describe_mode(rt, unit) -> str:
    """What `status` says about how it knows the unit's processes."""
    if rt.mode == "cgroup" and rt.tracking.cgroup:
        return "%s (cgroup)" % rt.tracking.cgroup
    if rt.mode == "cgroup":
        return "%s (OpenRC's cgroup)" % ", ".join(rt.extra_cgroups)
    if rt.mode == "adopted":
        source = rt.main_source if rt.main_source.startswith("/") else "its main process"
        return "(no cgroup) processes adopted from %s" % source
    if rt.mode == "tracked":
        return "(no cgroup) processes tracked since start, invocation %s" % (
            rt.tracking.invocation_id or "?")
    return "(no cgroup)"


def _processes(manager, rt):
    """[(pid, command line, short name)] of the unit's members, in pid order."""
    snap = manager.inspector.snapshot()
    members = sorted(manager.inspector.members(rt) | ({rt.main_pid} if rt.main_pid else set()))
    out = []
    for pid in members:
        proc = snap.get(pid)
        if proc is None or proc.is_zombie:
            continue
        argv = snap.cmdline(pid)
        out.append((pid, " ".join(argv) if argv else "[%s]" % proc.comm, proc.comm))
    return out


def _usage(manager, rt, processes):
    """Tasks/memory/CPU of the unit's members (shim/proc/usage.py, imported only here)."""
    if not processes:
        return None
    from shim.proc import usage
    snap = manager.inspector.snapshot()
    refs = [(pid, snap.get(pid).starttime) for pid, _, _ in processes if snap.get(pid) is not None]
    cgroup = rt.tracking.cgroup if rt.mode == "cgroup" else None
    return usage.measure(refs, cgroup=cgroup, proc_root=manager.ctx.proc)


_USAGE_PROPERTIES = ("TasksCurrent", "MemoryCurrent", "CPUUsageNSec")


def status(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    if not patterns:
        return _system_status(ctx, manager)
    if all(p.isdigit() for p in patterns):
        raise ShimError("Looking up units by PID is not supported.")
    code, first = 0, True
    for unit in manager.units(patterns, include=manager.loaded_filter()):
        rt = manager.inspector.inspect(unit)
        if rt.load_state == "not-found" and not unit.found:
            ctx.warn("Unit %s could not be found." % unit.id)
            code = code or 4
            continue
        processes = _processes(manager, rt) if unit.backend != "target" else []
        if not first:
            ctx.print()
        first = False
        lines = status_render.block(
            unit, rt, unit_file_state=manager.unit_file_state(unit), processes=processes,
            preset=manager.unit_file_preset(unit),
            log_lines=manager.store.log_tail(unit.id, ctx.options.lines), utf8=ctx.utf8,
            mode_note=_describe_mode(rt, unit), usage=_usage(manager, rt, processes))
        for line in lines:
            ctx.print(line)
        _warn_if_changed(ctx, manager, unit, rt)
        if not rt.is_active:
            code = code or 3
    return code


def _warn_if_changed(ctx, manager, unit, rt):
    if unit.backend == "native":
        from shim.backends import reloadstate
        reloadstate.warn_if_changed(ctx, manager, unit, rt.record)


def _need_daemon_reload(manager, unit, rt, props, wanted) -> list:
    """NeedDaemonReload= in systemd's place (after CanIsolate), computed only when shown."""
    if wanted and "NeedDaemonReload" not in {w.partition("=")[0] for w in wanted}:
        return props
    value = "no"
    if unit.backend == "native":
        from shim.backends import reloadstate
        value = "yes" if reloadstate.changed_on_disk(manager, unit, rt.record) else "no"
    out, placed = [], False
    for name, old in props:
        if name == "NeedDaemonReload":
            old, placed = value, True
        out.append((name, old))
        if name == "CanIsolate" and not placed and \
                not any(n == "NeedDaemonReload" for n, _ in props):
            out.append(("NeedDaemonReload", value))
            placed = True
    if not placed:
        out.append(("NeedDaemonReload", value))
    return out


def _system_status(ctx, manager) -> int:
    units = manager.index.all()
    failed = [u for u in units if manager.inspector.inspect(u).active_state == "failed"]
    glyph = status_render.glyph("failed" if failed else "active", ctx.utf8)
    ctx.print("%s %s" % (glyph, os.uname().nodename))
    ctx.print("    State: %s" % ("degraded" if failed else "running"))
    ctx.print("    Units: %d loaded (incl. loaded aliases)" % len(units))
    ctx.print("     Jobs: 0 queued")
    ctx.print("   Failed: %d units" % len(failed))
    return 0


def show(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    options = ctx.options
    if not patterns:
        return _show_manager(ctx, manager)
    first = True
    for unit in manager.units(patterns, include=manager.loaded_filter()):
        rt = manager.inspector.inspect(unit)
        wanted = options.properties
        tasks, usage = 0, None
        if unit.found and (not wanted or any(w.partition("=")[0] in _USAGE_PROPERTIES
                                             for w in wanted)):
            processes = _processes(manager, rt)
            tasks, usage = len(processes), _usage(manager, rt, processes)
        props = properties.unit_properties(
            unit, rt, manager.config(unit), unit_file_state=manager.unit_file_state(unit),
            preset=manager.unit_file_preset(unit),
            tasks=tasks, usage=usage)
        props = _need_daemon_reload(manager, unit, rt, props, wanted)
        lines = properties.render(props, wanted=wanted, value_only=options.value,
                                  show_empty=options.all or bool(wanted))
        if not first:
            ctx.print()
        first = False
        for line in lines:
            ctx.print(line)
    return 0


def _show_manager(ctx, manager) -> int:
    props = [("Version", "252 (systemctl-shim)"), ("Features", "+SYSVINIT +OPENRC"),
             ("Virtualization", ""), ("Architecture", "x86-64"),
             ("SystemState", "running"), ("DefaultStandardOutput", "journal")]
    for line in properties.render(props, wanted=ctx.options.properties,
                                  value_only=ctx.options.value, show_empty=ctx.options.all):
        ctx.print(line)
    return 0


def cat(ctx, verb, patterns) -> int:
    from shim.render import unitfile
    manager = Manager(ctx)
    code, first = 0, True
    for unit in manager.units(patterns, include=manager.loaded_filter()):
        if manager.is_masked(unit):
            if not first:
                ctx.print()
            first = False
            ctx.print("# Unit %s is masked." % unit.id)
            continue
        if unit.backend == "native":
            if not first:
                ctx.print()
            first = False
            ctx.out.write(manager.index.unit_files().cat(unit.id) or "")
            continue
        config = manager.config(unit)
        if config is None:
            ctx.warn("No files found for %s." % unit.id)
            code = 1
            continue
        if not first:
            ctx.print()
        first = False
        # systemd shows the generator's output for a script unit, never the script itself.
        ctx.print("# " + config.fragment_path)
        ctx.out.write(unitfile.generated_sysv(config))
    return code
