"""Reading what an init script says about itself, as systemd-sysv-generator did (v219-v259).

Parses the LSB block (`### BEGIN INIT INFO` ... `### END INIT INFO`), the chkconfig/Red Hat
comments (`# description:`, `# pidfile:`), the usage line that tells whether `reload` exists,
and the pidfile conventions scripts follow (`PIDFILE=/run/x.pid`, `--pidfile /run/x.pid`).
Malformed input never raises: a script we cannot make sense of is still a unit, just a poorer one.
"""

from shim.plain import Plain

MAX_SCRIPT_BYTES = 256 * 1024   # scripts are small; a huge file is not worth reading whole

_RELOAD_MARKERS = ("{reload|", "{reload}", '{reload"', "|reload|", "|reload}", '|reload"')
# The pidfile conventions, as regular expressions (the specification; tests/test_lsb.py and
# tests/test_cli_startup.py hold _assigned_pidfile() to the first). `re` (with enum) costs more
# than a third of Python's own start-up, and every verb reads the unit's script: the assignment is
# matched by hand, the option only compiled for a line that has `--pidfile` in it.
ASSIGNED_PIDFILE = (
    r"""^\s*(?:export\s+|readonly\s+|local\s+)?(?:PIDFILE|PIDFile|pidfile|PID_FILE|pid_file)=["']?(/[^\s"';`$]+)["']?\s*(?:[;#].*)?$""")
PIDFILE_OPTION = r"""--pidfile[= ]+["']?(/[^\s"';`$]+)"""
_PIDFILE_NAMES = ("PIDFILE=", "PIDFile=", "pidfile=", "PID_FILE=", "pid_file=")
_PIDFILE_STOP = frozenset("\"';`$")


def regex(pattern):
    """`pattern` compiled on first use: re is imported only by a script that needs it (start-up
    time), and re's own cache keeps the compiled pattern, so there is no state of ours."""
    import re
    return re.compile(pattern)


class ScriptInfo(Plain):
    has_lsb = False
    provides = None
    required_start = None
    should_start = None
    default_start = None
    default_stop = None
    short_description = ""
    description = ""
    chkconfig_description = ""
    start_after = None           # Required-Start, Should-Start, X-Start-After, in header order
    start_before = None          # X-Start-Before
    declared_pidfile = ""        # "# pidfile:" (becomes PIDFile=)
    pidfiles = None              # PIDFILE= assignments and --pidfile options
    can_reload = False
    shebang = ""
    _factories = {name: list for name in ("provides", "required_start", "should_start",
                                          "default_start", "default_stop", "pidfiles",
                                          "start_after", "start_before")}

    @property
    def best_description(self) -> str:
        """Short-Description, else chkconfig description, else Description; prefixed like systemd."""
        text = self.short_description or self.chkconfig_description or self.description
        if not text:
            return ""
        return ("LSB: " if self.has_lsb else "SYSV: ") + text


def read_text(path: str) -> str:
    with open(path, "rb") as handle:
        data = handle.read(MAX_SCRIPT_BYTES)
    return data.decode("utf-8", errors="replace")


def _words(value: str) -> list:
    return [w for w in value.replace(",", " ").split() if w]


def parse(text: str) -> ScriptInfo:
    info = ScriptInfo()
    lines = [line.rstrip() for line in text.splitlines()]
    if lines and lines[0].startswith("#!"):
        info.shebang = lines[0][2:].strip()
    in_lsb = False
    continuation = None          # which description is being continued, if any
    for line in lines:
        stripped = line.strip()
        if stripped == "### BEGIN INIT INFO":
            in_lsb, info.has_lsb, continuation = True, True, None
            continue
        if stripped == "### END INIT INFO":
            in_lsb, continuation = False, None
            continue
        if not line.startswith("#"):
            continuation = None
            if "usage" in line.lower() and any(m in line for m in _RELOAD_MARKERS):
                info.can_reload = True
            _collect_pidfile(line, info)
            continue
        if in_lsb:
            continuation = _parse_lsb_line(line, info, continuation)
        else:
            continuation = _parse_comment_line(line, info, continuation)
    info.pidfiles = _unique(info.pidfiles)
    return info


