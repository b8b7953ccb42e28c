"""Bad input: unknown units, names that try to leave /etc/init.d, malformed scripts, damaged or
unreadable state, and callers who are not root. Never a traceback (checked by every run())."""

import json
import os

import pytest

from scripts import wait_for


@pytest.mark.parametrize("name", ["../../bin/sh", "../../../../../bin/sh", "/bin/sh", "..",
                                  "../init.d/x", "a/../../bin/true", "-", "\u00e9t\u00e9",
                                  "x" * 300, "foo bar", "$(touch /tmp/shim-pwned)"])
def test_hostile_names_run_nothing(root, name):
    # A script that would leave a trace if /bin/sh or anything else were run by name.
    canary = os.path.join(root.marks, "ran")
    root.raw("sh", "#!/bin/sh\ntouch %s\n" % canary)       # the only 'sh' the root has
    for args in (["start", "--", name], ["status", "--", name], ["show", "--", name],
                 ["is-active", "--", name], ["enable", "--", name], ["cat", "--", name],
                 ["restart", "--", name], ["stop", "--", name]):
        r = root.run(*args)
        assert r.rc in (0, 1, 3, 4, 5), str(r)
    assert not os.path.exists(canary), "a hostile name ran a script"
    assert not os.path.exists("/tmp/shim-pwned")
    assert root.tagged() == []


def test_traversal_start_is_not_found(root):
    r = root.run("start", "../../bin/sh")
    assert r.rc == 5
    assert "not found" in r.err
    r = root.run("show", "-P", "LoadState", "../../bin/sh")
    assert r.out == "not-found\n"


def test_empty_unit_name(root):
    r = root.run("start", "")
    assert r.rc == 1 and r.err.strip()


def test_lsb_header_without_end(root):
    root.raw("noend", """\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          noend
        # Short-Description: never ends
        case "$1" in start|stop) exit 0 ;; esac
        """)
    r = root.run("show", "-p", "LoadState,Id", "noend")
    assert r.out == "Id=noend.service\nLoadState=loaded\n"
    assert root.run("start", "noend").rc == 0
    assert root.run("status", "noend").rc == 0


def test_binary_garbage_script(root):
    path = os.path.join(root.init_d, "garbage")
    with open(path, "wb") as handle:
        handle.write(b"#!/bin/sh\n### BEGIN INIT INFO\n# Provides: \xff\xfe\x00\x01 garbage\n"
                     + bytes(range(256)) * 8 + b"\n### END INIT INFO\nexit 0\n")
    os.chmod(path, 0o755)
    for args in (["show", "garbage"], ["status", "garbage"], ["list-units", "--all"],
                 ["list-unit-files"], ["cat", "garbage"], ["is-enabled", "garbage"]):
        r = root.run(*args)
        assert r.rc in (0, 1, 3), str(r)
    r = root.run("show", "garbage")
    assert all("=" in line for line in r.lines)


def test_huge_script(root):
    path = os.path.join(root.init_d, "huge")
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n### BEGIN INIT INFO\n# Provides: huge\n# Short-Description: big\n")
        handle.write("### END INIT INFO\n")
        handle.write(("# " + "x" * 1000 + "\n") * 20000)      # ~20 MB
        handle.write("exit 0\n")
    os.chmod(path, 0o755)
    r = root.run("show", "-p", "Description,LoadState", "huge", timeout=60)
    assert r.out == "Description=LSB: big\nLoadState=loaded\n"
    r = root.run("list-unit-files", "--no-legend", timeout=60)
    assert "huge.service" in r.out


def test_unreadable_script(root):
    root.daemon("food")
    os.chmod(os.path.join(root.init_d, "food"), 0o000)
    r = root.run("show", "-P", "LoadState", "food")
    assert r.rc == 0 and r.out in ("loaded\n", "not-found\n")
    root.run("status", "food")


def _start_food(root):
    root.daemon("food")
    assert root.run("start", "food").rc == 0
    return root.daemon_pid("food")


@pytest.mark.parametrize("damage", ["garbage-json", "wrong-types", "empty", "huge", "directory"])
def test_damaged_state_record(root, damage):
    pid = _start_food(root)
    record = os.path.join(root.state_dir(), "units", "food.service.json")
    assert os.path.exists(record)
    os.unlink(record)
    if damage == "garbage-json":
        open(record, "w").write("{not json\x00\xff")
    elif damage == "wrong-types":
        json.dump({"state": 7, "tracking": {"processes": "x"}, "control": [1, 2],
                   "active_since": "yesterday", "last_exec": []}, open(record, "w"))
    elif damage == "empty":
        open(record, "w").close()
    elif damage == "directory":
        os.mkdir(record)
    else:
        open(record, "w").write("[" * 3000000)
    # The daemon is still there and its pidfile is good: it is still active.
    r = root.run("is-active", "food")
    assert (r.rc, r.out) == (0, "active\n")
    assert root.run("status", "food").rc == 0
    assert int(root.run("show", "-P", "MainPID", "food").out) == pid
    r = root.run("stop", "food")
    assert r.rc == 0, str(r)
    assert wait_for(lambda: root.tagged() == [])
    if damage == "directory":
        # the obstacle is kept (renamed aside), the record written again
        assert os.path.isfile(record)
        assert [e for e in os.listdir(os.path.dirname(record)) if ".damaged-" in e]
    assert root.run("start", "food").rc == 0
    assert root.run("stop", "food").rc == 0
    assert wait_for(lambda: root.tagged() == [])


