import signal

import pytest

from shim.proc.signals import help_text, list_text, parse_kill_value, parse_signal, signal_name


@pytest.mark.parametrize("text,number", [
    ("15", 15), ("+15", 15), ("0x9", 9), ("010", 8), ("0o17", 15), ("0b11", 3), (" 9", 9),
    ("TERM", 15), ("SIGTERM", 15), ("KILL", 9), ("SIGKILL", 9), ("HUP", 1), ("STKFLT", 16), ("SYS", 31),
    ("RTMIN", signal.SIGRTMIN), ("RTMIN+3", signal.SIGRTMIN + 3), ("SIGRTMIN+30", 64),
    ("RTMAX", signal.SIGRTMAX), ("RTMAX-1", signal.SIGRTMAX - 1), ("RTMAX-30", 34), ("RTMIN+0", 34),
    ("64", 64), ("1", 1),
])
def test_accepted(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", [
    "term", "sigterm", "Sigterm", "IOT", "POLL", "CLD", "UNUSED", "0", "65", "-1", "9 ", "", "SIG",
    "SIGSIGTERM", "RTMIN+31", "RTMAX-31", "RTMIN-1", "RTMAX+1", "RTMINx", "RTMIN+ 3", "0x", "1e3", "1_0",
    "99999999999999999999",
])
def test_rejected(text):
    with pytest.raises(ValueError):
        parse_signal(text)


def test_names():
    assert signal_name(15) == "TERM"
    assert signal_name(34) == "RTMIN+0" and signal_name(64) == "RTMIN+30"
    assert signal_name(32) == "32" and signal_name(0) == "0"


def test_help_text():
    lines = help_text().splitlines()
    assert len(lines) == 65
    assert lines[:4] == ["0", "HUP", "INT", "QUIT"]
    assert lines[31:36] == ["SYS", "32", "33", "RTMIN+0", "RTMIN+1"]
    assert lines[-1] == "RTMIN+30"


def test_list_text():
    lines = list_text().splitlines()
    assert lines[0] == "SIGNAL NAME"
    assert lines[1] == "1      SIGHUP"
    assert lines[15] == "15     SIGTERM"
    assert lines[-1] == "64     SIGRTMIN+30"
    assert len(lines) == 65 and not any(line.endswith(" ") for line in lines)


@pytest.mark.parametrize("text,value", [
    ("5", 5), ("-5", -5), ("0x10", 16), ("0b101", 5), ("0o10", 8), ("010", 8), ("2147483647", 2147483647),
    ("-2147483648", -2147483648), ("-0", 0),
])
def test_kill_value(text, value):
    assert parse_kill_value(text) == value


@pytest.mark.parametrize("text", ["", "x", "2147483648", "4294967295", "-2147483649", "5 ", "1.5"])
def test_kill_value_rejected(text):
    with pytest.raises(ValueError):
        parse_kill_value(text)
