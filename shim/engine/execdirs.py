"""RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory=, ConfigurationDirectory=
as systemd 252 sets them up (setup_exec_directory() and exec_context_destroy_runtime_directory()
in src/core/execute.c; man systemd.exec § PATHS), below the Context's root. Reached through
`shim.engine.execenv`.
"""

import errno
import os
import stat

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
