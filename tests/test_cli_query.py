"""status, is-active, is-failed, is-enabled, show, cat (systemctl-behaviour.md 2.2-2.5, 2.10)."""

import re

import pytest


# --- status -----------------------------------------------------------------------------------

def test_status_active_block(root):
    root.daemon("food", description="Food daemon")
    root.run("start", "food")
    pid = root.daemon_pid("food")
    r = root.run("status", "food")
    assert r.rc == 0 and r.err == ""
    lines = r.lines
    assert lines[0] == "● food.service - LSB: Food daemon"
    # A SysV-generated unit shows `     Loaded: loaded (/etc/init.d/foo; generated)` in systemd;
    # the shim reports enablement instead (documented choice); the label alignment is v244+'s.
    assert re.match(r"^     Loaded: loaded \(/etc/init\.d/food; (disabled|enabled)", lines[1]), lines[1]
    assert re.match(r"^     Active: active \(running\) since \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+; .+ ago$",
                    lines[2]), lines[2]
    assert "   Main PID: %d (sleep)" % pid in lines
    # the process list: 13 spaces, └─, the pid, the command line
    assert any(re.match(r"^             └─ *%d sleep 100000$" % pid, line) for line in lines), r.out


def test_status_inactive_and_ascii(root):
    root.daemon("food")
    r = root.run("status", "food")
    assert r.rc == 3
    assert r.lines[0].startswith("○ food.service")
    assert "     Active: inactive (dead)" in r.lines
    # "With an ASCII locale (not UTF-8, e.g. LANG=C) ... the ●○×↻ icons all become `*` (`x` for failed)"
    r = root.run("status", "food", env=root.env(LANG="C"))
    assert r.rc == 3 and r.lines[0].startswith("* food.service")
    root.run("start", "food")
    r = root.run("status", "food", env=root.env(LANG="C"))
    assert r.rc == 0 and r.lines[0].startswith("* food.service")
    assert any(line.lstrip().startswith("`-") for line in r.lines), r.out
    assert "●" not in r.out and "└" not in r.out


def test_status_failed_glyph(root):
    root.daemon("food", start_exit=1)
    root.run("start", "food")
    r = root.run("status", "food")
    assert r.rc == 3 and r.lines[0].startswith("× food.service")
    r = root.run("status", "food", env=root.env(LANG="C"))
    assert r.lines[0].startswith("x food.service")


def test_status_unknown_unit(root):
    # not-found: stderr `Unit %s could not be found.` and return 4, no block
    r = root.run("status", "nosuch")
    assert (r.rc, r.out, r.err) == (4, "", "Unit nosuch.service could not be found.\n")


def test_status_exit_code_is_first_nonzero(root):
    # "active + unknown gives 4; inactive + unknown gives 3"
    root.daemon("up")
    root.daemon("down")
    root.run("start", "up")
    r = root.run("status", "up", "nosuch")
    assert r.rc == 4
    r = root.run("status", "down", "nosuch")
    assert r.rc == 3
    assert r.err == "Unit nosuch.service could not be found.\n"


def test_status_blocks_separated_by_one_blank_line(root):
    root.daemon("aa")
    root.daemon("bb")
    r = root.run("status", "aa", "bb")
    assert r.rc == 3
    blocks = r.out.split("\n\n")
    assert blocks[0].startswith("○ aa.service")
    assert any(b.startswith("○ bb.service") for b in blocks[1:])
    assert "\n\n\n" not in r.out


# --- is-active / is-failed ---------------------------------------------------------------------

def test_is_active_states(root):
    root.daemon("food")
    r = root.run("is-active", "food")
    assert (r.rc, r.out, r.err) == (3, "inactive\n", "")
    root.run("start", "food")
    r = root.run("is-active", "food")
    assert (r.rc, r.out, r.err) == (0, "active\n", "")
    r = root.run("is-active", "-q", "food")
    assert (r.rc, r.out) == (0, "")
    r = root.run("check", "food")        # hidden alias
    assert (r.rc, r.out) == (0, "active\n")


