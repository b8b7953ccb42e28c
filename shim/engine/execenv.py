"""The execution environment of a native unit's commands, as systemd 252 sets it up
(unit-files.md sections 11 and 17; man systemd.exec; src/core/execute.c, src/basic/rlimit-util.c):
resource limits, the nice level, where stdout and stderr go, and the RuntimeDirectory=/
StateDirectory=/CacheDirectory=/LogsDirectory=/ConfigurationDirectory= trees.

Nothing here runs a command. `spawn_extras()` turns a `UnitConfig` into the keys the anchor
(`shim/proc/anchor.py` `_spawn`) applies in the child before exec; `prepare_directories()` (before
each command, `+` commands too) and `remove_runtime_directories()` (once the unit is dead) are
called by the native runner.
"""

import errno
import os
import stat

INFINITY = 2 ** 64 - 1           # RLIM_INFINITY as the loader stores it
# Linux's generic resource numbers (asm-generic/resource.h), for an interpreter whose `resource`
# module lacks a name; keys are the Limit*= suffixes.
RLIMIT_NUMBERS = {"CPU": 0, "FSIZE": 1, "DATA": 2, "STACK": 3, "CORE": 4, "RSS": 5, "NPROC": 6,
                  "NOFILE": 7, "MEMLOCK": 8, "AS": 9, "LOCKS": 10, "SIGPENDING": 11,
                  "MSGQUEUE": 12, "NICE": 13, "RTPRIO": 14, "RTTIME": 15}
# The manager's defaults that every service gets unless it says otherwise (systemd 252 measured:
# LimitNOFILE=524288, LimitNOFILESoft=1024; soft 1024 keeps select() users working). Everything
# else is inherited, as systemd's services inherit PID 1's.
DEFAULT_LIMITS = {"NOFILE": (1024, 524288)}

# StandardOutput=/StandardError= words of systemd 252 whose target is the journal; without
# journald they all mean the unit's log (the anchor's default). syslog* are the pre-246 spellings,
# still read as journal*.
_TO_LOG = ("journal", "journal+console", "kmsg", "kmsg+console", "syslog", "syslog+console")
_OUTPUT_WORDS = _TO_LOG + ("inherit", "null", "tty", "socket", "fd")
_INPUT_WORDS = ("null", "tty", "tty-force", "tty-fail", "data", "socket", "fd")
_FILE_KINDS = ("file", "append", "truncate")
DEFAULT_TTY = "/dev/console"      # TTYPath= default

# Type, where under the machine, variable, exit status (exec_directory_type / exit-status.h).
DIRECTORY_TYPES = (
    ("RuntimeDirectory", "runtime_directory", "/run", "RUNTIME_DIRECTORY", 233),
    ("StateDirectory", "state_directory", "/var/lib", "STATE_DIRECTORY", 238),
    ("CacheDirectory", "cache_directory", "/var/cache", "CACHE_DIRECTORY", 239),
    ("LogsDirectory", "logs_directory", "/var/log", "LOGS_DIRECTORY", 240),
    ("ConfigurationDirectory", "configuration_directory", "/etc", "CONFIGURATION_DIRECTORY", 241),
)
_MAX_SYMLINKS = 40


class ExecDirectoryError(OSError):
    """A directory could not be set up: systemd logs `message` ('Failed to set up special
    execution directory in /run: Not a directory') and the command exits with `status`
    (233/RUNTIME_DIRECTORY ... 241/CONFIGURATION_DIRECTORY) without running. An OSError, so
    that callers catching OSError for a failed spawn catch this too."""

    def __init__(self, code: int, message: str, status: int):
        super().__init__(code, message)
        self.message, self.status = message, status


# --- limits and nice --------------------------------------------------------------------------

def _resource_number(name: str) -> int:
    import resource                   # a builtin module: cheap, and right on every architecture
    return getattr(resource, "RLIMIT_" + name, RLIMIT_NUMBERS[name])


