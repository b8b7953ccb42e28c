"""A parse cache for native unit files: `UnitConfig`s in one marshal file under the state
directory, so that `list-units` with hundreds of unit files does not parse them all each time.

Never trusted blindly. An entry is used only when its signature equals the one computed now from
the files themselves: the unit's id and names, its fragment path, and (path, inode, size,
mtime_ns, ctime_ns) of the fragment and of every drop-in in application order (so an added or
removed drop-in changes it). Entries whose files changed within the last RACY_NS are not stored
(git's "racy" rule: the kernel's clock is coarse, two writes in one tick keep one mtime). The file
starts with a magic and a CRC of its body; a file that is not ours (owner, mode), damaged,
truncated, too large, or that decodes to anything but the plain values a `UnitConfig` holds, is
ignored, never an error: the units are then parsed as if there were no cache.

Layout: MAGIC, crc32 (4 bytes, big endian), marshal({unit id: marshal((signature, fields))}),
where `fields` holds only the values that differ from UnitConfig's defaults and ExecCommands as
tuples. The file is 0644, so that users' `systemctl list-units` and `status` use it too, and
therefore holds only units whose every file any user could read anyway (UnitFiles.is_public): a
drop-in that only root may read (a secret in Environment=) keeps its unit out of the cache.
"""

import marshal
import os
import stat
import time
import zlib

from shim.core.config import ExecCommand, UnitConfig

MAGIC = b"shim-unitcache-1\n"
CACHE_NAME = "unitcache.marshal"
MAX_BYTES = 32 * 1024 * 1024
RACY_NS = 2 * 10 ** 9
EXEC_FIELDS = ("exec_condition", "exec_start_pre", "exec_start", "exec_start_post",
               "exec_reload", "exec_stop", "exec_stop_post")
_EXEC_FLAGS = ("ignore_errors", "no_env_expand", "full_privileges", "no_setuid", "ambient")


