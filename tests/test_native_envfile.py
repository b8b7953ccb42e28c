"""EnvironmentFile= format (unit-files.md 10)."""

import pytest

from shim.backends import envfile

MEASURED = r"""# comment
; also a comment
A=1
 H = spaced   
D="double \" quoted \$ \\ \n literal"
S='single $X \n'
C=value # not a comment
J=${A}x
K=join\
ed
Q="multi\
line"
export E=exported
nokey line
EMPTY=
LAST=end"""


def test_measured_file():
    env = dict(envfile.parse(MEASURED))
    assert env["A"] == "1"
    assert env["H"] == "spaced"
    assert env["D"] == 'double " quoted $ \\ \\n literal'
    assert env["S"] == "single $X \\n"
    assert env["C"] == "value # not a comment"
    assert env["J"] == "${A}x"
    assert env["K"] == "joined"
    assert env["Q"] == "multiline"
    assert env["EMPTY"] == ""
    assert env["LAST"] == "end"
    assert "export E" not in env and "E" not in env
    assert "nokey line" not in env


def test_export_warning_text():
    pairs, warnings = envfile.parse_checked("export E=exported\n", "/etc/envtest", "envf.service")
    assert pairs == []
    assert warnings == ["envf.service: Ignoring invalid environment assignment "
                        "'export E=exported': /etc/envtest"]


def test_order_and_repeats():
    assert envfile.parse("A=1\nB=2\nA=3\n") == [("A", "1"), ("B", "2"), ("A", "3")]


def test_crlf_and_no_trailing_newline():
    assert envfile.parse("A=1\r\nB=2") == [("A", "1"), ("B", "2")]


def test_prefix():
    assert envfile.split_prefix("-/etc/default/ssh") == ("/etc/default/ssh", True)
    assert envfile.split_prefix("/etc/default/ssh") == ("/etc/default/ssh", False)


def test_load_missing_files():
    files = {"/a": "X=1\nY=a\n", "/b": "Y=b\n"}

    def reader(p):
        if p not in files:
            raise FileNotFoundError(p)
        return files[p]

    env, _ = envfile.load([("/a", False), ("/missing", True), ("/b", False)], reader)
    assert env == {"X": "1", "Y": "b"}
    with pytest.raises(OSError):
        envfile.load([("/missing", False)], reader)