def _rlim(value: int) -> int:
    """The anchor's form: -1 for infinity (Python's RLIM_INFINITY); values above what setrlimit()
    takes from Python (2**63) can only mean unlimited."""
    return -1 if value >= 2 ** 63 else value


def _nice_limit(value: int):
    """LimitNICE= as the kernel's raw 0..40 (rlimit_parse_nice): a negative number is a nice
    level (-20..-1 -> 40..21); None when out of range. The loader parses '+5' as 5 (raw), where
    systemd reads it as nice level 5 (raw 15): the sign is gone by the time we see it."""
    if value == INFINITY:
        return value
    if value < 0:
        return 20 - value if value >= -20 else None
    return value if value <= 40 else None


def rlimits(limits, warn=None) -> list:
    """[(resource number, soft, hard)] for the anchor, the manager's defaults included."""
    merged = dict(DEFAULT_LIMITS)
    merged.update(limits or {})
    result = []
    for name in sorted(merged, key=lambda n: RLIMIT_NUMBERS.get(n, 99)):
        if name not in RLIMIT_NUMBERS:
            continue
        soft, hard = merged[name]
        if name == "NICE":
            soft, hard = _nice_limit(soft), _nice_limit(hard)
            if soft is None or hard is None or (hard != INFINITY and soft > hard):
                if warn:
                    warn("LimitNICE= value out of range, ignoring: %s:%s" % merged[name])
                continue
        result.append((_resource_number(name), _rlim(soft), _rlim(hard)))
    return result


def _nice(config, warn=None):
    value = config.nice
    if value is None:
        return None
    if not -20 <= value <= 19:
        if warn:
            warn("Nice= out of range, ignoring: %s" % value)
        return None
    return value


# --- standard input/output --------------------------------------------------------------------

def parse_output(value: str):
    """(kind, argument) for a StandardOutput=/StandardError= value systemd 252 accepts, else None
    (systemd: 'Failed to parse output specifier, ignoring: X', and the setting keeps its
    default). argument: the path for file/append/truncate, the name for fd, else None."""
    kind, sep, argument = value.partition(":")
    if kind in _FILE_KINDS and sep:
        path = _absolute_path(argument)
        return (kind, path) if path else None
    if kind == "fd":
        return ("fd", argument or None) if not sep or (argument and ":" not in argument) else None
    if not sep and kind in _OUTPUT_WORDS:
        return (kind, None)
    return None


def parse_input(value: str):
    """(kind, argument) for a StandardInput= value, else None (the default, null, stays)."""
    kind, sep, argument = value.partition(":")
    if kind == "file" and sep:
        path = _absolute_path(argument)
        return ("file", path) if path else None
    if kind == "fd":
        return ("fd", argument or None) if not sep or (argument and ":" not in argument) else None
    if not sep and kind in _INPUT_WORDS:
        return (kind, None)
    return None


def _absolute_path(text: str) -> str:
    """path_simplify_and_warn(PATH_CHECK_ABSOLUTE): '' when not an absolute path."""
    if not text.startswith("/") or "\0" in text or ".." in text.split("/"):
        return ""
    return os.path.normpath(text).replace("//", "/")


def _tty_path(config) -> str:
    found = DEFAULT_TTY
    for key, value in config.sandboxing or ():
        if key == "TTYPath":
            found = value or DEFAULT_TTY
    return found


def _stdout_target(config, output, warn, key="StandardOutput"):
    """The anchor's key for a parsed StandardOutput= (or StandardError=): None is the unit's
    log."""
    kind, argument = output
    if kind in _TO_LOG:
        return None
    if kind == "null":
        return ("null", os.devnull)
    if kind == "tty":
        return ("tty", _tty_path(config))
    if kind in _FILE_KINDS:
        return (kind, argument)
    if kind == "inherit":
        # systemd: stdout inherits from stdin; stdin null (the default) or data gives /dev/null
        # (PID 1 opens /dev/null anew), a terminal gives the terminal.
        stdin = parse_input(config.standard_input or "null") or ("null", None)
        if stdin[0].startswith("tty"):
            return ("tty", _tty_path(config))
        if stdin[0] in ("null", "data", "file"):
            # (file: systemd duplicates the read-only descriptor; every write fails, like null)
            return ("null", os.devnull)
        kind = "stdin " + stdin[0]
    if warn:
        warn("%s=%s is not supported by systemctl-shim (no socket activation, no file "
             "descriptor store); output goes to the unit's log." % (key, kind))
    return None