def file_signature(path: str, shown: str):
    """(shown path, inode, size, mtime_ns, ctime_ns) of `path` (followed), or of the link itself
    when it leads nowhere readable (a drop-in masked by /dev/null)."""
    try:
        st = os.stat(path)
    except OSError:
        st = os.lstat(path)
    return (shown, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def is_racy(signature, now_ns: int, racy_ns: int = RACY_NS) -> bool:
    """Did one of the files change so recently that a same-size rewrite within the same clock
    tick could go unnoticed? (`signature` as UnitFiles.signature: id, names, the fragment's
    file signature, the drop-ins' file signatures.)"""
    files = (signature[2],) + tuple(signature[3])
    return any(max(f[3], f[4]) > now_ns - racy_ns for f in files)


# --- UnitConfig <-> plain values ------------------------------------------------------------------

_SCALARS = frozenset((str, int, bool, float, type(None)))


def _plain(value) -> bool:
    """Only what marshal writes and a UnitConfig holds: no code objects, sets or bytes."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is tuple:
        for v in value:
            if type(v) not in _SCALARS and not _plain(v):
                return False
        return True
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def encode(config: UnitConfig):
    """The fields of `config` that differ from the defaults, as plain values; None if something
    in it is not plain (then the unit is simply not cached)."""
    fields = {}
    for name in UnitConfig._fields():
        value = getattr(config, name)
        if value == getattr(UnitConfig, name):
            continue
        if name in EXEC_FIELDS:
            if not all(type(c) is ExecCommand for c in value):
                return None
            value = tuple((c.path, tuple(c.argv)) + tuple(bool(getattr(c, f)) for f in _EXEC_FLAGS)
                          for c in value)
        elif type(value) is list:
            value = tuple(value)
        if not _plain(value):
            return None
        fields[name] = value
    return fields


# field -> the type its values must have (None: any plain value, e.g. limits, nice); constant
_KINDS = {name: (None if getattr(UnitConfig, name) is None else type(getattr(UnitConfig, name)))
          for name in UnitConfig._fields()}
_EXEC_ITEM = 2 + len(_EXEC_FLAGS)


def _exec_commands(value):
    commands = []
    for item in value:
        if type(item) is not tuple or len(item) != _EXEC_ITEM or type(item[0]) is not str or \
                type(item[1]) is not tuple or not all(type(w) is str for w in item[1]) or \
                not all(type(f) is bool for f in item[2:]):
            return None
        if ExecCommand._factories:
            command = ExecCommand(*item)
        else:                                    # as Plain.__init__ leaves it, faster
            command = ExecCommand.__new__(ExecCommand)
            command.__dict__.update(zip(("path", "argv") + _EXEC_FLAGS, item))
        commands.append(command)
    return tuple(commands)


def decode(fields):
    """A UnitConfig from `encode()`'s output, or None if anything does not fit: an unknown
    field, a value of another type than the field's, anything not plain inside."""
    if type(fields) is not dict:
        return None
    values = {}
    for name, value in fields.items():
        kind = _KINDS.get(name, False) if type(name) is str else False
        if kind is False or (kind is not None and type(value) is not kind):
            return None
        if name in EXEC_FIELDS:
            value = _exec_commands(value)
            if value is None:
                return None
        elif type(value) not in _SCALARS and not _plain(value):
            return None
        values[name] = value
    if UnitConfig._factories:                  # mutable defaults: let Plain make them
        return UnitConfig(**values)
    config = UnitConfig.__new__(UnitConfig)      # what UnitConfig(**values) builds, faster
    config.__dict__.update(values)
    return config


# --- the file -------------------------------------------------------------------------------------

class UnitCache:
    """One command's view of the cache file. `get` and `put` work in memory; `flush` writes
    (atomically, only when something changed and we may)."""

    def __init__(self, path: str, writable: bool = True, racy_ns: int = RACY_NS):
        self.path = path
        self.writable = writable
        self.racy_ns = racy_ns
        self._raw = None                # {unit id: bytes} as read
        self._decoded = {}              # unit id -> (signature, UnitConfig) used this command
        self._dirty = False
        self.hits = self.misses = 0     # for tests and the benchmark
        self._code = None

    def _entries(self) -> dict:
        if self._raw is None:
            self._raw = self._read()
        return self._raw

    def _read(self) -> dict:
        entries = read_framed(self.path)
        if type(entries) is not dict or \
                not all(type(k) is str and type(v) is bytes for k, v in entries.items()):
            return {}
        return entries

    def code(self):
        """What parsed the entries: (size, mtime_ns) of the parser's own source files. An upgraded
        or edited shim parses anew instead of trusting what an older parser made of a file."""
        if self._code is None:
            here = os.path.dirname(os.path.abspath(__file__))
            parts = []
            for name in ("backends/unitload.py", "backends/unitparse.py", "backends/execline.py",
                         "backends/envfile.py", "backends/native.py", "core/config.py"):
                try:
                    st = os.stat(os.path.join(os.path.dirname(here), name))
                    parts.append((name, st.st_size, st.st_mtime_ns))
                except OSError:
                    parts.append((name, 0, 0))
            self._code = tuple(parts)
        return self._code

    def get(self, unit_id: str, signature):
        """The cached UnitConfig for exactly this signature, else None."""
        signature = (self.code(), signature)
        hit = self._decoded.get(unit_id)
        if hit is None:
            blob = self._entries().get(unit_id)
            if blob is not None:
                try:
                    stored, fields = marshal.loads(blob)
                except (ValueError, EOFError, TypeError, MemoryError, RecursionError):
                    stored = fields = None
                config = decode(fields) if stored == signature else None
                if config is not None and config.id == unit_id:
                    hit = self._decoded[unit_id] = (stored, config)
        if hit is not None and hit[0] == signature:
            self.hits += 1
            return hit[1]
        self.misses += 1
        return None

    def put(self, unit_id: str, signature, config) -> None:
        racy = is_racy(signature, time.time_ns(), self.racy_ns)
        signature = (self.code(), signature)
        self._decoded[unit_id] = (signature, config)
        if not self.writable or racy:
            return
        fields = encode(config)
        if fields is None:
            return
        try:
            blob = marshal.dumps((signature, fields))
        except ValueError:
            return
        self._entries()[unit_id] = blob
        self._dirty = True

    def keep_only(self, unit_ids) -> None:
        """Forget entries for units that no longer exist (after a full scan)."""
        entries = self._entries()
        for unit_id in [u for u in entries if u not in unit_ids]:
            del entries[unit_id]
            self._dirty = True

    def flush(self) -> None:
        """Write the file if anything changed. Failure (read-only /run, no permission, a full
        disk) leaves the cache as it was: it is only ever an optimisation."""
        if not self._dirty or not self.writable:
            return
        self._dirty = False
        write_framed(self.path, self._entries(), mode=0o644)

    def clear(self) -> None:
        """daemon-reload: start from nothing (the next full load writes a fresh file)."""
        self._raw, self._decoded, self._dirty = {}, {}, True


def read_framed(path: str):
    """The value marshalled in one of our framed files (MAGIC, CRC, body), or None when the file
    is absent, not a regular file, not ours (owner other than root or us, writable by others),
    too large, damaged or not marshal data. Never raises."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o022 or \
                st.st_size > MAX_BYTES or not stat.S_ISREG(st.st_mode):
            return None
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
    head = len(MAGIC) + 4
    if len(data) < head or len(data) > MAX_BYTES or not data.startswith(MAGIC) or \
            int.from_bytes(data[len(MAGIC):head], "big") != zlib.crc32(memoryview(data)[head:]):
        return None
    try:
        return marshal.loads(memoryview(data)[head:])
    except (ValueError, EOFError, TypeError, MemoryError, RecursionError):
        return None


def write_framed(path: str, value, mode: int = 0o600) -> bool:
    """Write `value` atomically (temporary file + rename, `mode`). False if we could not:
    callers treat these files as optimisations or hints, never as required."""
    try:
        body = marshal.dumps(value)
    except ValueError:
        return False
    data = MAGIC + zlib.crc32(body).to_bytes(4, "big") + body
    tmp = "%s.%d.tmp" % (path, os.getpid())
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        try:
            # O_EXCL: never write into a file someone else prepared under our temporary name
            # (a state directory moved somewhere writable by others); a stale one of ours
            # (a crash, the same pid again) is removed once.
            fd = os.open(tmp, flags, mode)
        except FileExistsError:
            os.unlink(tmp)
            fd = os.open(tmp, flags, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.chmod(tmp, mode)                      # whatever the umask
        os.rename(tmp, path)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def for_context(ctx):
    """The cache of this machine's state directory; None with --root (an image is read, never
    written, and a cache found inside it is not ours to trust)."""
    if ctx.offline or not ctx.state_dir:
        return None
    return UnitCache(os.path.join(ctx.state_dir, CACHE_NAME), writable=os.geteuid() == 0)
