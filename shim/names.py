"""Unit-name mangling and glob patterns, as systemctl does them (src/basic/unit-name.c).

`mangle("cron")` -> "cron.service"; `mangle("../../bin/sh")` -> "..-..-bin-sh.service" (a name
that cannot escape /etc/init.d); globs are kept unchanged where the verb allows them.
"""

UNIT_TYPES = ("service", "socket", "target", "device", "mount", "automount", "swap", "timer",
              "path", "slice", "scope")
# Sort order of `list-units` / `list-unit-files`: by type suffix, then by name.
# string.ascii_letters + string.digits, spelled out: `string` costs an import on every call.
_VALID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" ":-_.\\@")
_GLOB_CHARS = frozenset("*?[")
_VALID_GLOB_CHARS = _VALID_CHARS | frozenset("[]!-*?")
UNIT_NAME_MAX = 256


def unit_type(name: str) -> str:
    """'service' for 'cron.service'; '' when the name has no known type suffix."""
    _, dot, suffix = name.rpartition(".")
    return suffix if dot and suffix in UNIT_TYPES else ""


def is_glob(name: str) -> bool:
    return any(c in _GLOB_CHARS for c in name)


def is_valid(name: str) -> bool:
    """A complete, valid unit name: known suffix, length, character set."""
    if not name or len(name) >= UNIT_NAME_MAX or not unit_type(name):
        return False
    prefix = name.rsplit(".", 1)[0]
    return bool(prefix) and all(c in _VALID_CHARS for c in name)


def _escape(text: str) -> str:
    """systemd's escaping of characters that may not appear in a unit name: \\xNN per byte."""
    out = []
    for char in text:
        if char in _VALID_CHARS and char != "\\":
            out.append(char)
        else:
            out.extend("\\x%02x" % b for b in char.encode("utf-8"))
    return "".join(out)


def _from_path(path: str) -> str:
    """unit_name_from_path(): '/var/lib/x' -> 'var-lib-x'; '/' -> '-'."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "-"
    return "-".join(_escape(p) for p in parts)


def mangle(name: str, *, allow_globs: bool = True, suffix: str = ".service") -> str:
    """unit_name_mangle_with_suffix(): turn what the user typed into a unit name.

    Raises ValueError for an empty name.
    """
    if not name:
        raise ValueError("empty unit name")
    if is_valid(name):
        return name
    if allow_globs and is_glob(name) and all(c in _VALID_GLOB_CHARS for c in name):
        return name
    if name.startswith("/"):
        return _from_path(name) + (".device" if name.startswith("/dev/") else ".mount")
    mangled = _escape(name.replace("/", "-"))
    if not unit_type(mangled):
        mangled += suffix
    return mangled


def matches(pattern: str, name: str) -> bool:
    """fnmatch as systemd uses it on unit names (case-sensitive, no special slashes).

    fnmatch is imported here, not at the top: it pulls in re and enum, which the verbs that
    never glob (is-active cron) should not pay for at start-up."""
    import fnmatch
    return fnmatch.fnmatchcase(name, pattern)


def sort_key(name: str):
    """unit_info_compare(): by type suffix, then name, both case-insensitive."""
    base, _, suffix = name.rpartition(".")
    return (suffix.lower(), base.lower(), name)
