"""systemd.preset(5): which units `preset` enables, and the `preset:` word of status and show.

Files `*.preset` in the preset directories; a file name in an earlier directory hides the same
name in a later one; the files are read in name order and the first line whose pattern matches
the unit decides (`enable PATTERN`, `disable PATTERN`); no match enables. Debian 12 ships only
systemd's own 90-systemd.preset, so there everything else is `enabled`; RHEL's end with
`disable *`. Paths are read through the Context (the root of the tree we look at).
"""

import os

PRESET_DIRS = ("/etc/systemd/system-preset", "/run/systemd/system-preset",
               "/usr/local/lib/systemd/system-preset", "/usr/lib/systemd/system-preset",
               "/lib/systemd/system-preset")


def rules(ctx) -> list:
    """[(action, pattern)] in the order systemd applies them."""
    files = {}
    for directory in PRESET_DIRS:
        try:
            names = os.listdir(ctx.path(directory))
        except OSError:
            continue
        for name in names:
            if name.endswith(".preset") and name not in files:
                files[name] = os.path.join(ctx.path(directory), name)
    found = []
    for name in sorted(files):
        try:
            with open(files[name], encoding="utf-8", errors="replace") as handle:
                text = handle.read(1 << 20)
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("enable", "disable") and not line.startswith(("#", ";")):
                found.append((words[0], words[1]))
    return found


def preset_of(ctx, unit_id: str, cache=None) -> str:
    """"enabled" or "disabled" for a unit name; `cache` a list to keep the rules in."""
    if cache is None:
        cache = []
    if not cache:
        cache.append(rules(ctx))
    for action, pattern in cache[0]:
        if _matches(unit_id, pattern):
            return action + "d"
    return "enabled"


def _matches(name: str, pattern: str) -> bool:
    """fnmatch's * and ? without importing it (fnmatch brings re: a tenth of status's start-up);
    [...] classes, rare in presets, go to fnmatch."""
    if "[" in pattern:
        import fnmatch
        return fnmatch.fnmatchcase(name, pattern)
    if "*" not in pattern:
        return len(name) == len(pattern) and all(p in ("?", c) for c, p in zip(name, pattern))
    head, _, rest = pattern.partition("*")
    if not _matches(name[:len(head)], head) or len(name) < len(head):
        return False
    name = name[len(head):]
    if not rest:
        return True
    return any(_matches(name[i:], rest) for i in range(len(name) + 1))
