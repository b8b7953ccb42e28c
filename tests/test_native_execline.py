"""Exec*= command lines (unit-files.md 9.2, 9.3): pure parsing, no process is run."""

import pytest

from shim.backends import execline
from shim.backends.execline import ExecError, expand, find_executable, parse


def test_measured_argv():
    # unit-files.md 9.3: Environment='Q=a "b c" d' EMPTY=
    line = ('/bin/sh $NOPE ${NOPE} $Q ${Q} $EMPTY ${EMPTY} x$Q "$Q" \'${Q}\' '
            '\\x41\\ttab "a\\"b" \'it\'\'s\'')
    [cmd] = parse(line)
    assert cmd.path == "/bin/sh"
    assert cmd.argv[1:4] == ("$NOPE", "${NOPE}", "$Q")     # unexpanded until run time
    got = expand(cmd.argv, {"Q": 'a "b c" d', "EMPTY": ""})
    assert got[1:] == ["", "a", "b c", "d", 'a "b c" d', "", "x$Q", "a", "b c", "d",
                       'a "b c" d', "A\ttab", 'a"b', "its"]


def test_dollar_dollar_and_unterminated():
    assert expand(["$$X", "a$${X}", "${X", "${X}y"], {"X": "v"}) == ["$X", "a${X}", "${X", "vy"]


def test_prefixes():
    [c] = parse("-/bin/false")
    assert c.ignore_errors and c.path == "/bin/false" and c.argv == ("/bin/false",)
    [c] = parse("@/bin/sh argzero -c 'echo $0'")
    assert c.path == "/bin/sh" and c.argv == ("argzero", "-c", "echo $0")
    [c] = parse(":/bin/sh -c 'echo $HOME'")
    assert c.no_env_expand and execline.expand_command(c, {"HOME": "/root"})[-1] == "echo $HOME"
    [c] = parse("+/usr/bin/id")
    assert c.full_privileges and not c.no_setuid
    [c] = parse("!/usr/bin/id")
    assert c.no_setuid and not c.ambient
    [c] = parse("!!/usr/bin/id")
    assert c.ambient and not c.no_setuid
    [c] = parse("-@:/bin/echo zero one")
    assert c.ignore_errors and c.no_env_expand and c.argv == ("zero", "one")
    assert c.flags() == ("ignore-failure", "no-env-expand")


def test_plus_with_bang_is_not_a_prefix():
    # "+!" : '!' after '+' ends the prefixes, so the path "!/bin/x" is neither absolute nor a name
    with pytest.raises(ExecError) as e:
        parse("+!/bin/x")
    assert e.value.fatal


def test_semicolon_separates_commands():
    cmds = parse("/bin/echo a ; /bin/echo b \\; c")
    assert [c.argv for c in cmds] == [("/bin/echo", "a"), ("/bin/echo", "b", ";", "c")]
    assert [c.argv for c in parse("/bin/echo a;b")] == [("/bin/echo", "a;b")]


def test_empty_value_is_reset():
    assert parse("") == []
    assert parse("   ") == []


def test_bare_name_kept_and_relative_path_fatal():
    [c] = parse("echo relative")
    assert c.path == "echo"
    with pytest.raises(ExecError) as e:
        parse("bin/foo")
    assert e.value.message == "Neither a valid executable name nor an absolute path: bin/foo"
    assert e.value.fatal
    with pytest.raises(ExecError) as e:
        parse("-bin/foo")
    assert not e.value.fatal
    assert "ignoring" in e.value.message


def test_directory_and_unsimplified_paths():
    with pytest.raises(ExecError) as e:
        parse("/bin/")
    assert e.value.message == "Executable path specifies a directory: /bin/"
    [c] = parse("/usr//bin/./x a")
    assert c.path == "/usr/bin/x" and c.argv == ("/usr//bin/./x", "a")   # path_simplify()
    assert parse("/bin/../bin/sh")[0].path == "/bin/../bin/sh"


def test_specifiers_resolved_per_word_after_unquoting():
    def resolve(word, is_path):
        if "%X" in word:
            raise ValueError("Invalid slot")
        return word.replace("%i", "a b").replace("%%", "%")
    [c] = parse("/bin/echo %i '%i' 100%%", resolve)
    assert c.argv == ("/bin/echo", "a b", "a b", "100%")      # a value with spaces stays one word
    with pytest.raises(ExecError) as e:
        parse("/bin/echo %X", resolve)
    assert e.value.message == "Failed to resolve unit specifiers in %X: Invalid slot"
    with pytest.raises(ExecError) as e:
        parse("-/bin/%X", resolve)
    assert not e.value.fatal
    assert e.value.message == "Failed to resolve unit specifiers in '/bin/%X', ignoring: Invalid slot"


def test_syntax_error_in_first_word_drops_silently():
    assert parse("'/bin/echo") == []
    assert [c.argv for c in parse("/bin/true ; '/bin/x")] == [("/bin/true",)]


def test_unbalanced_quote_is_an_error():
    with pytest.raises(ExecError):
        parse("/bin/echo 'abc")


def test_variable_as_command_is_not_expanded_for_the_path():
    [c] = parse("${APP} x")
    assert c.path == "${APP}"


def test_find_executable_uses_builtin_path():
    present = {"/usr/bin/echo", "/sbin/ip"}
    assert find_executable("echo", present.__contains__) == "/usr/bin/echo"
    assert find_executable("ip", present.__contains__) == "/sbin/ip"
    assert find_executable("nope", present.__contains__) is None
    assert find_executable("/usr/bin/echo", present.__contains__) == "/usr/bin/echo"
    assert execline.SEARCH_PATH[0] == "/usr/local/sbin"


def test_line_round_trip():
    [c] = parse("-/bin/sh -c 'echo a b'")
    assert c.line() == '-/bin/sh -c "echo a b"'


def test_dollar_word_with_suffix_is_looked_up_whole():
    # replace_env_argv(): "$Q/x" looks up the name "Q/x", which is never set: the word vanishes
    assert expand(["$Q/x", "a"], {"Q": "v"}) == ["a"]
