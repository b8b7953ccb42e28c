"""[Install] of native units: enable, disable and is-enabled by systemd's symlinks in
/etc/systemd/system (unit-files.md section 12): `<target>.wants/<unit>` for WantedBy=,
`.requires/` for RequiredBy=, `<alias>` for Alias=. The changes are returned for the verb's
`Created symlink ...` / `Removed "..."` lines."""

import os

CONFIG_DIR = "/etc/systemd/system"


class NativeInstall:
    def __init__(self, ctx, config_of):
        self.ctx = ctx
        self.config_of = config_of            # unit -> UnitConfig

    def _links(self, unit):
        """(link path on the machine, what it points to) for every [Install] link of the unit."""
        config = self.config_of(unit)
        target = unit.source_path
        links = []
        for kind, names in (("wants", config.wanted_by), ("requires", config.required_by)):
            for name in names:
                links.append(("%s/%s.%s/%s" % (CONFIG_DIR, name, kind, unit.id), target))
        for alias in config.alias:
            links.append(("%s/%s" % (CONFIG_DIR, alias), target))
        return links

    def is_enabled(self, unit) -> str:
        config = self.config_of(unit)
        if not (config.wanted_by or config.required_by or config.alias or config.also):
            return "static"
        links = self._links(unit)
        if links and any(os.path.islink(self.ctx.path(link)) for link, _ in links):
            return "enabled"
        return "disabled" if links else "indirect"

    def enable(self, unit):
        changes = []
        for link, target in self._links(unit):
            path = self.ctx.path(link)
            if os.path.islink(path) and os.readlink(path) == target:
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                os.unlink(path)
            os.symlink(target, path)
            changes.append(("created", path, target))
        return changes

    def disable(self, unit):
        changes = []
        for link, _ in self._links(unit):
            path = self.ctx.path(link)
            if os.path.islink(path):
                os.unlink(path)
                changes.append(("removed", path, None))
        return changes
