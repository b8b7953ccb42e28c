"""list-units, list-unit-files, enable/disable/mask/unmask/preset, system verbs and the command
line itself (systemctl-behaviour.md 2.6, 2.7, 2.9, 2.10; clients.md A.4, B.2, D.4)."""

import os

import pytest


# --- list-units ---------------------------------------------------------------------------------

def test_list_units_default_hides_inactive(root):
    root.daemon("up")
    root.daemon("down")
    root.run("start", "up")
    r = root.run("list-units")
    assert r.rc == 0 and r.err == ""
    assert r.lines[0].split() == ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]
    assert any(line.split()[:4] == ["up.service", "loaded", "active", "running"] for line in r.lines)
    assert "down.service" not in r.out
    assert "1 loaded units listed. Pass --all to see loaded but inactive units, too." in r.lines


def test_list_units_all_plain_no_legend(root):
    root.daemon("up")
    root.daemon("down")
    root.run("start", "up")
    r = root.run("list-units", "--all", "--plain", "--no-legend", "--type=service")
    assert r.rc == 0
    # --plain: the unit at column 0; --no-legend: no header and no footer
    assert r.lines == [line for line in r.lines if line.endswith("daemon")]
    by_name = {line.split()[0]: line.split() for line in r.lines}
    assert by_name["up.service"][1:4] == ["loaded", "active", "running"]
    assert by_name["down.service"][1:4] == ["loaded", "inactive", "dead"]
    assert set(by_name) == {"up.service", "down.service"}


def test_list_units_ansible_service_facts_parse(root):
    # `systemctl list-units --no-pager --type service --all --plain`: keep lines with `.service`;
    # fields[0] name, fields[2] ACTIVE, fields[3] == "running" means running.
    root.daemon("up")
    root.daemon("down")
    root.daemon("broken", start_exit=1)
    root.run("start", "up")
    root.run("start", "broken")
    r = root.run("list-units", "--no-pager", "--type", "service", "--all", "--plain")
    assert r.rc == 0
    services = {}
    for line in r.lines:
        if ".service" not in line:
            continue
        fields = line.split()
        state = fields[2]
        if any(t in ("not-found", "masked", "failed") for t in fields[:-1]):
            state = "failed" if "failed" in fields else state
        services[fields[0]] = (state, fields[3] == "running")
    assert services["up.service"] == ("active", True)
    assert services["down.service"] == ("inactive", False)
    assert services["broken.service"] == ("failed", False)


def test_list_units_state_filter(root):
    root.daemon("up")
    root.daemon("down")
    root.run("start", "up")
    r = root.run("list-units", "--state=inactive", "--plain", "--no-legend", "--type=service")
    assert [line.split()[0] for line in r.lines] == ["down.service"]
    r = root.run("list-units", "--state=running", "--plain", "--no-legend")
    assert [line.split()[0] for line in r.lines] == ["up.service"]


def test_list_units_glyph_column(root):
    root.daemon("broken", start_exit=1)
    root.run("start", "broken")
    r = root.run("list-units", "--all", "--no-legend", "--type=service")
    line = [l for l in r.lines if "broken.service" in l][0]
    assert line.startswith("● broken.service")     # `●` for failed units in column 0


def test_list_units_empty_is_exit_0(root):
    r = root.run("list-units", "--type=service")
    assert r.rc == 0


# --- list-unit-files ----------------------------------------------------------------------------

def test_list_unit_files(root):
    root.daemon("aa")
    root.daemon("bb")
    root.rc_link("2", "S01aa", "aa")
    r = root.run("list-unit-files", "--type=service")
    assert r.rc == 0
    assert r.lines[0].split()[:2] == ["UNIT", "FILE"]
    rows = {line.split()[0]: line.split()[1] for line in r.lines[1:] if line.startswith(("aa", "bb"))}
    assert rows == {"aa.service": "enabled", "bb.service": "disabled"}
    # testinfra `exists`: `systemctl list-unit-files | grep -q "^NAME"` (column 0)
    assert any(line.startswith("aa.service") for line in r.lines)
    assert r.lines[-1] == "2 unit files listed."
    # Ansible: `line.split()[:2]`, a malformed line (fewer than two tokens) is a hard failure
    r = root.run("list-unit-files", "--no-pager", "--type", "service", "--all", "--no-legend")
    assert all(len(line.split()) >= 2 for line in r.lines), r.out


