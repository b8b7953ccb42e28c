"""systemd's signal grammar (systemd 252, `src/basic/signal-util.c`, `src/shared/parse-argument.c`).

Everything here reproduces C behaviour exactly, so the parsing of numbers is done by hand:
Python's ``int(text, 0)`` rejects ``010`` (C's strtol reads it as octal 8) and accepts ``1_0``.
"""
import signal

_NSIG = signal.NSIG          # 65 with glibc
_RTMIN = signal.SIGRTMIN     # 34 with glibc (32 and 33 are taken by NPTL)
_RTMAX = signal.SIGRTMAX     # 64

# signal_table[] in signal-util.c: only these names, case-sensitive; no IOT, POLL, CLD, UNUSED.
_NAMES = {
    1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE", 9: "KILL",
    10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM", 16: "STKFLT",
    17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU",
    25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS",
}
_NUMBERS = {name: number for number, name in _NAMES.items()}

_WHITESPACE = " \t\n\r"          # systemd's WHITESPACE
_C_SPACE = " \t\n\r\v\f"         # isspace() in the C locale, skipped again by strtol
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_ULONG_MAX = 2**64 - 1


def _strtol(text: str, base: int, unsigned: bool) -> int:
    """strtol/strtoul(text, &end, base) that insists on consuming all of text (raises ValueError)."""
    i = 0
    while i < len(text) and text[i] in _C_SPACE:
        i += 1
    negative = False
    if i < len(text) and text[i] in "+-":
        negative = text[i] == "-"
        i += 1
    rest = text[i:]
    if base in (0, 16) and rest[:2] in ("0x", "0X") and len(rest) > 2 and rest[2] in "0123456789abcdefABCDEF":
        base, i = 16, i + 2
    elif base == 0:
        base = 8 if rest[:1] == "0" else 10
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    start = i
    while i < len(text) and text[i].lower() in digits:
        i += 1
    if i == start or i != len(text):
        raise ValueError(f"not a number: {text!r}")
    value = int(text[start:i], base)
    if unsigned:
        if value > _ULONG_MAX:
            raise ValueError("out of range")
        # strtoul negates in unsigned arithmetic; safe_atou then refuses a leading '-' (ERANGE)
        if negative and value != 0:
            raise ValueError("negative")
        return value
    value = -value if negative else value
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise ValueError("out of range")
    return value


def _mangle_base(text: str):
    """systemd's mangle_base(): Python-style 0b / 0o prefixes (0x is left to strtol)."""
    if text[:2] in ("0b", "0B"):
        return text[2:], 2
    if text[:2] in ("0o", "0O"):
        return text[2:], 8
    return text, 0


def _safe_atoi(text: str) -> int:
    """systemd's safe_atoi(): leading whitespace, 0b/0o/0x prefixes, leading 0 = octal, int range."""
    text = text.lstrip(_WHITESPACE)
    text, base = _mangle_base(text)
    value = _strtol(text, base, unsigned=False)
    if not _INT_MIN <= value <= _INT_MAX:
        raise ValueError("out of range")
    return value


def _safe_atou(text: str) -> int:
    """systemd's safe_atou_full(text, 0): like safe_atoi, unsigned, a '-' sign is an error."""
    text = text.lstrip(_WHITESPACE)
    text, base = _mangle_base(text)
    value = _strtol(text, base, unsigned=True)
    if value > 2**32 - 1:
        raise ValueError("out of range")
    return value


def parse_signal(text: str) -> int:
    """signal_from_string(): a number 1.._NSIG-1, a name (optionally SIG-prefixed), RTMIN+n, RTMAX-n.

    Raises ValueError for anything else; the caller prints 'Failed to parse signal string "%s".'.
    """
    try:
        number = _safe_atoi(text)
    except ValueError:
        pass
    else:
        if 1 <= number < _NSIG:
            return number
        raise ValueError(f"signal number out of range: {text!r}")
    name = text[3:] if text.startswith("SIG") else text
    if name in _NUMBERS:
        return _NUMBERS[name]
    for prefix, base, sign in (("RTMIN", _RTMIN, "+"), ("RTMAX", _RTMAX, "-")):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        if rest == "":
            return base
        if rest[0] != sign:
            raise ValueError(f"invalid signal: {text!r}")
        offset = _safe_atoi(rest)      # the sign is parsed as part of the number, as in systemd
        if not 0 <= abs(offset) <= _RTMAX - _RTMIN or (offset > 0 and sign == "-") or (offset < 0 and sign == "+"):
            raise ValueError(f"signal out of range: {text!r}")
        return base + offset
    raise ValueError(f"invalid signal: {text!r}")


def signal_name(signo: int) -> str:
    """signal_to_string(): the table name, RTMIN+n for realtime signals, else the number."""
    if signo in _NAMES:
        return _NAMES[signo]
    if _RTMIN <= signo <= _RTMAX:
        return f"RTMIN+{signo - _RTMIN}"
    return str(signo)


def help_text() -> str:
    """`systemctl -s help`: DUMP_STRING_TABLE(signal, int, _NSIG), one name per line from 0."""
    return "".join(signal_name(number) + "\n" for number in range(_NSIG))


def list_text() -> str:
    """`systemctl -s list`: format-table with columns SIGNAL and NAME, left-aligned, one space apart,
    no trailing blanks in the last column."""
    rows = [("SIGNAL", "NAME")] + [(str(n), "SIG" + signal_name(n)) for n in range(1, _NSIG)]
    width = max(len(row[0]) for row in rows)
    return "".join(f"{number.ljust(width)} {name}\n" for number, name in rows)


def parse_kill_value(text: str) -> int:
    """--kill-value= (systemd 254+): unsigned with 0x/0o/0b first (must fit INT_MAX), else signed int.

    An empty value means "unset" in systemctl; that is the caller's business: here it raises ValueError
    like any other unparsable text ('Unable to parse signal queue value: %s').
    """
    try:
        value = _safe_atou(text)
    except ValueError:
        return _safe_atoi(text)
    if value > _INT_MAX:
        raise ValueError(f"value out of range: {text!r}")
    return value
