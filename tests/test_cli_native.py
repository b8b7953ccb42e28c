"""Native `.service` files driven through the real CLI with real processes (issue 10, first
slice): loading beside init scripts, Type=simple/exec/forking/oneshot, a clean environment,
ExecStartPre/ExecStop with $MAINPID, User=, [Install] symlinks, cat, bad settings."""

import os

from scripts import gone, pid_alive, wait_for

UNIT_DIR = os.path.join("lib", "systemd", "system")


def unit(root, name, text):
    path = os.path.join(root.path, UNIT_DIR, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def main_pid(root, name):
    return int(root.run("show", "-P", "MainPID", name).out or 0)


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as handle:
        return dict(item.decode().split("=", 1) for item in handle.read().split(b"\0") if b"=" in item)


def test_simple_service_runs_with_systemds_environment(root):
    os.makedirs(os.path.join(root.path, "etc", "default"), exist_ok=True)
    envfile = os.path.join(root.path, "etc", "default", "hello")
    with open(envfile, "w") as handle:
        handle.write("GREETING=from-file\n# comment\nQUOTED=\"a b\"\n")
    unit(root, "hello.service", """\
[Unit]
Description=Hello daemon
[Service]
Environment=GREETING=from-unit OTHER=kept
EnvironmentFile=%s
EnvironmentFile=-/nonexistent/file
UnsetEnvironment=OTHER
ExecStart=/usr/bin/env SHIM_TEST_TAG=%s sleep 1000
""" % (envfile, root.tag))
    r = root.run("start", "hello", env=root.env(LEAK="from-caller"))
    assert (r.rc, r.out, r.err) == (0, "", ""), str(r) + root.run("status", "hello").out
    pid = main_pid(root, "hello")
    assert pid and root.tagged() == [pid]
    env = environ(pid)
    assert env["GREETING"] == "from-file" and env["QUOTED"] == "a b"     # the file wins
    assert "OTHER" not in env and "LEAK" not in env                       # nothing of the caller's
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert len(env["INVOCATION_ID"]) == 32 and "USER" not in env and "HOME" not in env
    status = root.run("status", "hello")
    assert status.rc == 0 and "Active: active (running)" in status.out
    assert "Loaded: loaded (/lib/systemd/system/hello.service; static)" in status.out   # no [Install]
    assert root.run("stop", "hello").rc == 0
    assert wait_for(lambda: gone(pid)) and root.run("is-active", "hello").rc == 3


def test_exec_start_pre_and_stop_with_mainpid(root):
    marks = root.marks
    unit(root, "stepper.service", """\
[Service]
Type=exec
ExecStartPre=/bin/sh -c 'echo pre >> %(m)s/steps'
ExecStart=/usr/bin/env SHIM_TEST_TAG=%(t)s sleep 1000
ExecStartPost=/bin/sh -c 'echo post >> %(m)s/steps'
ExecStop=/bin/sh -c 'echo "stop $MAINPID" >> %(m)s/steps; kill $MAINPID'
""" % {"m": marks, "t": root.tag})
    assert root.run("start", "stepper").rc == 0
    pid = main_pid(root, "stepper")
    assert root.run("stop", "stepper").rc == 0
    with open(os.path.join(marks, "steps")) as handle:
        assert handle.read().split("\n") == ["pre", "post", "stop %d" % pid, ""]
    assert wait_for(lambda: gone(pid))


def test_failing_pre_means_the_main_never_runs(root):
    unit(root, "nopre.service", """\
[Service]
ExecStartPre=/bin/false
ExecStart=/usr/bin/env SHIM_TEST_TAG=%s sleep 1000
""" % root.tag)
    r = root.run("start", "nopre")
    assert r.rc == 1 and r.err.startswith(
        "Job for nopre.service failed because the control process exited with error code.")
    assert root.tagged() == [] and root.run("is-failed", "nopre").out == "failed\n"


def test_missing_binary(root):
    unit(root, "ghost.service", "[Service]\nType=exec\nExecStart=/nonexistent/daemon --flag\n")
    r = root.run("start", "ghost")
    assert r.rc == 1 and "Job for ghost.service failed" in r.err
    assert root.run("is-failed", "ghost").out == "failed\n"


def test_oneshot_with_and_without_remain_after_exit(root):
    unit(root, "stays.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                                "ExecStart=/bin/true\nExecStart=/bin/true\n")
    unit(root, "goes.service", "[Service]\nType=oneshot\nExecStart=/bin/true\n")
    assert root.run("start", "stays", "goes").rc == 0
    assert root.run("is-active", "stays").out == "active\n"
    r = root.run("show", "-p", "ActiveState,SubState", "stays")
    assert r.lines == ["ActiveState=active", "SubState=exited"]
    assert root.run("is-active", "goes").out == "inactive\n"


def test_forking_with_pidfile(root):
    pidfile = os.path.join(root.pids, "forker.pid")
    unit(root, "forker.service", """\
[Service]
Type=forking
PIDFile=%s
ExecStart=/bin/sh -c 'SHIM_TEST_TAG=%s sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > %s'
""" % (pidfile, root.tag, pidfile))
    assert root.run("start", "forker").rc == 0
    assert main_pid(root, "forker") == root.daemon_pid("forker") == root.tagged()[0]
    assert root.run("kill", "forker").rc == 0
    assert wait_for(lambda: root.tagged() == [])


def test_user_nobody(root):
    unit(root, "asnobody.service", "[Service]\nUser=nobody\nExecStart=/usr/bin/env SHIM_TEST_TAG=%s "
                                   "sleep 1000\n" % root.tag)
    assert root.run("start", "asnobody").rc == 0
    pid = main_pid(root, "asnobody")
    with open("/proc/%d/status" % pid) as handle:
        uids = [line.split()[1:] for line in handle if line.startswith("Uid:")][0]
    assert set(uids) == {str(65534)}
    env = environ(pid)
    assert env["USER"] == env["LOGNAME"] == "nobody" and "HOME" not in env
    assert root.run("stop", "asnobody").rc == 0


def test_enable_disable_static_and_cat(root):
    path = unit(root, "web.service", "[Unit]\nDescription=Web\n[Service]\nExecStart=/bin/sleep 1\n"
                                     "[Install]\nWantedBy=multi-user.target\n")
    unit(root, "helper.service", "[Service]\nExecStart=/bin/sleep 1\n")
    assert root.run("is-enabled", "web").out == "disabled\n"
    assert root.run("is-enabled", "helper").out == "static\n"
    r = root.run("enable", "web")
    link = os.path.join(root.path, "etc/systemd/system/multi-user.target.wants/web.service")
    assert r.rc == 0 and os.readlink(link) == "/lib/systemd/system/web.service"
    assert r.err == ("Created symlink /etc/systemd/system/multi-user.target.wants/web.service "
                     "\u2192 /lib/systemd/system/web.service.\n")
    assert (root.run("is-enabled", "web").out, root.run("disable", "web").rc) == ("enabled\n", 0)
    assert not os.path.lexists(link)
    r = root.run("cat", "web")
    with open(path) as handle:
        assert r.out == "# /lib/systemd/system/web.service\n" + handle.read()
    r = root.run("list-unit-files", "--no-legend", "web.service", "helper.service")
    assert [line.split()[:2] for line in r.lines] == [["helper.service", "static"],
                                                      ["web.service", "disabled"]]


def test_bad_setting_refused(root):
    unit(root, "bad.service", "[Service]\nType=simple\n")
    r = root.run("start", "bad")
    assert (r.rc, r.err) == (1, "Failed to start bad.service: Unit bad.service has a bad unit file "
                                "setting.\nSee system logs and 'systemctl status bad.service' for details.\n")
    assert root.run("show", "-P", "LoadState", "bad").out == "bad-setting\n"
    status = root.run("status", "bad")
    assert "     Loaded: bad-setting (Reason: Unit bad.service has a bad unit file setting.)\n" \
        in status.out, status


def test_script_wins_unless_native_is_preferred(root):
    root.daemon("both")
    unit(root, "both.service", "[Service]\nExecStart=/usr/bin/env SHIM_TEST_TAG=%s sleep 1000\n" % root.tag)
    assert root.run("show", "-P", "FragmentPath", "both").out == \
        "/run/systemd/generator.late/both.service\n"
    env = root.env(SYSTEMCTL_SHIM_PREFER_NATIVE="1")
    assert root.run("show", "-P", "FragmentPath", "both", env=env).out == "/lib/systemd/system/both.service\n"
    assert root.run("start", "both", env=env).rc == 0
    assert root.calls("both") == []                           # the script never ran
    pid = int(root.run("show", "-P", "MainPID", "both", env=env).out)
    assert pid_alive(pid)
    assert root.run("stop", "both", env=env).rc == 0