def test_unreadable_state_dir_for_non_root(root, nobody_python):
    pid = _start_food(root)
    os.chmod(root.state_dir(), 0o000)
    try:
        r = root.run("is-active", "food", user="nobody", python=nobody_python)
        assert r.out in ("active\n", "inactive\n", "failed\n")
        r = root.run("status", "food", user="nobody", python=nobody_python)
        assert r.rc in (0, 3)
    finally:
        os.chmod(root.state_dir(), 0o755)
    assert int(root.run("show", "-P", "MainPID", "food").out) == pid


def test_garbage_boot_id_and_files_in_state_dir(root):
    _start_food(root)
    state = root.state_dir()
    open(os.path.join(state, "boot_id"), "w").write("not-this-boot\n")
    open(os.path.join(state, "units", "..json"), "w").write("{}")
    open(os.path.join(state, "units", "stray"), "w").write("x")
    r = root.run("is-active", "food")
    assert (r.rc, r.out) == (0, "active\n")          # the pidfile still tells the truth
    assert root.run("stop", "food").rc == 0
    assert wait_for(lambda: root.tagged() == [])


def test_state_dir_env_knob(root, tmp_path):
    state = os.path.join(root.path, "elsewhere-state")
    root.env_extra["SYSTEMCTL_SHIM_STATE_DIR"] = state
    _start_food(root)
    assert os.path.isdir(os.path.join(state, "units"))
    assert not os.path.exists(os.path.join(root.state_dir(), "units", "food.service.json"))
    assert root.run("stop", "food").rc == 0


def test_invalid_stop_timeout_env(root):
    root.daemon("food")
    r = root.run("stop", "food", env=root.env(SYSTEMCTL_SHIM_STOP_TIMEOUT="soon"))
    assert r.rc == 1 and "SYSTEMCTL_SHIM_STOP_TIMEOUT" in r.err


def test_stop_timeout_escalates_to_sigkill(root):
    root.raw("stubborn", """\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          stubborn
        # Short-Description: ignores SIGTERM
        ### END INIT INFO
        case "$1" in
          start) SHIM_TEST_TAG=%s sh -c 'trap "" TERM; echo $$ > %s; while :; do sleep 1; done' \\
                   </dev/null >/dev/null 2>&1 &
                 sleep 0.3 ;;
          stop) : ;;
        esac
        exit 0
        """ % (root.tag, root.pidfile("stubborn")))
    assert root.run("start", "stubborn").rc == 0
    assert root.tagged()
    r = root.run("stop", "stubborn", env=root.env(SYSTEMCTL_SHIM_STOP_TIMEOUT="1"), timeout=60)
    assert r.rc == 0
    assert wait_for(lambda: root.tagged() == [], timeout=10)


# --- non-root callers ---------------------------------------------------------------------------

def test_non_root_read_only_verbs_work(root, nobody_python):
    pid = _start_food(root)
    root.daemon("idle")
    as_nobody = dict(user="nobody", python=nobody_python)
    r = root.run("is-active", "food", **as_nobody)
    assert (r.rc, r.out) == (0, "active\n")
    r = root.run("status", "food", **as_nobody)
    assert r.rc == 0 and "Main PID: %d" % pid in r.out
    r = root.run("show", "-P", "MainPID", "food", **as_nobody)
    assert r.out == "%d\n" % pid
    r = root.run("is-enabled", "food", **as_nobody)
    assert (r.rc, r.out) == (1, "disabled\n")
    r = root.run("list-units", "--all", **as_nobody)
    assert r.rc == 0 and "food.service" in r.out
    r = root.run("list-unit-files", **as_nobody)
    assert r.rc == 0
    r = root.run("is-active", "idle", **as_nobody)
    assert (r.rc, r.out) == (3, "inactive\n")


@pytest.mark.parametrize("verb,job", [("start", "start"), ("stop", "stop"), ("restart", "restart"),
                                      ("try-restart", "try-restart")])
def test_non_root_job_verbs_access_denied(root, nobody_python, verb, job):
    # "access denied ... -> 4"; the error format is "Failed to %s %s: %s"
    pid = _start_food(root)
    root.daemon("idle")
    unit = "idle" if verb == "start" else "food"
    before = root.calls("food") + root.calls("idle")
    r = root.run(verb, unit, user="nobody", python=nobody_python)
    assert r.rc == 4, str(r)
    assert r.out == ""
    assert r.err.startswith("Failed to %s %s.service: Access denied" % (job, unit))
    # nothing half-done
    assert root.calls("food") + root.calls("idle") == before
    assert root.tagged() == [pid]
    assert root.run("is-active", "food").rc == 0
    assert root.run("is-active", "idle").rc == 3


@pytest.mark.parametrize("verb", ["enable", "disable", "mask", "unmask"])
def test_non_root_install_verbs_refused(root, nobody_python, verb):
    root.daemon("food")
    r = root.run(verb, "food", user="nobody", python=nobody_python)
    assert r.rc != 0 and "Access denied" in r.err, str(r)
    for level in "0123456S":
        assert os.listdir(os.path.join(root.path, "etc", "rc%s.d" % level)) == []
    assert not os.path.exists(os.path.join(root.path, "etc", "systemd", "system", "food.service"))
