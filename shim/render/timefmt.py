"""systemd's timestamp formats (format_timestamp, format_timestamp_relative)."""

import time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def timestamp(epoch: float) -> str:
    """'Thu 2024-01-04 13:54:04 UTC': English weekday whatever the locale; '' for no time."""
    if not epoch:
        return ""
    local = time.localtime(epoch)
    return "%s %s" % (_DAYS[local.tm_wday], time.strftime("%Y-%m-%d %H:%M:%S %Z", local))


def relative(epoch: float, now: float = None) -> str:
    """format_timestamp_relative(): '5min ago', '1h 2min ago', '3 days ago'."""
    now = time.time() if now is None else now
    delta = now - epoch
    suffix = "ago" if delta >= 0 else "left"
    d = abs(delta)
    minute, hour, day = 60, 3600, 86400
    week, month, year = 7 * day, 2629800, 31557600
    if d >= year:
        text = "%dY %dM" % (d // year, (d % year) // month)
    elif d >= month:
        text = "%dM %dd" % (d // month, (d % month) // day)
    elif d >= week:
        text = "%dw %dd" % (d // week, (d % week) // day)
    elif d >= 2 * day:
        text = "%d days" % (d // day)
    elif d >= 25 * hour:
        text = "1 day %dh" % ((d - day) // hour)
    elif d >= 6 * hour:
        text = "%dh" % (d // hour)
    elif d >= hour:
        text = "%dh %dmin" % (d // hour, (d % hour) // minute)
    elif d >= 5 * minute:
        text = "%dmin" % (d // minute)
    elif d >= minute:
        text = "%dmin %ds" % (d // minute, d % minute)
    elif d >= 1:
        text = "%ds" % d
    elif d >= 0.001:
        text = "%dms" % (d * 1000)
    elif d > 0:
        text = "%dus" % (d * 1000000)
    else:
        return "now"
    return "%s %s" % (text, suffix)


def timespan(usec: int) -> str:
    """format_timespan() at second accuracy, as show and unit files print durations: '5min',
    '1min 30s', 'infinity', '0'."""
    if usec >= 2 ** 64 - 1:
        return "infinity"
    seconds = usec // 1000000
    if seconds == 0:
        return "%dms" % (usec // 1000) if usec >= 1000 else ("%dus" % usec if usec else "0")
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return " ".join(parts)
