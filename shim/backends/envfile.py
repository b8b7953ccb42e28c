"""EnvironmentFile= format (systemd 252's env-file.c state machine) and the `-` prefix."""

import string

NEWLINE = "\n\r"
WHITESPACE = " \t\n\r"
COMMENTS = "#;"
SHELL_NEED_ESCAPE = "\"\\`$"
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_")


def parse_raw(text: str) -> list:
    """All (key, value) pairs as the state machine yields them, valid names or not."""
    out = []
    key, value = [], []
    state = "PRE_KEY"
    lkw = lvw = -1                     # last key/value whitespace start

    def push():
        k = "".join(key[:lkw] if lkw >= 0 else key)
        v = "".join(value)
        out.append((k, v))

    for c in text:
        if state == "PRE_KEY":
            if c in COMMENTS:
                state = "COMMENT"
            elif c not in WHITESPACE:
                state = "KEY"
                key, value, lkw = [c], [], -1
        elif state == "KEY":
            if c in NEWLINE:
                state = "PRE_KEY"
            elif c == "=":
                state, lvw = "PRE_VALUE", -1
            else:
                if c in WHITESPACE:
                    if lkw < 0:
                        lkw = len(key)
                else:
                    lkw = -1
                key.append(c)
        elif state == "PRE_VALUE":
            if c in NEWLINE:
                state = "PRE_KEY"
                push()
            elif c == "'":
                state = "SQ"
            elif c == '"':
                state = "DQ"
            elif c == "\\":
                state = "VALUE_ESCAPE"
            elif c not in WHITESPACE:
                state = "VALUE"
                value.append(c)
        elif state == "VALUE":
            if c in NEWLINE:
                state = "PRE_KEY"
                if lvw >= 0:
                    del value[lvw:]
                push()
            elif c == "\\":
                state, lvw = "VALUE_ESCAPE", -1
            else:
                if c in WHITESPACE:
                    if lvw < 0:
                        lvw = len(value)
                else:
                    lvw = -1
                value.append(c)
        elif state == "VALUE_ESCAPE":
            state = "VALUE"
            if c not in NEWLINE:
                value.append(c)
        elif state == "SQ":
            if c == "'":
                state = "PRE_VALUE"
            else:
                value.append(c)
        elif state == "DQ":
            if c == '"':
                state = "PRE_VALUE"
            elif c == "\\":
                state = "DQ_ESCAPE"
            else:
                value.append(c)
        elif state == "DQ_ESCAPE":
            state = "DQ"
            if c in SHELL_NEED_ESCAPE:
                value.append(c)
            elif c == "\n":
                pass
            else:
                value.append("\\")
                value.append(c)
        elif state == "COMMENT":
            if c == "\\":
                state = "COMMENT_ESCAPE"
            elif c in NEWLINE:
                state = "PRE_KEY"
        elif state == "COMMENT_ESCAPE":
            state = "COMMENT"
    if state in ("PRE_VALUE", "VALUE", "VALUE_ESCAPE", "SQ", "DQ", "DQ_ESCAPE"):
        if state == "VALUE" and lvw >= 0:
            del value[lvw:]
        push()
    return out


def name_is_valid(name: str) -> bool:
    """env_name_is_valid(): [A-Za-z0-9_], not starting with a digit."""
    return bool(name) and not name[0].isdigit() and all(c in _NAME_CHARS for c in name)


def parse_checked(text: str, path: str = "", unit: str = ""):
    """(pairs, warnings): invalid assignments dropped with systemd's message."""
    pairs, warnings = [], []
    for key, value in parse_raw(text):
        if name_is_valid(key):
            pairs.append((key, value))
        else:
            warnings.append("%s: Ignoring invalid environment assignment '%s=%s': %s"
                            % (unit, key, value, path))
    return pairs, warnings


def parse(text: str) -> list:
    """The (key, value) pairs of an EnvironmentFile's text, invalid names dropped."""
    return parse_checked(text)[0]


def split_prefix(entry: str):
    """EnvironmentFile=-/etc/default/x -> ("/etc/default/x", True)."""
    if entry.startswith("-"):
        return entry[1:], True
    return entry, False


def load(entries, reader, unit: str = ""):
    """Read EnvironmentFile= entries ((path, ignore_errors) pairs) in order, as at spawn time.
    `reader(path) -> text` raises OSError. Returns (dict, warnings); raises OSError for a
    missing file without '-' ('Failed to load environment files: ...')."""
    env, warnings = {}, []
    for path, ignore in entries:
        try:
            text = reader(path)
        except OSError:
            if ignore:
                continue
            raise
        pairs, w = parse_checked(text, path, unit)
        warnings += w
        for key, value in pairs:
            env[key] = value
    return env, warnings