def test_list_unit_files_nothing_matches_exit_1(root):
    # "Exit 1 if nothing was listed (v246+) with no error message"
    root.daemon("aa")
    r = root.run("list-unit-files", "zz*")
    assert (r.rc, r.out, r.err) == (1, "", "")
    r = root.run("list-unit-files", "aa*")
    assert r.rc == 0 and "aa.service" in r.out


# --- enable / disable ---------------------------------------------------------------------------

def _links(root, name):
    found = []
    for level in "0123456S":
        directory = os.path.join(root.path, "etc", "rc%s.d" % level)
        for entry in sorted(os.listdir(directory)):
            if entry[3:] == name:
                found.append((level, entry, os.readlink(os.path.join(directory, entry))))
    return found


def test_enable_disable_round_trip(root):
    root.daemon("food", default_start="2 3 4 5", default_stop="0 1 6")
    r = root.run("enable", "food")
    assert r.rc == 0 and r.out == ""
    links = _links(root, "food")
    starts = sorted(level for level, entry, _ in links if entry.startswith("S"))
    assert starts == ["2", "3", "4", "5"]
    assert all(entry == "S01food" for _, entry, _ in links if entry.startswith("S"))
    assert all(target == "../init.d/food" for _, _, target in links)
    r = root.run("is-enabled", "food")
    assert (r.rc, r.out) == (0, "enabled\n")
    r = root.run("disable", "food")
    assert r.rc == 0
    assert not any(entry.startswith("S") for level, entry, _ in _links(root, "food")
                   if level in "2345")
    r = root.run("is-enabled", "food")
    assert (r.rc, r.out) == (1, "disabled\n")
    assert root.run("enable", "food").rc == 0
    assert root.run("is-enabled", "food").out == "enabled\n"
    assert root.tagged() == []                      # enabling does not start anything


def test_enable_unknown_unit(root):
    r = root.run("enable", "nosuch")
    assert r.rc == 1
    assert r.err == "Failed to enable unit: Unit file nosuch.service does not exist.\n"


def test_skip_sysv_makes_enable_disable_noop(root):
    # update-rc.d calls back `systemctl --quiet enable X` with SYSTEMCTL_SKIP_SYSV=1
    root.daemon("food")
    env = root.env(SYSTEMCTL_SKIP_SYSV="1")
    r = root.run("--quiet", "enable", "food", env=env)
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert _links(root, "food") == []
    root.run("enable", "food")
    before = _links(root, "food")
    r = root.run("--quiet", "disable", "food", env=env)
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert _links(root, "food") == before


def test_enable_now_with_root_refused(root):
    # "With --root: `--now cannot be used with --root=.`"
    root.daemon("food")
    r = root.run_offline("enable", "--now", "food")
    assert r.rc == 1 and "--now cannot be used with --root=." in r.err
    assert root.tagged() == []


def test_now_with_other_verb(root):
    r = root.run("start", "--now", "food")
    assert r.rc == 1
    assert r.err == "--now can only be used with verb enable, disable, reenable, or mask.\n"


def test_preset_enables(root):
    # deb-systemd-helper: `systemctl --system --preset-mode=enable-only preset X.service` -> 0
    root.daemon("food")
    r = root.run("--system", "--preset-mode=enable-only", "preset", "food.service")
    assert r.rc == 0
    assert root.run("is-enabled", "food").rc == 0


# --- mask / unmask ------------------------------------------------------------------------------

def test_mask_unmask(root):
    root.daemon("food")
    r = root.run("mask", "food")
    assert r.rc == 0
    link = os.path.join(root.path, "etc", "systemd", "system", "food.service")
    assert os.readlink(link) == "/dev/null"
    r = root.run("is-enabled", "food")
    assert (r.rc, r.out) == (1, "masked\n")
    r = root.run("show", "-p", "LoadState", "--value", "food")
    assert (r.rc, r.out) == (0, "masked\n")
    r = root.run("start", "food")
    assert (r.rc, r.err) == (1, "Failed to start food.service: Unit food.service is masked.\n")
    assert root.run("mask", "food").rc == 0            # again: no change, no error
    r = root.run("unmask", "food")
    assert r.rc == 0
    assert not os.path.lexists(link)
    assert root.run("is-enabled", "food").out == "disabled\n"
    assert root.run("show", "-P", "LoadState", "food").out == "loaded\n"
    assert root.run("start", "food").rc == 0