def standard_streams(config, warn=None):
    """(stdout, stderr) keys for the anchor: None (the unit's log), (mode, path), or for stderr
    ("inherit", None): the same descriptor as stdout."""
    output = parse_output(config.standard_output or "") or ("journal", None)
    error = parse_output(config.standard_error or "") or ("inherit", None)
    stdout = _stdout_target(config, output, warn)
    # can_inherit_stderr_from_stdout(): inherit, or the very same setting (same kind, same path),
    # shares stdout's descriptor (one file offset: file: output is not overwritten by stderr).
    if error[0] == "inherit" or error == output:
        return stdout, (None if stdout is None else ("inherit", None))
    return stdout, _stdout_target(config, error, warn, "StandardError")


def spawn_extras(config, warn=None) -> dict:
    """The anchor's spawn keys for this unit: rlimits, nice, stdout, stderr. Never raises: a value
    systemd would not accept means its default (the loader warns where systemd does); `warn` gets
    a sentence for what is accepted but not done."""
    stdout, stderr = standard_streams(config, warn)
    return {"rlimits": rlimits(config.limits, warn), "nice": _nice(config, warn),
            "stdout": stdout, "stderr": stderr}


def apply_rlimits(entries) -> None:
    """setrlimit() each (number, soft, hard) the way systemd's setrlimit_closest() does: when the
    hard limit cannot be raised (EPERM: NOFILE above fs.nr_open, or no CAP_SYS_RESOURCE), get as
    close as the current hard limit allows. For a forked child before exec; raises OSError
    carrying systemd's message ('Failed to adjust resource limit RLIMIT_X: ...'), exit 205."""
    import resource
    names = {_resource_number(name): name for name in RLIMIT_NUMBERS}
    for number, soft, hard in entries:
        try:
            # prlimit, not setrlimit: Python turns setrlimit's EPERM into a ValueError
            resource.prlimit(0, number, (soft, hard))
            continue
        except PermissionError as error:
            failure = error
            highest = resource.getrlimit(number)[1]
            if highest != -1:
                closest = tuple(highest if v == -1 or v > highest else v for v in (soft, hard))
                try:
                    resource.prlimit(0, number, closest)
                    continue
                except (OSError, ValueError) as again:
                    failure = again
        except (OSError, ValueError) as error:
            failure = error
        code = getattr(failure, "errno", None) or errno.EINVAL
        raise OSError(code, "Failed to adjust resource limit RLIMIT_%s: %s"
                      % (names.get(number, number), os.strerror(code)))


# --- directories ------------------------------------------------------------------------------

def _mode_setting(config, key: str, default: int = 0o755) -> int:
    """StateDirectoryMode= and friends: the loader keeps them raw in `sandboxing`; the last
    valid one counts (parse_mode: octal, at most 07777)."""
    if key == "RuntimeDirectoryMode":
        return config.runtime_directory_mode
    mode = default
    for name, value in config.sandboxing or ():
        if name == key:
            try:
                number = int(value, 8)
            except ValueError:
                continue
            if 0 <= number <= 0o7777:
                mode = number
    return mode


def directory_items(config, field: str) -> list:
    """[(relative path, [symlink, ...])] of one *Directory= setting, as exec_directory_add()
    keeps them: simplified, each path once (symlinks merged), invalid entries dropped (the
    loader has warned)."""
    items, index = [], {}
    for entry in getattr(config, field) or ():
        name, _, link = entry.partition(":")
        path = _relative_path(name)
        if not path or path == "private" or path.startswith("private/"):
            continue
        link = _relative_path(link) if link else ""
        if path not in index:
            index[path] = []
            items.append((path, index[path]))
        if link and field != "configuration_directory" and link not in index[path]:
            index[path].append(link)
    return items


