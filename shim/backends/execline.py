"""systemd's command lines for Exec*= (systemd.service(5) "COMMAND LINES", 252's
config_parse_exec() and replace_env_argv()).

`parse(value, resolve)` gives `ExecCommand`s whose argv keeps `$VAR`/`${VAR}` unexpanded
(specifiers are resolved word by word through `resolve`, after unquoting, as systemd does);
`expand(argv, env)` does the run-time expansion;
`find_executable(name, exists)` the compiled-in search path for bare names.
"""

from shim.backends.unitparse import WHITESPACE, WordError, extract_word
from shim.core.config import ExecCommand

# Debian's compiled-in default (DEFAULT_PATH without split-usr /usr/sbin duplicates)
SEARCH_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class ExecError(ValueError):
    """A command line systemd refuses. `message` is systemd's text; `fatal` is False when the
    line had the '-' prefix (then systemd only warns and drops the line)."""

    def __init__(self, message, fatal=True):
        ValueError.__init__(self, message)
        self.message = message
        self.fatal = fatal


_SAFE_BAD = set(chr(c) for c in range(32)) | {"\x7f"}   # string_is_safe()


def _filename_is_valid(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and len(name) <= 255


def _path_is_valid(path: str) -> bool:
    return len(path) < 4096 and all(len(part) <= 255 for part in path.split("/"))


def _path_simplify(path: str) -> str:
    """path_simplify(): drop '.' components and duplicate/trailing slashes ('..' is kept)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return ("/" if path.startswith("/") else "") + "/".join(parts) or "/"


def _skip_ws(text, pos):
    while pos < len(text) and text[pos] in WHITESPACE:
        pos += 1
    return pos


def _no_resolve(word, is_path):
    return word


def parse(value: str, resolve=None) -> list:
    """One Exec*= value -> list of ExecCommand (several when `;` separates commands). An empty
    value gives [] (the caller resets the list). `resolve(word, is_path) -> str` expands
    specifiers in each word after unquoting, as systemd does (it raises on an unknown or
    unresolvable specifier; its message becomes part of the ExecError). Raises ExecError; an
    ExecError with fatal=False means systemd only warns and drops the line ('-' prefix).
    A syntax error in the first word is not even an error for systemd: the rest of the value is
    silently dropped (returns the commands parsed so far)."""
    resolve = resolve or _no_resolve
    commands = []
    pos = 0
    text = value
    while True:
        pos = _skip_ws(text, pos)
        rest = text[pos:]
        try:
            first, pos = extract_word(text, pos)
        except WordError:
            return commands
        if first is None:
            return commands
        pos = _skip_ws(text, pos)
        if first == ";":
            continue
        f = 0
        ignore = argv0_sep = no_env = priv = no_setuid = ambient = False
        while f < len(first):
            c = first[f]
            if c == "-" and not ignore:
                ignore = True
            elif c == "@" and not argv0_sep:
                argv0_sep = True
            elif c == ":" and not no_env:
                no_env = True
            elif c == "+" and not (priv or no_setuid or ambient):
                priv = True
            elif c == "!" and not (priv or no_setuid or ambient):
                no_setuid = True
            elif c == "!" and not (priv or ambient):
                no_setuid, ambient = False, True
            else:
                break
            f += 1
        suffix = ", ignoring" if ignore else ""
        try:
            path = resolve(first[f:], True)
        except ValueError as e:
            raise ExecError("Failed to resolve unit specifiers in '%s'%s: %s"
                            % (first[f:], suffix, e), not ignore) from None
        if not path:
            raise ExecError("Empty path in command line%s: '%s'" % (suffix, rest), not ignore)
        if any(c in _SAFE_BAD for c in path):
            raise ExecError("Executable name contains special characters%s: %s" % (suffix, path),
                            not ignore)
        if path.endswith("/"):
            raise ExecError("Executable path specifies a directory%s: %s" % (suffix, path),
                            not ignore)
        if not (_path_is_valid(path) if path.startswith("/") else _filename_is_valid(path)):
            raise ExecError("Neither a valid executable name nor an absolute path%s: %s"
                            % (suffix, path), not ignore)
        argv = [] if argv0_sep else [path]
        path = _path_simplify(path) if path.startswith("/") else path
        semicolon = False
        while pos < len(text):
            if text.startswith(";", pos) and (pos + 1 >= len(text) or text[pos + 1] in WHITESPACE):
                pos = _skip_ws(text, pos + 1)
                semicolon = True
                break
            if text.startswith("\\;", pos) and (pos + 2 >= len(text) or text[pos + 2] in WHITESPACE):
                argv.append(";")
                pos = _skip_ws(text, pos + 2)
                continue
            try:
                word, pos = extract_word(text, pos)
            except WordError:
                raise ExecError("Invalid syntax, ignoring: %s" % rest, not ignore) from None
            if word is None:
                break
            pos = _skip_ws(text, pos)          # extract_first_word() eats trailing separators
            try:
                argv.append(resolve(word, False))
            except ValueError as e:
                raise ExecError("Failed to resolve unit specifiers in %s%s: %s"
                                % (word, suffix, e), not ignore) from None
        if not argv or not argv[0]:
            raise ExecError("Empty executable name or zeroeth argument%s: %s" % (suffix, rest),
                            not ignore)
        commands.append(ExecCommand(path=path, argv=tuple(argv), ignore_errors=ignore,
                                    no_env_expand=no_env, full_privileges=priv,
                                    no_setuid=no_setuid, ambient=ambient))
        if not semicolon:
            return commands


def _split_value(value: str) -> list:
    """strv_split_full(EXTRACT_RELAX|EXTRACT_UNQUOTE): quotes honoured, no C unescaping."""
    words, pos = [], 0
    while True:
        word, pos = extract_word(value, pos, cunescape=False, relax=True)
        if word is None:
            return words
        words.append(word)


def replace_env(word: str, env: dict) -> str:
    """replace_env() without extensions: ${NAME} -> value ('' when unset), $$ -> $."""
    out, i, n = [], 0, len(word)
    while i < n:
        c = word[i]
        if c == "$" and i + 1 < n:
            nxt = word[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "{":
                end = word.find("}", i + 2)
                if end < 0:
                    out.append(word[i:])
                    break
                out.append(env.get(word[i + 2:end], ""))
                i = end + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


def expand(argv, env: dict) -> list:
    """replace_env_argv(): a whole word `$NAME` becomes the value split into words (quotes in
    the value honoured), nothing when unset or empty; `${NAME}` anywhere is replaced verbatim."""
    out = []
    for word in argv:
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            value = env.get(word[1:])
            if value is not None:
                out.extend(_split_value(value))
            continue
        out.append(replace_env(word, env))
    return out


def expand_command(command: ExecCommand, env: dict) -> list:
    """The argv to exec for one command, honouring the ':' prefix."""
    return list(command.argv) if command.no_env_expand else expand(command.argv, env)


def find_executable(name: str, exists=None, search_path=SEARCH_PATH):
    """The path exec uses: absolute as-is; a bare name in the compiled-in search path (never the
    unit's PATH=). `exists(path) -> bool` checks an executable file (default os.access X_OK).
    None when not found."""
    import os
    if exists is None:
        def exists(p):
            return os.path.isfile(p) and os.access(p, os.X_OK)
    if name.startswith("/"):
        return name if exists(name) else None
    for directory in search_path:
        candidate = directory + "/" + name
        if exists(candidate):
            return candidate
    return None