def test_is_active_unknown_252(root):
    # "A nonexistent unit prints `inactive`"; exit 4 is v253+, "in <=v252 it was 3 for is-active"
    r = root.run("is-active", "nosuch")
    assert (r.rc, r.out, r.err) == (3, "inactive\n", "")


def test_is_active_any_rule_and_order(root):
    # "0 if any unit is in a good state"; one line per unit in argument order
    root.daemon("up")
    root.daemon("down")
    root.run("start", "up")
    r = root.run("is-active", "down", "up", "nosuch")
    assert (r.rc, r.out) == (0, "inactive\nactive\ninactive\n")


def test_is_failed(root):
    root.daemon("food")
    r = root.run("is-failed", "food")
    assert (r.rc, r.out) == (1, "inactive\n")
    r = root.run("is-failed", "nosuch")          # <=v252: 1 for is-failed
    assert (r.rc, r.out) == (1, "inactive\n")
    root.run("start", "food")
    r = root.run("is-failed", "food")
    assert (r.rc, r.out) == (1, "active\n")


def test_is_active_needs_an_argument(root):
    r = root.run("is-active")
    assert (r.rc, r.out, r.err) == (1, "", "Too few arguments.\n")


# --- is-enabled ---------------------------------------------------------------------------------

def test_is_enabled(root):
    root.daemon("food")
    r = root.run("is-enabled", "food")
    assert (r.rc, r.out, r.err) == (1, "disabled\n", "")
    root.rc_link("2", "S01food", "food")
    r = root.run("is-enabled", "food")
    assert (r.rc, r.out, r.err) == (0, "enabled\n", "")
    # Ansible: `systemctl is-enabled '<name>' -l` (option after the unit); Debian: `-- 'x'`
    r = root.run("is-enabled", "food", "-l")
    assert r.rc == 0 and r.lines[0] == "enabled"
    r = root.run("is-enabled", "--", "food")
    assert (r.rc, r.out) == (0, "enabled\n")
    r = root.run("--quiet", "is-enabled", "food")
    assert (r.rc, r.out) == (0, "")


def test_is_enabled_unknown_252(root):
    # "In <=v252 it printed `Failed to get unit file state for foo.service: No such file or
    # directory` ... and exited 1."
    r = root.run("is-enabled", "nosuch")
    assert r.rc == 1 and r.out == ""
    assert r.err == "Failed to get unit file state for nosuch.service: No such file or directory\n"


def test_is_enabled_k_link_is_disabled(root):
    root.daemon("food")
    root.rc_link("2", "K01food", "food")
    r = root.run("is-enabled", "food")
    assert (r.rc, r.out) == (1, "disabled\n")


# --- show ---------------------------------------------------------------------------------------

def _parse_testinfra(out):
    """testinfra: dict(map(lambda p: p.split("=", maxsplit=1), out.splitlines()))"""
    return dict(map(lambda p: p.split("=", maxsplit=1), out.splitlines()))


def _parse_ansible(out):
    """Ansible's parse_systemctl_show, abridged: split on the first '=', strip values."""
    result, key, value = {}, None, []
    for line in out.split("\n"):
        if key is None:
            if "=" in line:
                k, v = line.split("=", 1)
                if k.startswith("Exec") and v.lstrip().startswith("{") and not v.rstrip().endswith("}"):
                    key, value = k.strip(), [v]
                else:
                    result[k.strip()] = v.strip()
        else:
            value.append(line)
            if line.rstrip().endswith("}"):
                result[key] = "\n".join(value).strip()
                key = None
    return result


def test_show_parses_for_testinfra_and_ansible(root):
    root.daemon("food")
    for state in ("inactive", "active"):
        if state == "active":
            root.run("start", "food")
        r = root.run("show", "food")
        assert r.rc == 0 and r.err == ""
        assert all("=" in line for line in r.lines), r.out
        props = _parse_testinfra(r.out)
        assert props["Id"] == "food.service"
        assert props["LoadState"] == "loaded"
        assert props["ActiveState"] == state
        assert "LoadError" not in props          # "Never print LoadError= for a loadable unit"
        assert _parse_ansible(r.out)["ActiveState"] == state
    props = _parse_testinfra(root.run("show", "food").out)
    assert props["SubState"] == "running"
    assert int(props["MainPID"]) == root.daemon_pid("food")
    assert props["SourcePath"] == "/etc/init.d/food"
    assert props["CanReload"] == "yes"
    assert props["KillSignal"] == "15"           # i32 -> decimal