def _relative_path(text: str) -> str:
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or ".." in parts or "\0" in text:
        return ""
    return "/".join(parts)


def directory_environment(ctx, config) -> dict:
    """RUNTIME_DIRECTORY=/run/a:/run/b and friends (set for every command, also `+` ones)."""
    env = {}
    for _, field, prefix, variable, _ in DIRECTORY_TYPES:
        items = directory_items(config, field)
        if items:
            env[variable] = ":".join(ctx.path(prefix + "/" + path) for path, _ in items)
    return env


def _root(ctx) -> str:
    return os.path.realpath(ctx.root or "/")


def resolve(root: str, machine_path: str) -> str:
    """Where machine_path is, every symlink followed as if `root` were / (chase() with a root):
    an absolute link target starts again at root, '..' never climbs above it. Missing components
    are kept as written. Raises OSError(ELOOP) after too many links."""
    todo = [p for p in machine_path.split("/") if p not in ("", ".")]
    done, hops = [], 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, part)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            done.append(part)
            done.extend(p for p in todo if p != "..")
            break
        if not stat.S_ISLNK(info.st_mode):
            done.append(part)
            continue
        hops += 1
        if hops > _MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), machine_path)
        target = os.readlink(candidate)
        if target.startswith("/"):
            done = []
        todo = [p for p in target.split("/") if p not in ("", ".")] + todo
    return os.path.join(root, *done)


def _holds_our_state(ctx, host: str) -> bool:
    """Whether `host` is, or contains, the shim's own state directory (RuntimeDirectory=
    systemctl-shim): never the unit's to own or remove, whatever it asks for."""
    state = os.path.realpath(ctx.state_dir)
    return state == host or state.startswith(host.rstrip("/") + "/")


def _make_parents(root: str, path: str) -> None:
    """mkdir_parents_label(p, 0755): every missing ancestor of `path` (below root), 0755 exactly
    whatever our umask, owned by root (only the innermost directory is the unit's)."""
    missing = []
    parent = os.path.dirname(path)
    while parent != root and len(parent) > len(root) and not os.path.lexists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            continue
        os.chmod(directory, 0o755)


def _chown_tree(top: str, uid: int, gid: int) -> None:
    """path_chown_recursive(): the directory and all below it, symlinks themselves (never what
    they point to), staying on the directory's file system. Skipped when the top is right
    already (systemd's shortcut)."""
    info = os.lstat(top)
    if (info.st_uid, info.st_gid) == (uid, gid):
        return
    os.chown(top, uid, gid, follow_symlinks=False)
    for _, dirnames, filenames, dirfd in os.fwalk(top, follow_symlinks=False):
        for name in list(dirnames):
            try:
                entry = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.st_dev != info.st_dev:
                dirnames.remove(name)              # a mount point: not ours to change
                continue
            if (entry.st_uid, entry.st_gid) != (uid, gid):
                os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
        for name in filenames:
            try:
                entry = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if (entry.st_uid, entry.st_gid) != (uid, gid):
                os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)


def _one_directory(root, host, mode, uid, gid, is_configuration, label, warn):
    _make_parents(root, host)
    try:
        os.mkdir(host, mode)
        created = True
    except FileExistsError:
        created = False
    info = os.lstat(host)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), host)
    if is_configuration and not created:
        # systemd leaves an existing configuration directory as it is (not the service's to
        # write), and only complains about the mode.
        if (info.st_mode & 0o7777) != mode and warn:
            warn("ConfigurationDirectory '%s' already exists but the mode is different. "
                 "(File system: %o ConfigurationDirectoryMode: %o)" % (label, info.st_mode & 0o7777, mode))
        return
    os.chmod(host, mode)                 # exact, whatever the umask; also an existing one
    _chown_tree(host, uid, gid)


