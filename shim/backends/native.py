"""Native systemd unit files: the search path, names (aliases, masks, templates, instances),
drop-ins, and loading into `UnitConfig` with systemd 252's rules
(reference: unit-files.md sections 1-7, 9-10, 12-14).

Everything reads files under a root given by the caller; nothing is run. Paths in results are
as systemd shows them (without the root prefix). Parsing a unit into its `UnitConfig` is
`shim/backends/unitload.py`, imported only when the parse cache (`unitcache.py`) lacks the unit.
"""

import os
import stat

from shim.core.config import UnitConfig

UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/lib/systemd/system", "/usr/lib/systemd/system")
UNIT_TYPES = ("service", "socket", "target", "device", "mount", "automount", "swap", "timer",
              "path", "slice", "scope")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:-_.\\@")


def is_valid_name(name: str) -> bool:
    if not name or len(name) > 255 or "." not in name:
        return False
    stem, _, suffix = name.rpartition(".")
    if suffix not in UNIT_TYPES or not stem or not _NAME_CHARS.issuperset(name):
        return False
    if stem.count("@") > 1 or stem.startswith("@"):
        return False
    return True


def split_instance(name: str):
    """'foo@bar.service' -> ('foo@.service', 'bar'); 'foo@.service' -> ('foo@.service', '');
    'foo.service' -> (None, '')."""
    stem, _, suffix = name.rpartition(".")
    if "@" not in stem:
        return None, ""
    prefix, _, instance = stem.partition("@")
    return "%s@.%s" % (prefix, suffix), instance


class NativeUnit:
    """A unit as found on disk. `text` (the fragment) is read on first use: a unit whose parsed
    config comes from the cache is never read."""

    def __init__(self, reader=None, **values):
        self.id = ""
        self.names = ()
        self.fragment_path = ""      # "" when masked or not found
        self.fragment_stat = None    # (path, inode, size, mtime_ns, ctime_ns) of the fragment
        self.dropin_paths = ()
        self.masked = False
        self.template = ""           # foo@.service for instances and templates
        self.instance = ""
        self.is_template = False
        self._text = None
        self._reader = reader
        self.__dict__.update(values)

    @property
    def text(self) -> str:
        if self._text is None:
            try:
                self._text = self._reader(self.fragment_path) if self._reader and \
                    self.fragment_path else ""
            except OSError:
                self._text = ""
        return self._text

    @text.setter
    def text(self, value: str):
        self._text = value

    def __repr__(self):
        return "NativeUnit(%r)" % {k: v for k, v in self.__dict__.items() if k != "_reader"}


class _Entry:
    """One name in the unit directories."""
    __slots__ = ("name", "dir", "path", "kind", "target", "stat")

    def __init__(self, name, dir, path, kind, target, stat=None):
        # kind: "file" (target = fragment path), "mask", "alias" (target = other name)
        self.name, self.dir, self.path, self.kind, self.target = name, dir, path, kind, target
        self.stat = stat


