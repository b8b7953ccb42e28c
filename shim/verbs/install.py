"""enable, disable, reenable, mask, unmask, preset (src/systemctl/systemctl-enable.c).

For init scripts, "enabled" means what the machine's init will honour at boot: an `S??name` link
in the default runlevel (SysV, via update-rc.d) or an entry in an OpenRC runlevel (via rc-update).
A mask is systemd's: a link to /dev/null in /etc/systemd/system, which we then refuse to start.
"""

import os

from shim.backends.sysv import RcToolError
from shim.errors import ShimError
from shim.manager import Manager
from shim.verbs import lifecycle


def _arrow(ctx) -> str:
    return "→" if ctx.utf8 else "->"


def _announce(ctx, changes) -> None:
    if ctx.options.quiet:
        return
    for kind, path, target in changes:
        shown = "/" + os.path.relpath(path, ctx.path("/")) if ctx.foreign_root else path
        if kind == "created":
            ctx.warn("Created symlink %s %s %s." % (shown, _arrow(ctx), target))
        elif kind == "renamed":
            target_shown = "/" + os.path.relpath(target, ctx.path("/")) if ctx.foreign_root else target
            ctx.warn("Renamed %s %s %s." % (shown, _arrow(ctx), target_shown))
        else:
            ctx.warn('Removed "%s".' % shown)


def _units(manager, verb, patterns):
    if os.geteuid() != 0:
        raise ShimError("Failed to %s unit: Access denied" % verb, 1)
    return manager.units(patterns, allow_globs=False)


def _change(ctx, verb, patterns, change) -> int:
    """Apply `change(manager, unit)` to each unit; then --now's start/stop."""
    manager = Manager(ctx)
    units = _units(manager, verb, patterns)
    # update-rc.d calls `systemctl enable|disable` back with SYSTEMCTL_SKIP_SYSV=1: for scripts
    # (we have no native units) there is then nothing left to do, and doing it would loop.
    if ctx.env.get("SYSTEMCTL_SKIP_SYSV", "") not in ("", "0", "no", "false"):
        return 0
    for unit in units:
        if not unit.found:
            raise ShimError("Failed to %s unit: Unit file %s does not exist." % (verb, unit.id), 1)
    for unit in units:
        if unit.backend == "target":
            if not ctx.options.quiet:
                ctx.warn("The unit files have no installation config (WantedBy=, RequiredBy=, "
                         "Also=,\nAlias= settings in the [Install] section, and DefaultInstance= "
                         "for template\nunits). This means they are not meant to be enabled "
                         "using systemctl.")
            continue
        if verb in ("enable", "reenable") and manager.is_masked(unit):
            raise ShimError("Failed to %s unit: Unit file %s is masked."
                            % (verb, manager.mask_path(unit.id)), 1)
        if not ctx.options.quiet and unit.backend != "native":
            tool = "rc-update" if manager.loader.rc.kind == "openrc" else "update-rc.d"
            ctx.warn("%s is not a native service, redirecting to %s." % (unit.id, tool))
        try:
            _announce(ctx, change(manager, unit) or [])
        except RcToolError as error:
            raise ShimError(str(error), 1) from None
        except OSError as error:
            raise ShimError("Failed to %s unit: %s" % (verb, error.strerror), 1) from None
    if ctx.options.now and verb != "preset":        # systemctl's --now is for enable/disable
        if ctx.offline:
            raise ShimError("--now cannot be used with --root=.")
        now_verb = {"enable": "start", "disable": "stop", "reenable": "try-restart"}[verb]
        return lifecycle.job(ctx, now_verb, [u.id for u in units if u.backend != "target"])
    return 0


def enable(ctx, verb, patterns) -> int:
    return _change(ctx, "enable", patterns, lambda m, u: m.installer(u).enable(u))


def disable(ctx, verb, patterns) -> int:
    return _change(ctx, "disable", patterns, lambda m, u: m.installer(u).disable(u))


def reenable(ctx, verb, patterns) -> int:
    def both(manager, unit):
        return (manager.installer(unit).disable(unit) or []) + (manager.installer(unit).enable(unit) or [])
    return _change(ctx, "reenable", patterns, both)


def preset(ctx, verb, patterns) -> int:
    """systemd.preset(5): enable or disable each unit as the preset files say (no match:
    enable, Debian's policy, which deb-systemd-helper relies on); --preset-mode=enable-only or
    disable-only applies only that half. Init scripts have no preset files: they are enabled."""
    mode = ctx.options.preset_mode

    def apply(manager, unit):
        wanted = manager.unit_file_preset(unit) if unit.backend == "native" else "enabled"
        if wanted == "enabled" and mode != "disable-only":
            return manager.installer(unit).enable(unit)
        if wanted == "disabled" and mode != "enable-only":
            return manager.installer(unit).disable(unit)
        return []
    return _change(ctx, "preset", patterns, apply)


def mask(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    units = _units(manager, "mask", patterns)
    for unit in units:
        if not unit.found and not ctx.options.quiet:
            ctx.warn("Unit %s does not exist, proceeding anyway." % unit.id)
        path = manager.mask_path(unit.id)
        if os.path.realpath(path) == "/dev/null":
            continue
        if os.path.lexists(path):
            raise ShimError("Failed to mask unit: File %s already exists." % path, 1)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink("/dev/null", path)
        _announce(ctx, [("created", path, "/dev/null")])
    if ctx.options.now:
        return lifecycle.job(ctx, "stop", [u.id for u in units if u.found])
    return 0


def unmask(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    for unit in _units(manager, "unmask", patterns):
        path = manager.mask_path(unit.id)
        if os.path.islink(path) and os.path.realpath(path) == "/dev/null":
            os.unlink(path)
            _announce(ctx, [("removed", path, None)])
    return 0