def _parse_lsb_line(line: str, info: ScriptInfo, continuation):
    body = line[1:]
    if continuation == "description" and (line.startswith("#\t") or line.startswith("#  ")):
        info.description = (info.description + " " + body.strip()).strip()
        return continuation
    key, sep, value = body.strip().partition(":")
    if not sep:
        return None
    key, value = key.strip().lower(), value.strip()
    if key in ("required-start", "should-start", "x-start-after"):
        info.start_after.extend(_words(value))
    elif key == "x-start-before":
        info.start_before.extend(_words(value))
    if key == "provides":
        info.provides = _words(value)
    elif key == "required-start":
        info.required_start = _words(value)
    elif key == "should-start":
        info.should_start = _words(value)
    elif key == "default-start":
        info.default_start = _words(value)
    elif key == "default-stop":
        info.default_stop = _words(value)
    elif key == "short-description":
        info.short_description = value
    elif key == "description":
        info.description = value
        return "description"
    return None


def _parse_comment_line(line: str, info: ScriptInfo, continuation):
    body = line[1:].strip()
    if continuation == "chkconfig":
        more = body[:-1].strip() if body.endswith("\\") else body
        info.chkconfig_description = (info.chkconfig_description + " " + more).strip()
        return "chkconfig" if body.endswith("\\") else None
    key, sep, value = body.partition(":")
    if not sep:
        return None
    key, value = key.strip().lower(), value.strip()
    if key == "description":
        info.chkconfig_description = value[:-1].strip() if value.endswith("\\") else value
        return "chkconfig" if value.endswith("\\") else None
    if key == "pidfile" and value.startswith("/"):
        info.declared_pidfile = value     # the last one wins, as in systemd
    return None


def _trailer_ok(rest: str) -> bool:
    """`["']?\\s*(?:[;#].*)?$` matches all of `rest`."""
    if rest[:1] in ("\"", "'"):
        rest = rest[1:]
    rest = rest.lstrip()
    if rest[:1] in (";", "#"):
        rest = rest[1:]
        newline = rest.find("\n")
        return newline < 0 or newline == len(rest) - 1       # `.` stops at \n; `$` before a last one
    return rest in ("", "\n")


def _assigned_pidfile(line: str):
    """ASSIGNED_PIDFILE.match(line).group(1), or None: the same answer, without `re`."""
    body = line.lstrip()
    for word in ("export", "readonly", "local"):
        if body.startswith(word) and body[len(word):len(word) + 1].isspace():
            body = body[len(word):].lstrip()
            break
    if not body.startswith(_PIDFILE_NAMES):
        return None
    body = body[body.index("=") + 1:]
    if body[:1] in ("\"", "'"):
        body = body[1:]
    if not body.startswith("/"):
        return None
    end = 1
    while end < len(body) and not (body[end] in _PIDFILE_STOP or body[end].isspace()):
        end += 1
    if end == 1:
        return None
    if _trailer_ok(body[end:]):
        return body[:end]
    # Backtracking: the path may end just before any `#` in it, the rest being a comment.
    cut = body.rfind("#", 2, end)
    while cut > 1:
        if _trailer_ok(body[cut:]):
            return body[:cut]
        cut = body.rfind("#", 2, cut)
    return None


def _collect_pidfile(line: str, info: ScriptInfo) -> None:
    found = _assigned_pidfile(line) if "=" in line else None
    if found:
        info.pidfiles.append(found)
    if "--pidfile" in line:
        for option in regex(PIDFILE_OPTION).finditer(line):
            info.pidfiles.append(option.group(1))


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
