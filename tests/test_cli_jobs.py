"""start/stop/restart/reload and friends: stdout, stderr and exit code against systemd 252
(reference: systemctl-behaviour.md 2.8 and 5)."""

import os

import pytest

from scripts import pid_alive, wait_for


def test_start_stop_round_trip(root):
    root.daemon("food")
    r = root.run("start", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    pid = root.daemon_pid("food")
    assert pid and pid_alive(pid)
    assert root.tagged() == [pid]
    assert root.run("is-active", "food").out == "active\n"
    r = root.run("stop", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert wait_for(lambda: not pid_alive(pid))
    assert root.tagged() == []
    r = root.run("is-active", "food")
    assert (r.rc, r.out) == (3, "inactive\n")


def test_start_of_active_unit_is_a_noop(root):
    root.daemon("food")
    assert root.run("start", "food").rc == 0
    pid = root.daemon_pid("food")
    r = root.run("start", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert root.calls("food") == ["start"]           # the script was not run a second time
    assert root.daemon_pid("food") == pid and root.tagged() == [pid]


def test_stop_of_inactive_unit_is_fine(root):
    root.daemon("food")
    r = root.run("stop", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_restart_replaces_the_daemon(root):
    root.daemon("food")
    root.run("start", "food")
    old = root.daemon_pid("food")
    r = root.run("restart", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    new = root.daemon_pid("food")
    assert new and new != old and pid_alive(new)
    assert wait_for(lambda: not pid_alive(old))
    assert root.tagged() == [new]


def test_restart_of_inactive_unit_starts_it(root):
    root.daemon("food")
    assert root.run("restart", "food").rc == 0
    assert root.run("is-active", "food").rc == 0


@pytest.mark.parametrize("verb", ["try-restart", "condrestart"])
def test_try_restart_inactive_is_noop_active_restarts(root, verb):
    # "try-restart of an inactive unit is a no-op and exits 0."
    root.daemon("food")
    r = root.run(verb, "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert root.calls("food") == [] and root.tagged() == []
    root.run("start", "food")
    old = root.daemon_pid("food")
    r = root.run(verb, "food")
    assert (r.rc, r.err) == (0, "")
    assert root.daemon_pid("food") != old
    assert root.calls("food")[-2:] == ["stop", "start"]


def test_reload_runs_script_reload(root):
    root.daemon("food")
    root.run("start", "food")
    pid = root.daemon_pid("food")
    r = root.run("reload", "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert root.calls("food")[-1] == "reload"
    assert root.daemon_pid("food") == pid


def test_reload_not_applicable(root):
    # `Failed to reload foo.service: Job type reload is not applicable for unit foo.service.` -> exit 3
    root.daemon("food", reload=False)
    root.run("start", "food")
    r = root.run("reload", "food")
    assert r.rc == 3
    assert r.out == ""
    assert r.err == "Failed to reload food.service: Job type reload is not applicable for unit food.service.\n"


def test_reload_of_inactive_unit(root):
    # `%s is not active, cannot reload.` (job result invalid) -> exit 1
    root.daemon("food")
    r = root.run("reload", "food")
    assert r.rc == 1
    assert "food.service is not active, cannot reload." in r.err
    assert "reload" not in root.calls("food")


@pytest.mark.parametrize("verb", ["reload-or-restart", "try-reload-or-restart", "force-reload",
                                  "reload-or-try-restart", "condreload"])
def test_reload_or_restart_family_reloads_active(root, verb):
    root.daemon("food")
    root.run("start", "food")
    pid = root.daemon_pid("food")
    r = root.run(verb, "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert root.calls("food")[-1] == "reload"
    assert root.daemon_pid("food") == pid


def test_reload_or_restart_restarts_when_no_reload(root):
    root.daemon("food", reload=False)
    root.run("start", "food")
    pid = root.daemon_pid("food")
    assert root.run("reload-or-restart", "food").rc == 0
    assert root.calls("food")[-2:] == ["stop", "start"]
    assert root.daemon_pid("food") != pid


def test_reload_or_restart_starts_inactive(root):
    root.daemon("food")
    assert root.run("reload-or-restart", "food").rc == 0
    assert root.run("is-active", "food").rc == 0


@pytest.mark.parametrize("verb", ["try-reload-or-restart", "force-reload"])
def test_try_reload_or_restart_leaves_inactive_alone(root, verb):
    root.daemon("food")
    r = root.run(verb, "food")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert root.calls("food") == []


@pytest.mark.parametrize("verb,job", [("start", "start"), ("restart", "restart"),
                                      ("try-restart", "try-restart"), ("reload", "reload"),
                                      ("reload-or-restart", "reload-or-restart"),
                                      ("force-reload", "reload-or-try-restart")])
def test_unknown_unit_is_exit_5(root, verb, job):
    # `Failed to start foo.service: Unit foo.service not found.` -> exit 5
    r = root.run(verb, "nosuch")
    assert r.rc == 5
    assert r.out == ""
    assert r.err == "Failed to %s nosuch.service: Unit nosuch.service not found.\n" % job


def test_stop_unknown_unit(root):
    # `Failed to stop foo.service: Unit foo.service not loaded.` -> exit 5
    r = root.run("stop", "nosuch")
    assert r.rc == 5
    assert r.err == "Failed to stop nosuch.service: Unit nosuch.service not loaded.\n"


def test_failing_start_script(root):
    # exit 1, `Job for foo.service failed because the control process exited with error code.`
    # then `See "systemctl status foo.service" and "journalctl -xeu foo.service" for details.`
    root.daemon("food", start_exit=1)
    r = root.run("start", "food")
    assert r.rc == 1
    assert r.out == ""
    assert r.err == ("Job for food.service failed because the control process exited with error code.\n"
                     'See "systemctl status food.service" and "journalctl -xeu food.service" for details.\n')
    # A failed start leaves nothing of the unit running.
    assert wait_for(lambda: root.tagged() == [])
    r = root.run("is-failed", "food")
    assert (r.rc, r.out) == (0, "failed\n")
    r = root.run("status", "food")
    assert r.rc == 3
    assert "Active: failed (Result: exit-code)" in r.out
    assert "status=1/FAILURE" in r.out


def test_failing_start_quiet(root):
    root.daemon("food", start_exit=1)
    r = root.run("-q", "start", "food")
    assert r.rc == 1 and r.err == "" and r.out == ""


def test_lsb_exit_5_and_6_are_clean(root):
    # SuccessExitStatus=5 6 with an LSB header: "A start that exits 5 ... counts as a clean exit"
    root.daemon("five", daemon=False, start_exit=5)
    r = root.run("start", "five")
    assert (r.rc, r.err) == (0, "")


def test_several_units_one_missing(root):
    root.daemon("food")
    r = root.run("start", "food", "nosuch")
    assert r.rc == 5
    assert r.err == "Failed to start nosuch.service: Unit nosuch.service not found.\n"
    assert root.run("is-active", "food").rc == 0


def test_masked_start_refused(root):
    root.daemon("food")
    assert root.run("mask", "food").rc == 0
    r = root.run("start", "food")
    assert r.rc == 1
    assert r.err == "Failed to start food.service: Unit food.service is masked.\n"
    assert root.calls("food") == [] and root.tagged() == []
    # "try-restart / try-reload-or-restart on a masked unit are silently ignored."
    r = root.run("try-restart", "food")
    assert (r.rc, r.err) == (0, "")


def test_glob_start_warns(root):
    # `Warning: systemctl start called with a glob pattern.` unless --all/-q
    root.daemon("food")
    root.run("start", "food")
    r = root.run("restart", "foo*")
    assert r.rc == 0
    assert r.err.startswith("Warning: systemctl restart called with a glob pattern.")


def test_bin_launcher_works(root):
    root.daemon("food")
    r = root.run("start", "food", use_bin=True)
    assert (r.rc, r.err) == (0, "")
    r = root.run("is-active", "food", use_bin=True)
    assert (r.rc, r.out) == (0, "active\n")
    assert root.run("stop", "food", use_bin=True).rc == 0


def test_no_block_starts(root):
    root.daemon("food")
    r = root.run("--no-block", "start", "food")
    assert r.rc == 0
    assert wait_for(lambda: root.run("is-active", "food").rc == 0)


def test_scripts_get_clean_environment(root):
    # clients.md E.3: export SYSTEMCTL_SKIP_REDIRECT=1 and _SYSTEMCTL_SKIP_REDIRECT=1, a PATH, cd /
    root.raw("envy", """\
        #!/bin/sh
        case "$1" in
          start) env > %s/envy.env; pwd >> %s/envy.env ;;
        esac
        exit 0
        """ % (root.marks, root.marks))
    env = root.env(SECRET_THING="x", PATH="/nonexistent")
    assert root.run("start", "envy", env=env).rc == 0
    with open(os.path.join(root.marks, "envy.env")) as handle:
        lines = handle.read().splitlines()
    assert "SYSTEMCTL_SKIP_REDIRECT=1" in lines
    assert "_SYSTEMCTL_SKIP_REDIRECT=1" in lines
    assert any(line.startswith("PATH=") and "/sbin" in line for line in lines)
    assert not any(line.startswith("SECRET_THING=") for line in lines)
    assert lines[-1] == "/"