def test_mask_unknown_unit_proceeds(root):
    # "mask/unmask of a unit that does not exist: `Unit %s does not exist, proceeding anyway.`"
    r = root.run("mask", "nosuch")
    assert r.rc == 0
    assert "Unit nosuch.service does not exist, proceeding anyway." in r.err
    assert root.run("unmask", "nosuch").rc == 0


# --- system verbs -------------------------------------------------------------------------------

def test_daemon_reload(root):
    r = root.run("daemon-reload")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_is_system_running_offline_with_root(root):
    # "With --root ... prints `offline`, exit 1."
    r = root.run_offline("is-system-running")
    assert (r.rc, r.out) == (1, "offline\n")


@pytest.mark.parametrize("level,target", [("2", "multi-user.target"), ("3", "multi-user.target"),
                                          ("5", "graphical.target"), ("1", "rescue.target")])
def test_get_default_from_inittab(root, level, target):
    with open(os.path.join(root.path, "etc", "inittab"), "w") as handle:
        handle.write("id:%s:initdefault:\n" % level)
    r = root.run("get-default")
    assert (r.rc, r.out, r.err) == (0, target + "\n", "")


def test_show_environment(root):
    r = root.run("show-environment")
    assert r.rc == 0
    assert all("=" in line for line in r.lines)
    assert any(line.startswith("PATH=") for line in r.lines)


# --- the command line ---------------------------------------------------------------------------

def test_version(root):
    r = root.run("--version")
    assert r.rc == 0 and r.err == ""
    assert r.lines[0].startswith("systemd 252 ")       # tools parse line 1


def test_help(root):
    r = root.run("--help")
    assert r.rc == 0 and "Usage:" in r.out and r.err == ""


def test_unknown_verb(root):
    r = root.run("foo")
    assert (r.rc, r.out, r.err) == (1, "", "Unknown command verb foo.\n")


@pytest.mark.parametrize("verb", ["start", "stop", "is-enabled", "enable", "mask", "cat", "kill"])
def test_too_few_arguments(root, verb):
    r = root.run(verb)
    assert (r.rc, r.out, r.err) == (1, "", "Too few arguments.\n")


@pytest.mark.parametrize("argv", [["-p", "Id", "kill"], ["kill", "-s", "KILL"],
                                  ["--signal", "HUP", "kill"]])
def test_too_few_arguments_after_option_values(root, argv):
    # An option's value (`-p Id`) is not the verb: getopt would not take it for one either.
    r = root.run(*argv)
    assert (r.rc, r.out, r.err) == (1, "", "Too few arguments.\n")


def test_too_many_arguments(root):
    r = root.run("daemon-reload", "extra")
    assert (r.rc, r.out, r.err) == (1, "", "Too many arguments.\n")


def test_unknown_option(root):
    r = root.run("--frobnicate", "status")
    assert r.rc == 1 and r.out == ""
    assert "--frobnicate" in r.err


def test_user_scope_refused(root):
    r = root.run("--user", "status", "food")
    assert r.rc == 1 and r.out == ""
    assert "--user" in r.err and "not supported" in r.err


def test_default_verb_is_list_units(root):
    root.daemon("up")
    root.run("start", "up")
    r = root.run()
    assert r.rc == 0 and "up.service" in r.out


def test_options_after_units_and_common_client_options(root):
    root.daemon("food")
    root.run("start", "food")
    r = root.run("show", "food", "--no-pager", "-p", "ActiveState", "--value", "--system")
    assert (r.rc, r.out) == (0, "active\n")
    r = root.run("--no-ask-password", "--no-block", "--force", "is-active", "food")
    assert (r.rc, r.out) == (0, "active\n")