def test_show_unknown_unit(root):
    r = root.run("show", "nosuch")
    assert r.rc == 0 and r.err == ""
    props = _parse_testinfra(r.out)
    assert props["LoadState"] == "not-found"
    assert props["ActiveState"] == "inactive"
    assert props["Id"] == "nosuch.service"


def test_show_properties(root):
    root.daemon("food")
    r = root.run("show", "food", "-p", "ActiveState")
    assert (r.rc, r.out) == (0, "ActiveState=inactive\n")
    r = root.run("show", "food", "-p", "ActiveState", "--value")
    assert (r.rc, r.out) == (0, "inactive\n")
    r = root.run("show", "food", "-P", "LoadState")
    assert (r.rc, r.out) == (0, "loaded\n")
    # repeated and comma lists; D-Bus order (Unit properties: Id before LoadState before ActiveState)
    r = root.run("show", "food", "-p", "ActiveState,Id", "--property=LoadState")
    assert r.out == "Id=food.service\nLoadState=loaded\nActiveState=inactive\n"
    # an unknown property prints nothing, exit 0
    r = root.run("show", "food", "-p", "NoSuchProperty")
    assert (r.rc, r.out) == (0, "")
    # -p shows empty values
    r = root.run("show", "food", "-p", "InvocationID")
    assert r.out == "InvocationID=\n"


def test_show_several_units_blank_line(root):
    # "Several units -> blocks separated by one empty line, with --value too."
    root.daemon("aa")
    root.daemon("bb")
    r = root.run("show", "-p", "Id", "aa", "bb")
    assert r.out == "Id=aa.service\n\nId=bb.service\n"
    r = root.run("show", "-p", "Id", "--value", "aa", "bb", "nosuch")
    assert r.out == "aa.service\n\nbb.service\n\nnosuch.service\n"


def test_show_hides_empty_values_unless_all(root):
    root.daemon("food")
    r = root.run("show", "food")
    assert not any(line.endswith("=") for line in r.lines), r.out
    r = root.run("show", "--all", "food")
    assert "InvocationID=" in r.lines


def test_show_debian_lsb_hook_probe(root):
    # 40-systemd: `systemctl -p LoadState --value show $service`
    root.daemon("food")
    r = root.run("-p", "LoadState", "--value", "show", "food.service")
    assert (r.rc, r.out) == (0, "loaded\n")
    r = root.run("show", "--value", "--property", "SourcePath", "food")
    assert r.out == "/etc/init.d/food\n"


# --- cat ----------------------------------------------------------------------------------------

def test_cat(root):
    root.daemon("food")
    r = root.run("cat", "food")
    assert r.rc == 0
    # "A SysV unit shows `# /run/systemd/generator.late/foo.service` followed by the generated text."
    assert r.lines[:2] == ["# /run/systemd/generator.late/food.service",
                           "# Automatically generated by systemd-sysv-generator"]
    assert "SourcePath=/etc/init.d/food" in r.lines and "### BEGIN INIT INFO" not in r.out
    r = root.run("cat", "nosuch")
    # "Nothing found: stderr `No files found for foo.service.` ... the final exit is 1"
    assert (r.rc, r.out, r.err) == (1, "", "No files found for nosuch.service.\n")


def test_cat_masked(root):
    root.daemon("food")
    root.run("mask", "food")
    r = root.run("cat", "food")
    assert r.out == "# Unit food.service is masked.\n"


@pytest.mark.parametrize("args", [["status"], ["show"]])
def test_no_unit_argument(root, args):
    r = root.run(*args)
    assert r.rc == 0 and r.out
