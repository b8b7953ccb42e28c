"""systemd.preset(5): which units `preset` enables, and the `preset:` word of status and show.

Files `*.preset` in the preset directories; a file name in an earlier directory hides the same
name in a later one; the files are read in name order and the first line whose pattern matches
the unit decides (`enable PATTERN`, `disable PATTERN`); no match enables. Debian 12 ships only
systemd's own 90-systemd.preset, so there everything else is `enabled`; RHEL's end with
`disable *`. Paths are read through the Context (the root of the tree we look at).
"""

import fnmatch
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
        if fnmatch.fnmatchcase(unit_id, pattern):
            return action + "d"
    return "enabled"
