"""The ini syntax of systemd unit files (systemd 252's conf-parser.c rules) and the value
grammars shared by the loader: words with quotes and C escapes, booleans, time spans,
specifiers.

Pure functions on text: no file is opened here except through callables passed in.
"""

import os

COMMENTS = "#;"
WHITESPACE = " \t\n\r"
LONG_LINE_MAX = 1024 * 1024
USEC = 1000000
INFINITY = 2 ** 64 - 1


class Assignment:
    __slots__ = ("section", "key", "value", "path", "line")

    def __init__(self, section, key, value, path, line):
        self.section, self.key, self.value, self.path, self.line = section, key, value, path, line

    def __repr__(self):
        return "Assignment(%r, %r, %r, %r, %r)" % (self.section, self.key, self.value, self.path,
                                                    self.line)


class ParseError(Exception):
    """A fatal syntax error: the file (and so the unit) fails to load."""


def parse(text: str, path: str = ""):
    """config_parse(): the assignments of one file in order, and the warnings systemd logs.
    A section header appears as an Assignment whose key is None.
    Sections are not checked here (the loader knows which ones exist). Raises ParseError for
    what makes the file fail (invalid section header, line too long)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    out, warnings = [], []
    section = None
    continuation = None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, 1):
        raw = raw.rstrip("\r") if raw.endswith("\r") else raw
        if continuation is not None:
            if raw.lstrip(WHITESPACE)[:1] in tuple(COMMENTS):
                continue                  # comment lines inside a continuation vanish
            buf = continuation + raw
        else:
            buf = raw
        if len(buf) > LONG_LINE_MAX:
            raise ParseError("%s:%d: Line too long" % (path, number))
        if _ends_escaped(buf):
            continuation = buf[:-1] + " "
            continue
        continuation = None
        section = _parse_line(buf, section, path, number, out, warnings)   # systemd counts the last line
    if continuation is not None:
        section = _parse_line(continuation, section, path, len(lines) + 1, out, warnings)
    return out, warnings


def _ends_escaped(buf: str) -> bool:
    n = len(buf) - len(buf.rstrip("\\"))
    return n % 2 == 1


def _parse_line(buf, section, path, line, out, warnings):
    text = buf.strip(WHITESPACE)
    if not text or text[0] in COMMENTS:
        return section
    if text[0] == "[":
        if not text.endswith("]"):
            raise ParseError("%s:%d: Invalid section header '%s'" % (path, line, text))
        out.append(Assignment(text[1:-1], None, None, path, line))   # a section header
        return text[1:-1]
    if section is None:
        warnings.append("%s:%d: Assignment outside of section. Ignoring." % (path, line))
        return section
    if "=" not in text:
        warnings.append("%s:%d: Missing '=', ignoring line." % (path, line))
        return section
    if text.startswith("="):
        warnings.append("%s:%d: Missing key name before '=', ignoring line." % (path, line))
        return section
    key, value = text.split("=", 1)
    out.append(Assignment(section, key.strip(WHITESPACE), value.strip(WHITESPACE), path, line))
    return section


# --- words -------------------------------------------------------------------------------------

class WordError(ValueError):
    pass


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", '"': '"', "'": "'", "s": " "}


def cunescape_one(text: str, i: int):
    """Decode the escape after a backslash at text[i]; returns (char, next index) or raises."""
    if i >= len(text):
        raise WordError("trailing backslash")
    c = text[i]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 1
    if c == "x":
        digits = text[i + 1:i + 3]
        if len(digits) == 2 and all(d in "0123456789abcdefABCDEF" for d in digits):
            value = int(digits, 16)
            if value == 0:
                raise WordError("\\x00")
            return chr(value), i + 3
        raise WordError("bad \\x escape")
    if c in "uU":
        n = 4 if c == "u" else 8
        digits = text[i + 1:i + 1 + n]
        if len(digits) == n and all(d in "0123456789abcdefABCDEF" for d in digits):
            value = int(digits, 16)
            if value == 0 or value > 0x10FFFF:
                raise WordError("bad unicode escape")
            return chr(value), i + 1 + n
        raise WordError("bad unicode escape")
    if c in "01234567":
        digits = text[i:i + 3]
        if len(digits) == 3 and all(d in "01234567" for d in digits):
            value = int(digits, 8)
            if value == 0 or value > 255:
                raise WordError("bad octal escape")
            return chr(value), i + 3
        raise WordError("bad octal escape")
    raise WordError("unknown escape \\%s" % c)


def extract_word(text: str, pos: int = 0, *, cunescape=True, unquote=True, relax=False,
                 separators=WHITESPACE):
    """extract_first_word(): (word, new position), word None at the end of the text."""
    n = len(text)
    while pos < n and text[pos] in separators:
        pos += 1
    if pos >= n:
        return None, pos
    out = []
    quote = None
    while pos < n:
        c = text[pos]
        if c == "\\":
            if pos + 1 >= n:
                if relax:
                    out.append("\\")
                    pos += 1
                    break
                raise WordError("trailing backslash")
            if cunescape:
                try:
                    ch, pos = cunescape_one(text, pos + 1)
                    out.append(ch)
                except WordError:
                    if not relax:
                        raise
                    out.append("\\" + text[pos + 1])
                    pos += 2
            else:
                out.append(text[pos + 1])
                pos += 2
            continue
        if quote:
            if c == quote:
                quote = None
            else:
                out.append(c)
            pos += 1
            continue
        if unquote and c in "'\"":
            quote = c
            pos += 1
            continue
        if c in separators:
            break
        out.append(c)
        pos += 1
    if quote:
        if not relax:
            raise WordError("unbalanced quotes")
    return "".join(out), pos


def split_words(text: str, **flags) -> list:
    words, pos = [], 0
    while True:
        word, pos = extract_word(text, pos, **flags)
        if word is None:
            return words
        words.append(word)


# --- scalar values -----------------------------------------------------------------------------

_TRUE = ("1", "yes", "y", "true", "t", "on")
_FALSE = ("0", "no", "n", "false", "f", "off")


def parse_boolean(value: str) -> bool:
    v = value.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(value)


_UNITS = (("usec", 1), ("us", 1), ("\u00b5s", 1), ("μs", 1),
          ("msec", 1000), ("ms", 1000),
          ("seconds", USEC), ("second", USEC), ("sec", USEC), ("s", USEC),
          ("minutes", 60 * USEC), ("minute", 60 * USEC), ("min", 60 * USEC),
          ("months", 2629800 * USEC), ("month", 2629800 * USEC), ("M", 2629800 * USEC),
          ("m", 60 * USEC),
          ("hours", 3600 * USEC), ("hour", 3600 * USEC), ("hr", 3600 * USEC), ("h", 3600 * USEC),
          ("days", 86400 * USEC), ("day", 86400 * USEC), ("d", 86400 * USEC),
          ("weeks", 604800 * USEC), ("week", 604800 * USEC), ("w", 604800 * USEC),
          ("years", 31557600 * USEC), ("year", 31557600 * USEC), ("y", 31557600 * USEC))


def parse_timespan(value: str, default_unit: int = USEC) -> int:
    """parse_sec(): microseconds; 'infinity' -> INFINITY. Raises ValueError."""
    text = value.strip(WHITESPACE)
    if text == "infinity":
        return INFINITY
    if not text:
        raise ValueError(value)
    total, pos, n, something = 0, 0, len(text), False
    while True:
        while pos < n and text[pos] in WHITESPACE:
            pos += 1
        if pos >= n:
            break
        start = pos
        while pos < n and (text[pos].isdigit() or text[pos] == "."):
            pos += 1
        number = text[start:pos]
        if not number or number.count(".") > 1 or number == "." or number.startswith("-"):
            raise ValueError(value)
        while pos < n and text[pos] in WHITESPACE:
            pos += 1
        for unit, mult in _UNITS:  # noqa: B007 - mult is read after the loop
            if text.startswith(unit, pos) and not (pos + len(unit) < n and text[pos + len(unit)].isalpha()):
                pos += len(unit)
                break
        else:
            if pos < n and not text[pos].isdigit():
                raise ValueError(value)
            mult = default_unit
        whole, _, frac = number.partition(".")
        amount = int(whole or "0") * mult
        if frac:
            amount += int(frac) * mult // (10 ** len(frac))
        total += amount
        something = True
    if not something:
        raise ValueError(value)
    return total


# --- specifiers --------------------------------------------------------------------------------

class SpecifierError(ValueError):
    """An unknown specifier ('Invalid slot') or one that cannot be resolved ('Invalid argument')."""


def unit_name_unescape(text: str) -> str:
    """unit_name_unescape(): '-' -> '/', '\\xNN' -> the byte."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "-":
            out.append("/")
        elif c == "\\":
            if text[i + 1:i + 2] != "x" or len(text) < i + 4:
                raise SpecifierError("Invalid argument") from None
            try:
                out.append(chr(int(text[i + 2:i + 4], 16)))
            except ValueError:
                raise SpecifierError("Invalid argument") from None
            i += 3
        else:
            out.append(c)
        i += 1
    return "".join(out)