def _one_symlink(root, prefix, path, link) -> None:
    """create_many_symlinks(): prefix/link -> prefix/path, relative, parents 0755; an existing
    link elsewhere (or anything else there) is an error (symlink_idempotent)."""
    host_link = os.path.join(resolve(root, os.path.dirname(prefix + "/" + link)),
                             os.path.basename(link))
    target = os.path.relpath(prefix + "/" + path, os.path.dirname(prefix + "/" + link))
    _make_parents(root, host_link)
    try:
        os.symlink(target, host_link)
    except FileExistsError:
        if not os.path.islink(host_link) or os.readlink(host_link) != target:
            raise
    return None


def prepare_directories(ctx, config, uid, gid, warn=None) -> dict:
    """Create the unit's directories as systemd's setup_exec_directory() does, in its order
    (runtime, state, cache, logs, configuration): parents 0755 root's, the innermost with its
    *Mode= (default 0755) and owned by uid:gid (User=/Group=; None: root), an existing tree
    chowned recursively when its top is someone else's. An existing ConfigurationDirectory= is
    left alone; a new one is chowned like the others (setup_exec_directory() in 252's source
    does so, although systemd.exec(5) says configuration directories stay root's). Symlinks
    ("foo:bar") made. Everything stays below the root (symlinks are
    followed only inside it). Returns the environment variables naming them
    ({"RUNTIME_DIRECTORY": "/run/a:/run/b", ...}). Raises ExecDirectoryError."""
    uid = 0 if uid is None else uid
    gid = 0 if gid is None else gid
    root = _root(ctx)
    for key, field, prefix, _, status in DIRECTORY_TYPES:
        items = directory_items(config, field)
        if not items:
            continue
        mode = _mode_setting(config, key + "Mode")
        try:
            for path, links in items:
                host = resolve(root, prefix + "/" + path)
                if host != root and not host.startswith(root.rstrip("/") + "/"):
                    raise OSError(errno.EXDEV, "Outside of the root", host)
                if _holds_our_state(ctx, host):
                    raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), host)
                _one_directory(root, host, mode, uid, gid, field == "configuration_directory",
                               path, warn)
                for link in links:
                    _one_symlink(root, prefix, path, link)
        except OSError as error:
            raise ExecDirectoryError(error.errno or errno.EIO,
                                     "Failed to set up special execution directory in %s: %s"
                                     % (prefix, error.strerror or error), status) from None
    return directory_environment(ctx, config)


def _remove_tree(path: str) -> None:
    """rm_rf(REMOVE_ROOT): never following a symlink, never below another file system."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)                   # a symlink (or a file) in its place: only the name goes
        return

    def clear(dirfd):
        for entry in os.scandir(dirfd):
            try:
                entry_info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(entry_info.st_mode):
                    if entry_info.st_dev != info.st_dev:
                        continue
                    fd = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                 dir_fd=dirfd)
                    try:
                        clear(fd)
                    finally:
                        os.close(fd)
                    os.rmdir(entry.name, dir_fd=dirfd)
                else:
                    os.unlink(entry.name, dir_fd=dirfd)
            except OSError:
                continue                  # systemd ignores what it cannot remove, so do we
    top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        clear(top)
    finally:
        os.close(top)
    os.rmdir(path)


def remove_runtime_directories(ctx, config, restarting=False) -> None:
    """Remove RuntimeDirectory= trees (and their symlinks) once the unit is dead, unless
    RuntimeDirectoryPreserve= keeps them: yes always, restart when `restarting` (True or
    "restart": a restart job or an automatic restart). Errors are ignored, as systemd does."""
    preserve = config.runtime_directory_preserve
    if preserve == "yes" or (preserve == "restart" and restarting in (True, "restart")):
        return
    root = _root(ctx)
    for path, links in directory_items(config, "runtime_directory"):
        for name in [path] + links:
            machine = "/run/" + name
            try:
                host = os.path.join(resolve(root, os.path.dirname(machine)), os.path.basename(machine))
                if not host.startswith(root.rstrip("/") + "/"):
                    continue
                if name != path and not os.path.islink(host):
                    continue                  # a symlink's name that is no symlink: not ours
                if _holds_our_state(ctx, host):
                    continue
                _remove_tree(host)
            except OSError:
                continue