class UnitFiles:
    """The unit files under one root, as one command sees them: the directories are listed once
    (scandir, no stat per file), a name is classified when first asked for, and `load()` takes
    parsed configs from the cache (`shim/backends/unitcache.py`) when their files are unchanged."""

    def __init__(self, root: str = "/", dirs=UNIT_DIRS, cache=None):
        self.root = root or "/"
        self._dirs = tuple(dirs)
        self.cache = cache
        self.reload()

    @classmethod
    def for_context(cls, ctx):
        """The unit files of the context's root, with the parse cache of its state directory
        (none with --root: the image is only read)."""
        from shim.backends import unitcache
        return cls(ctx.root, cache=unitcache.for_context(ctx))

    def reload(self):
        """daemon-reload: forget the directory listing and everything found through it."""
        self._listing = None        # name -> [(dir, DirEntry)] in precedence order
        self._dirnames = None       # dir -> names of its subdirectories (drop-in dirs)
        self._entries = {}          # name -> _Entry or None, classified on demand
        self._aliases = None        # final name -> alias names (sorted)
        self._found = {}            # name -> NativeUnit or None
        self._unit_dirs = None
        self._searchable_dirs = {}  # directory -> searchable by others, up to the root
        self._bulk = False          # all() was asked for: the caller goes through every unit
        self._bulk_state = ""       # "" | "loading" | "done" (_load_everything)

    # --- file system under root ----------------------------------------------------------------
    def path(self, p: str) -> str:
        return os.path.join(self.root, p.lstrip("/")) if self.root != "/" else p

    def read(self, p: str) -> str:
        with open(self.path(p), encoding="utf-8", errors="surrogateescape") as f:
            return f.read()

    def _resolve(self, p: str):
        """Follow symlinks inside the root; returns the final un-rooted path ('/dev/null' for a
        mask) or None when dangling."""
        for _ in range(32):
            if p == "/dev/null":
                return p
            real = self.path(p)
            if os.path.islink(real):
                target = os.readlink(real)
                p = os.path.normpath(target if target.startswith("/")
                                     else os.path.join(os.path.dirname(p), target))
                continue
            return p if os.path.exists(real) else None
        return None

    def unit_dirs(self) -> tuple:
        """The search path, deduplicated by inode (merged /usr: /lib and /usr/lib are one)."""
        if self._unit_dirs is None:
            seen, out = set(), []
            for d in self._dirs:
                try:
                    st = os.stat(self.path(d))
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                out.append(d)
            self._unit_dirs = tuple(out)
        return self._unit_dirs

    def _in_unit_dir(self, p: str) -> bool:
        return os.path.dirname(p) in self._dirs

    def _scan(self) -> dict:
        """One listing of every unit directory: unit names (first directory first) and the
        subdirectories, which is all `_dropin_dirs` needs to know."""
        if self._listing is not None:
            return self._listing
        listing, dirnames = {}, {}
        for d in self.unit_dirs():
            subdirs = dirnames[d] = set()
            try:
                with os.scandir(self.path(d)) as it:
                    entries = list(it)
            except OSError:
                continue
            for e in entries:
                name = e.name
                if name.endswith(".d"):
                    try:
                        if e.is_dir():
                            subdirs.add(name)
                    except OSError:
                        pass
                    continue
                if is_valid_name(name):
                    listing.setdefault(name, []).append((d, e))
        self._listing, self._dirnames = listing, dirnames
        self._all_subdirs = set().union(*dirnames.values())
        return listing

    def _entry(self, name: str):
        """What the search path holds under exactly this name (_Entry), or None."""
        if name in self._entries:
            return self._entries[name]
        entry = None
        for d, e in self._scan().get(name, ()):
            entry = self._classify(name, d, e)
            if entry is not None:
                break
        self._entries[name] = entry
        return entry

    def _classify(self, name, d, e):
        p = d + "/" + name
        try:
            if e.is_symlink():
                final = self._resolve(p)
                if final is None:
                    return None
                if final == "/dev/null":
                    return _Entry(name, d, p, "mask", None)
                base = os.path.basename(final)
                if base != name and is_valid_name(base) and self._in_unit_dir(final) and \
                        base.rpartition(".")[2] == name.rpartition(".")[2]:
                    return _Entry(name, d, p, "alias", base)
                target = final
                st = os.stat(self.path(final))
            else:
                target = p
                st = e.stat()
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        signature = (target, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        return _Entry(name, d, p, "mask" if st.st_size == 0 else "file", target, signature)

    def _alias_map(self) -> dict:
        """final name -> the alias names that lead to it, sorted."""
        if self._aliases is None:
            out = {}
            for name in sorted(self._scan()):
                if any(e.is_symlink() for _, e in self._scan()[name]):
                    entry = self._entry(name)
                    if entry is not None and entry.kind == "alias":
                        out.setdefault(self._follow(name)[0], []).append(name)
            self._aliases = out
        return self._aliases

    # --- names -----------------------------------------------------------------------------------
    def _follow(self, name: str):
        """Follow alias entries: (final name, entry or None)."""
        seen = set()
        entry = self._entry(name)
        while entry is not None and entry.kind == "alias" and name not in seen:
            seen.add(name)
            name = entry.target
            entry = self._entry(name)
        return name, entry

    def kind(self, name: str):
        """What the search path holds under this exact name: "file", "alias" (a symlink to
        another unit name), "mask" (/dev/null or empty), or None."""
        entry = self._entry(name)
        return entry.kind if entry else None

    def all(self) -> list:
        """Every unit file name of the search path (templates as `foo@.service`, alias links and
        masks included), sorted."""
        self._bulk = True
        return sorted(name for name in self._scan() if self._entry(name) is not None)

    def find(self, name: str):
        """The unit `name` stands for, or None when no file defines it."""
        if name not in self._found:
            self._found[name] = self._find(name) if is_valid_name(name) else None
        return self._found[name]

    def _find(self, name: str):
        template, instance = split_instance(name)
        final, entry = self._follow(name)
        if entry is None and template and instance:
            tfinal, tentry = self._follow(template)
            if tentry is None:
                return None
            t_template, _ = split_instance(tfinal)
            final = tfinal.replace("@.", "@%s." % instance, 1) if t_template else tfinal
            entry = tentry
        elif entry is None:
            return None
        # names: the id and every alias resolving to it (for instances: the template's aliases)
        fin_template, fin_instance = split_instance(final)
        aliases = self._alias_map()
        names = [final]
        others = list(aliases.get(final, ()))
        if fin_template and fin_instance:
            others = sorted(others + aliases.get(fin_template, []))
        for other in others:
            if other == final:
                continue
            if self._follow(other)[0] == final:
                names.append(other)
            else:
                alias_inst = other.replace("@.", "@%s." % fin_instance, 1)
                if alias_inst not in names:
                    names.append(alias_inst)
        if name not in names:
            names.append(name)
        unit = NativeUnit(self.read, id=final, names=tuple(names), template=fin_template or "",
                          instance=fin_instance, is_template=bool(fin_template) and not fin_instance)
        if entry.kind == "mask":
            unit.masked = True
        else:
            unit.fragment_path = entry.target
            unit.fragment_stat = entry.stat
        unit.dropin_paths = tuple(self._dropins(unit))
        return unit

    def _find_dirs(self, name, acc):
        """unit_file_find_dirs(): NAME.d, then the template's dirs for an instance, then the
        dash-truncated prefixes (foo-bar-baz -> foo-bar-, foo-), recursively (the directory
        names, looked for in each unit directory)."""
        acc.append(name + ".d")
        template, instance = split_instance(name)
        if template and instance:
            self._find_dirs(template, acc)
        stem, _, suffix = name.rpartition(".")
        prefix = stem.partition("@")[0].rstrip("-")
        dash = prefix.rfind("-")
        if dash > 0:
            self._find_dirs(prefix[:dash + 1] + "." + suffix, acc)

    def _dropin_dirs(self, unit):
        """Existing drop-in directories in systemd's order: each name of the unit (id first)
        across the search path, then the top-level type directory (service.d/). For a file
        name present in several of them the first directory wins."""
        self._scan()
        per_name = []
        for n in dict.fromkeys((unit.id,) + tuple(unit.names)):
            subs = []
            self._find_dirs(n, subs)
            per_name.append(subs)
        top = unit.id.rpartition(".")[2] + ".d"
        per_name.append([top])
        if self._all_subdirs.isdisjoint(sub for subs in per_name for sub in subs):
            return                              # most units: no drop-in directory anywhere
        dirs = [(d, self._dirnames.get(d, ())) for d in self.unit_dirs()]
        candidates = []
        for subs in per_name:
            candidates += [(d, sub) for d, subdirs in dirs for sub in subs if sub in subdirs]
        for d, sub in dict.fromkeys(candidates):
            yield d + "/" + sub

    def _dropins(self, unit) -> list:
        chosen = {}
        for p in self._dropin_dirs(unit):
            try:
                with os.scandir(self.path(p)) as it:
                    entries = list(it)
            except OSError:
                continue
            for e in entries:
                f = e.name
                if f.endswith(".conf") and f not in chosen:
                    try:
                        regular = e.is_file()
                    except OSError:
                        regular = False
                    if regular or self._resolve(p + "/" + f) == "/dev/null":
                        chosen[f] = p + "/" + f
        return [chosen[f] for f in sorted(chosen)]

    def _read_dropin(self, p: str) -> str:
        if self._resolve(p) == "/dev/null":
            return ""
        try:
            return self.read(p)
        except OSError:
            return ""

    # --- cat, mtimes -----------------------------------------------------------------------------
    def cat(self, name: str):
        """`systemctl cat` text, or None when no files are found (the caller prints
        'No files found for NAME.' and returns 1)."""
        unit = self.find(name)
        if unit is None:
            return None
        if unit.masked:
            return "# Unit %s is masked.\n" % unit.id
        parts = []
        files = ([(unit.fragment_path, unit.text)] if unit.fragment_path else []) + \
            [(p, self._read_dropin(p)) for p in unit.dropin_paths]
        for p, text in files:
            if text and not text.endswith("\n"):
                text += "\n"
            parts.append("# %s\n%s" % (p, text))
        return "\n".join(parts)

    def mtimes(self, name: str, fresh: bool = True) -> dict:
        """{path: mtime_ns} of the fragment, the drop-in files and the drop-in directories
        (NeedDaemonReload): compare the result of two calls to see whether the unit changed on
        disk. `fresh`: list the directories again; else this command's listing is used."""
        if fresh:
            fresh = UnitFiles(self.root, self._dirs)
        else:
            fresh = self
        unit = fresh.find(name)
        out = {}
        if unit is None:
            return out
        paths = ([unit.fragment_path] if unit.fragment_path else []) + list(unit.dropin_paths) + \
            list(fresh._dropin_dirs(unit))
        for p in paths:
            try:
                out[p] = os.stat(self.path(p)).st_mtime_ns
            except OSError:
                out[p] = None
        return out

    # --- load ------------------------------------------------------------------------------------
    def signature(self, unit: NativeUnit):
        """What the parse result of `unit` depends on (see unitcache), or None if a file
        vanished while we looked."""
        if unit.fragment_stat is None:
            return None
        from shim.backends.unitcache import file_signature
        try:
            dropins = tuple(file_signature(self.path(p), p) for p in unit.dropin_paths)
        except OSError:
            return None
        return (unit.id, unit.names, unit.fragment_stat, dropins)

    def load(self, name: str) -> UnitConfig:
        """The UnitConfig of `name`; never raises."""
        try:
            unit = self.find(name)
        except OSError as e:
            return UnitConfig(id=name, names=(name,), description=name, load_state="error",
                              load_error=str(e))
        if unit is None:
            return UnitConfig(id=name, names=(name,), description=name, load_state="not-found",
                              load_error="Unit %s not found." % name)
        if unit.masked:
            return UnitConfig(id=unit.id, names=unit.names, description=unit.id,
                              load_state="masked", dropin_paths=unit.dropin_paths,
                              load_error="Unit %s is masked." % unit.id)
        signature = None
        if self.cache is not None and not unit.is_template:
            signature = self.signature(unit)
            if signature is not None:
                config = self.cache.get(unit.id, signature)
                if config is not None:
                    return config
                if self._bulk and not self._bulk_state:
                    self._load_everything()          # the first miss while listing everything
                    config = self.cache.get(unit.id, signature)
                    if config is not None:
                        return config
        config, cacheable = self._parse(unit)
        if signature is not None and cacheable and self.is_public(unit):
            self.cache.put(unit.id, signature, config)
            if self._bulk_state != "loading":
                self.cache.flush()
        return config

    def is_public(self, unit) -> bool:
        """Could any user read every file the unit's config comes from (each file readable by
        others, each directory above it searchable)? Only then may its parsed config go into
        the world-readable cache: it tells nobody anything new."""
        for p in (unit.fragment_path,) + tuple(unit.dropin_paths):
            try:
                if not os.stat(self.path(p)).st_mode & 0o004:
                    return False
            except OSError:
                return False
            if not self._searchable(os.path.dirname(p)):
                return False
        return True

    def _searchable(self, d: str) -> bool:
        if d not in self._searchable_dirs:
            try:
                ok = bool(os.stat(self.path(d)).st_mode & 0o001)
            except OSError:
                ok = False
            parent = os.path.dirname(d)
            self._searchable_dirs[d] = ok and (parent == d or self._searchable(parent))
        return self._searchable_dirs[d]

    def _parse(self, unit):
        from shim.backends.unitload import Loader
        loader = Loader(self, unit)
        try:
            config = loader.run()
        except Exception as e:        # never raise: report as systemd's "error" state
            return UnitConfig(id=unit.id, names=unit.names, description=unit.id,
                              fragment_path=unit.fragment_path, dropin_paths=unit.dropin_paths,
                              load_state="error", load_error="%s: %s" % (type(e).__name__, e)), False
        specifiers = getattr(loader, "specifiers", None)
        return config, specifiers is None or not specifiers.uses_host_values()

    def _load_everything(self):
        """Parse every unit of the listing that the cache lacks and write the cache once, when
        the caller goes through all units (list-units): one write instead of hundreds."""
        self._bulk_state = "loading"                 # load() must not flush meanwhile
        ids = set()
        for name in self.all():
            unit = self.find(name)
            if unit is None or unit.masked or unit.is_template or unit.id != name:
                continue
            ids.add(unit.id)
            self.load(name)
        self.cache.keep_only(ids)
        self.cache.flush()
        self._bulk_state = "done"