def unit_name_path_unescape(text: str) -> str:
    if not text:
        raise SpecifierError("Invalid argument")
    if text == "-":
        return "/"
    w = unit_name_unescape(text)
    if w.startswith("/") or w.endswith("/"):
        raise SpecifierError("Invalid argument")
    s = "/" + w
    parts = s.split("/")[1:]
    if any(p in ("", ".", "..") for p in parts):
        raise SpecifierError("Invalid argument")
    return s


def _read_first_line(opener, path):
    try:
        return opener(path).splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


def _os_release(opener):
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = opener(path)
        except OSError:
            continue
        values = {}
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                values[k.strip()] = v.strip().strip("\"'")
        return values
    return {}


_ARCH = {"x86_64": "x86-64", "i686": "x86", "i386": "x86", "aarch64": "arm64", "armv7l": "arm",
         "ppc64le": "ppc64-le", "s390x": "s390x", "riscv64": "riscv64"}


class Specifiers:
    """The values of systemd 252's unit specifiers for one unit. `opener(path) -> text` reads a
    file of the target root (machine-id, os-release, passwd); values are computed lazily."""

    def __init__(self, unit_id: str, fragment_path: str = "", user: str = "", opener=None):
        self.id = unit_id
        self.fragment_path = fragment_path
        self.user = user
        self.opener = opener or (lambda p: open(p, encoding="utf-8", errors="replace").read())
        name, _, self.suffix = unit_id.rpartition(".")
        self.name = name
        self.prefix, at, self.instance = name.partition("@")
        self.has_instance = bool(at) and bool(self.instance)
        self._cache = {}
        self._asked = set()

    def _passwd(self):
        user = self.user or "root"
        if user in ("root", "0"):
            return "/root", "/bin/bash"
        try:
            text = self.opener("/etc/passwd")
        except OSError:
            text = ""
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 7 and (fields[0] == user or fields[2] == user):
                return fields[5], fields[6]
        if user in ("nobody", "65534"):
            return "/", "/usr/sbin/nologin"
        raise SpecifierError("No such process")

    # Specifiers whose value comes from the machine rather than from the unit's files: a unit
    # that uses one is not parse-cached (shim/backends/unitcache.py).
    HOST_VALUES = frozenset("hsHlqmbvaowWBAM")

    def uses_host_values(self) -> bool:
        return not self.HOST_VALUES.isdisjoint(self._asked)

    def value(self, c: str) -> str:
        if c in self._cache:
            return self._cache[c]
        self._asked.add(c)              # also when it fails: the failure is the machine's too
        v = self._compute(c)
        self._cache[c] = v
        return v

    def _compute(self, c):
        last = self.prefix.rsplit("-", 1)[-1] if "-" in self.prefix else self.prefix
        simple = {"n": lambda: self.id, "N": lambda: self.name, "p": lambda: self.prefix,
                  "P": lambda: unit_name_unescape(self.prefix),
                  "i": lambda: self.instance if self.has_instance else "",
                  "I": lambda: unit_name_unescape(self.instance) if self.has_instance else "",
                  "j": lambda: last, "J": lambda: unit_name_unescape(last),
                  "f": lambda: unit_name_path_unescape(self.instance if self.has_instance
                                                       else self.prefix),
                  "t": lambda: "/run", "S": lambda: "/var/lib", "C": lambda: "/var/cache",
                  "L": lambda: "/var/log", "E": lambda: "/etc", "T": lambda: "/tmp",
                  "V": lambda: "/var/tmp",
                  "h": lambda: self._passwd()[0], "s": lambda: self._passwd()[1],
                  "u": lambda: "root", "U": lambda: "0", "g": lambda: "root", "G": lambda: "0",
                  # gethostname(2) is uname's nodename; `socket` costs 2 ms to import
                  "H": lambda: os.uname().nodename,
                  "l": lambda: os.uname().nodename.split(".")[0],
                  "q": lambda: os.uname().nodename,
                  "m": lambda: _read_first_line(self.opener, "/etc/machine-id"),
                  "b": lambda: _read_first_line(self.opener, "/proc/sys/kernel/random/boot_id").replace("-", ""),
                  "v": lambda: os.uname().release,
                  "a": lambda: _ARCH.get(os.uname().machine, os.uname().machine),
                  "o": lambda: _os_release(self.opener).get("ID", ""),
                  "w": lambda: _os_release(self.opener).get("VERSION_ID", ""),
                  "W": lambda: _os_release(self.opener).get("VARIANT_ID", ""),
                  "B": lambda: _os_release(self.opener).get("BUILD_ID", ""),
                  "A": lambda: _os_release(self.opener).get("IMAGE_VERSION", ""),
                  "M": lambda: _os_release(self.opener).get("IMAGE_ID", ""),
                  "d": lambda: "/run/credentials/" + self.id,
                  "y": lambda: self.fragment_path,
                  "Y": lambda: os.path.dirname(self.fragment_path),
                  "c": lambda: "/system.slice/" + self.id, "r": lambda: "/system.slice",
                  "R": lambda: "/"}
        if c not in simple:
            raise SpecifierError("Invalid slot")
        return simple[c]()

    def expand(self, text: str) -> str:
        """specifier_printf(): raises SpecifierError."""
        if "%" not in text:
            return text
        out, i, n = [], 0, len(text)
        while i < n:
            c = text[i]
            if c == "%":
                if i + 1 >= n:
                    out.append("%")     # a trailing % is kept as-is
                    break
                s = text[i + 1]
                out.append("%" if s == "%" else self.value(s))
                i += 2
            else:
                out.append(c)
                i += 1
        return "".join(out)
