"""The execution environment of native units (issue 10, Running; unit-files.md 11 and 17):
Limit*=, Nice=, StandardOutput=/StandardError=, and the RuntimeDirectory= family.

The mapping tests need nothing; the directory tests chown to user nobody and the real runs start
commands through the anchor, so those run as root (in the suite's PID namespace, tests/run)."""

import errno
import os
import pwd
import resource
import shutil
import stat
import uuid

import pytest

from shim.backends.native import UnitFiles
from shim.context import Context
from shim.engine import execenv
from shim.proc import capture

from scripts import IN_PIDNS, wait_for

UNIT_DIR = "etc/systemd/system"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown and the anchor need root")


def load(tmp_path, body, name="x.service"):
    """The UnitConfig the real loader makes of a [Service] section."""
    path = tmp_path / "units" / UNIT_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[Service]\nExecStart=/bin/true\n" + body)
    return UnitFiles(str(tmp_path / "units")).load(name)


def limits_of(extras):
    return {number: (soft, hard) for number, soft, hard in extras["rlimits"]}


# --- Limit*= and Nice= --------------------------------------------------------------------------

def test_limits_one_value_is_soft_and_hard_and_infinity_is_unlimited(tmp_path):
    config = load(tmp_path, "LimitNOFILE=1024:4096\nLimitNPROC=100\nLimitCORE=infinity\n"
                            "LimitFSIZE=1G\nLimitRTTIME=2s\nLimitCPU=1min\n")
    got = limits_of(execenv.spawn_extras(config))
    assert got[resource.RLIMIT_NOFILE] == (1024, 4096)
    assert got[resource.RLIMIT_NPROC] == (100, 100)
    assert got[resource.RLIMIT_CORE] == (-1, -1)
    assert got[resource.RLIMIT_FSIZE] == (1 << 30, 1 << 30)
    assert got[resource.RLIMIT_RTTIME] == (2000000, 2000000)     # microseconds
    assert got[resource.RLIMIT_CPU] == (60, 60)                  # seconds


def test_the_managers_nofile_default_unless_the_unit_sets_one(tmp_path):
    # systemd 252 gives every service LimitNOFILE=524288 / LimitNOFILESoft=1024 (measured),
    # whatever the limits of whoever asked for the start.
    assert limits_of(execenv.spawn_extras(load(tmp_path, "")))[resource.RLIMIT_NOFILE] == (1024, 524288)
    assert list(limits_of(execenv.spawn_extras(load(tmp_path, ""))).keys()) == [resource.RLIMIT_NOFILE]


def test_limit_nice_takes_nice_levels_or_the_raw_value(tmp_path):
    # rlimit_parse_nice: a nice level -20..19 is 20 - level; a bare number is the raw 0..40
    assert limits_of(execenv.spawn_extras(load(tmp_path, "LimitNICE=-5\n")))[resource.RLIMIT_NICE] == (25, 25)
    assert limits_of(execenv.spawn_extras(load(tmp_path, "LimitNICE=30\n")))[resource.RLIMIT_NICE] == (30, 30)
    warnings = []
    extras = execenv.spawn_extras(load(tmp_path, "LimitNICE=41\n"), warnings.append)
    assert resource.RLIMIT_NICE not in limits_of(extras) and warnings


def test_limit_nice_with_a_plus_is_a_nice_level(tmp_path):
    assert limits_of(execenv.spawn_extras(load(tmp_path, "LimitNICE=+5\n")))[resource.RLIMIT_NICE] == (15, 15)


def test_limit_cpu_rounds_a_time_span_up(tmp_path):
    assert limits_of(execenv.spawn_extras(load(tmp_path, "LimitCPU=1500ms\n")))[resource.RLIMIT_CPU] == (2, 2)


def test_nice_and_bad_values_never_raise(tmp_path):
    assert execenv.spawn_extras(load(tmp_path, "Nice=7\n"))["nice"] == 7
    assert execenv.spawn_extras(load(tmp_path, "Nice=99\n"))["nice"] is None     # loader warned
    bad = load(tmp_path, "LimitNOFILE=lots\nStandardOutput=bogus\nStandardError=file:relative\n")
    extras = execenv.spawn_extras(bad)
    assert (extras["stdout"], extras["stderr"]) == (None, None)                 # the defaults
    assert limits_of(extras)[resource.RLIMIT_NOFILE] == (1024, 524288)


# --- StandardOutput=/StandardError= -------------------------------------------------------------

def test_the_loader_warns_about_output_settings_as_systemd(tmp_path):
    config = load(tmp_path, "StandardOutput=bogus\nStandardError=syslog\n")
    assert any(w.endswith(":3: Failed to parse output specifier, ignoring: bogus")
               for w in config.warnings), config.warnings
    assert any(w.endswith(":4: Standard output type syslog is obsolete, automatically updating to "
                          "journal. Please update your unit file, and consider removing the setting "
                          "altogether.") for w in config.warnings), config.warnings


@pytest.mark.parametrize("words, stdout, stderr", [
    ("", None, None),                                              # journal, inherit: the log
    ("StandardOutput=journal+console\n", None, None),
    ("StandardOutput=kmsg\nStandardError=syslog\n", None, None),
    ("StandardOutput=null\n", ("null", "/dev/null"), ("inherit", None)),
    ("StandardOutput=file:/var/log/x.log\n", ("file", "/var/log/x.log"), ("inherit", None)),
    ("StandardOutput=append:/var/log/x.log\nStandardError=append:/var/log/x.log\n",
     ("append", "/var/log/x.log"), ("inherit", None)),             # the same setting: one descriptor
    ("StandardOutput=file:/a\nStandardError=append:/a\n", ("file", "/a"), ("append", "/a")),
    ("StandardOutput=truncate:/a//b/\nStandardError=null\n", ("truncate", "/a/b"), ("null", "/dev/null")),
    ("StandardError=file:/err\n", None, ("file", "/err")),
    ("StandardOutput=inherit\n", ("null", "/dev/null"), ("inherit", None)),   # stdin is null
    ("StandardInput=tty\nStandardOutput=inherit\nTTYPath=/dev/tty9\n",
     ("tty", "/dev/tty9"), ("inherit", None)),
    ("StandardOutput=tty\n", ("tty", "/dev/console"), ("inherit", None)),
    ("StandardOutput=file:/a/../b\n", None, None),                 # not normalised: refused
])
def test_output_settings_map_to_the_anchors_modes(tmp_path, words, stdout, stderr):
    extras = execenv.spawn_extras(load(tmp_path, words))
    assert (extras["stdout"], extras["stderr"]) == (stdout, stderr)


def test_socket_and_fd_output_go_to_the_log_with_a_note(tmp_path):
    notes = []
    extras = execenv.spawn_extras(load(tmp_path, "StandardOutput=socket\nStandardError=fd:foo\n"),
                                  notes.append)
    assert (extras["stdout"], extras["stderr"]) == (None, None)
    assert len(notes) == 2 and "StandardOutput=socket" in notes[0] and "StandardError=fd" in notes[1]


# --- directories --------------------------------------------------------------------------------

def nobody():
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def mode_owner(path):
    info = os.lstat(path)
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


@pytest.fixture
def machine(tmp_path):
    root = tmp_path / "machine"
    root.mkdir()
    os.chmod(root, 0o755)
    return Context(root=str(root))


@as_root
def test_directories_with_their_modes_owners_and_variables(tmp_path, machine):
    uid, gid = nobody()
    config = load(tmp_path, "RuntimeDirectory=app app/sub\nRuntimeDirectoryMode=0750\n"
                            "StateDirectory=app\nStateDirectoryMode=0700\nCacheDirectory=deep/er/app\n"
                            "LogsDirectory=app\nConfigurationDirectory=app\n")
    old = os.umask(0o077)               # the caller's umask must not leak into the modes
    try:
        env = execenv.prepare_directories(machine, config, uid, gid)
    finally:
        os.umask(old)
    at = machine.path
    assert env == {"RUNTIME_DIRECTORY": "%s:%s" % (at("/run/app"), at("/run/app/sub")),
                   "STATE_DIRECTORY": at("/var/lib/app"), "CACHE_DIRECTORY": at("/var/cache/deep/er/app"),
                   "LOGS_DIRECTORY": at("/var/log/app"), "CONFIGURATION_DIRECTORY": at("/etc/app")}
    assert mode_owner(at("/run/app")) == (0o750, uid, gid)
    assert mode_owner(at("/run/app/sub")) == (0o750, uid, gid)
    assert mode_owner(at("/var/lib/app")) == (0o700, uid, gid)
    assert mode_owner(at("/var/cache/deep/er/app")) == (0o755, uid, gid)
    assert mode_owner(at("/var/cache/deep")) == (0o755, 0, 0)        # parents: root's, 0755
    assert mode_owner(at("/var/cache/deep/er")) == (0o755, 0, 0)
    assert mode_owner(at("/var/log/app")) == (0o755, uid, gid)
    # a new ConfigurationDirectory= is chowned like the others (setup_exec_directory() only
    # spares an existing one)
    assert mode_owner(at("/etc/app")) == (0o755, uid, gid)


@as_root
def test_without_user_the_directories_are_roots(tmp_path, machine):
    config = load(tmp_path, "StateDirectory=plain\n")
    os.makedirs(machine.path("/var/lib/plain/inner"))
    os.chown(machine.path("/var/lib/plain"), 4242, 4242)
    execenv.prepare_directories(machine, config, None, None)
    assert mode_owner(machine.path("/var/lib/plain")) == (0o755, 0, 0)


@as_root
def test_an_existing_tree_is_chowned_and_an_existing_configuration_left_alone(tmp_path, machine):
    uid, gid = nobody()
    state = machine.path("/var/lib/old")
    os.makedirs(state + "/inner")
    with open(state + "/inner/file", "w"):
        pass
    os.chmod(state, 0o777)
    os.symlink("/etc/passwd", state + "/link")          # chowned itself, never its target
    config_dir = machine.path("/etc/old")
    os.makedirs(config_dir)
    os.chmod(config_dir, 0o700)
    warnings = []
    execenv.prepare_directories(
        machine, load(tmp_path, "StateDirectory=old\nConfigurationDirectory=old\n"), uid, gid,
        warn=warnings.append)
    assert mode_owner(state) == (0o755, uid, gid)
    assert mode_owner(state + "/inner")[1:] == (uid, gid)
    assert mode_owner(state + "/inner/file")[1:] == (uid, gid)
    assert mode_owner(state + "/link")[1:] == (uid, gid)
    assert os.stat("/etc/passwd").st_uid == 0
    assert mode_owner(config_dir) == (0o700, 0, 0)
    assert warnings == ["ConfigurationDirectory 'old' already exists but the mode is different. "
                        "(File system: 700 ConfigurationDirectoryMode: 755)"]


@as_root
def test_symlinks_are_followed_only_inside_the_root(tmp_path, machine):
    uid, gid = nobody()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.makedirs(machine.path("/var/lib"))
    os.makedirs(machine.path("/srv/relocated"))
    # an absolute link means the root's /srv, not the host's
    os.symlink("/srv/relocated", machine.path("/var/lib/moved"))
    # a link that climbs out: '..' stops at the root
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), machine.path("/var/lib/climb"))
    execenv.prepare_directories(machine, load(tmp_path, "StateDirectory=moved climb\n"), uid, gid)
    assert mode_owner(machine.path("/srv/relocated"))[1:] == (uid, gid)
    assert mode_owner(str(outside))[1:] == (0, 0)
    assert os.path.isdir(machine.path(str(outside)))            # created inside the root instead


@as_root
def test_a_file_in_the_way_fails_with_systemds_message_and_status(tmp_path, machine):
    os.makedirs(machine.path("/run"))
    with open(machine.path("/run/taken"), "w"):
        pass
    with pytest.raises(execenv.ExecDirectoryError) as failure:
        execenv.prepare_directories(machine, load(tmp_path, "RuntimeDirectory=taken\n"), None, None)
    assert failure.value.status == 233 and failure.value.errno == errno.ENOTDIR   # an OSError
    assert failure.value.message == "Failed to set up special execution directory in /run: Not a directory"


@as_root
def test_runtime_directory_removed_on_stop_unless_preserved(tmp_path, machine):
    uid, gid = nobody()
    outside = tmp_path / "keepme"
    outside.mkdir()
    (outside / "precious").write_text("x")
    for preserve, restart_keeps, stop_keeps in (("no", False, False), ("restart", True, False),
                                                ("yes", True, True)):
        config = load(tmp_path, "RuntimeDirectory=rt/inner rt2:alias\nRuntimeDirectoryPreserve=%s\n"
                      % preserve)
        execenv.prepare_directories(machine, config, uid, gid)
        assert os.readlink(machine.path("/run/alias")) == "rt2"
        os.makedirs(machine.path("/run/rt/inner/sub"))
        os.symlink(str(outside), machine.path("/run/rt/inner/sub/out"))
        execenv.remove_runtime_directories(machine, config, restarting=True)
        assert os.path.isdir(machine.path("/run/rt/inner")) == restart_keeps, preserve
        execenv.remove_runtime_directories(machine, config)
        assert os.path.isdir(machine.path("/run/rt/inner")) == stop_keeps, preserve
        assert os.path.isdir(machine.path("/run/rt"))               # the parent is not the unit's
        assert os.path.lexists(machine.path("/run/alias")) == stop_keeps
        assert (outside / "precious").read_text() == "x"            # links are never followed
        execenv.remove_runtime_directories(machine, load(tmp_path, "RuntimeDirectory=rt rt2\n"))


@as_root
@pytest.mark.skipif(not IN_PIDNS, reason="writes the machine's /run: only the suite's private one")
def test_on_the_machine_itself_the_directories_are_the_real_ones(tmp_path):
    ctx = Context(root="/")
    name = "shim-test-" + uuid.uuid4().hex[:8]
    config = load(tmp_path, "RuntimeDirectory=%s/inner\n" % name)
    try:
        env = execenv.prepare_directories(ctx, config, *nobody())
        assert env == {"RUNTIME_DIRECTORY": "/run/%s/inner" % name}
        assert mode_owner("/run/%s/inner" % name) == (0o755,) + nobody()
        execenv.remove_runtime_directories(ctx, config)
        assert not os.path.exists("/run/%s/inner" % name) and os.path.isdir("/run/" + name)
    finally:
        shutil.rmtree("/run/" + name, ignore_errors=True)


# --- real runs: the anchor applies what spawn_extras says ---------------------------------------

def run(tmp_path, config, script, credentials=None):
    """`sh -c script` through the anchor with this unit's spawn keys; (exit code, log text)."""
    log = tmp_path / ("log-" + uuid.uuid4().hex)
    extras = execenv.spawn_extras(config)
    extras.update(credentials or {})
    result = capture.run_captured(["/bin/sh", "-c", script], env={"PATH": "/usr/bin:/bin"},
                                  invocation_id=uuid.uuid4().hex, log_path=str(log), timeout=20,
                                  credentials=extras)
    return result.returncode, (log.read_text() if log.exists() else "")


def proc_limits(text, label):
    for line in text.splitlines():
        if line.startswith(label):
            return line[len(label):].split()[:2]
    raise AssertionError("no %r in %r" % (label, text))


@as_root
def test_limits_and_nice_are_applied_to_the_command(tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    below = min(4096, hard if hard != -1 else 4096)
    config = load(tmp_path, "LimitNOFILE=512:%d\nLimitCORE=infinity\nLimitNPROC=777\nNice=7\n" % below)
    code, out = run(tmp_path, config, "cat /proc/self/limits; echo nice=$(nice)")
    assert code == 0, out
    assert proc_limits(out, "Max open files") == ["512", str(below)]
    assert proc_limits(out, "Max core file size") == ["unlimited", "unlimited"]
    assert proc_limits(out, "Max processes") == ["777", "777"]
    assert "nice=7" in out


@as_root
def test_the_nofile_default_is_applied_as_closely_as_the_kernel_allows(tmp_path):
    # 1024:524288; where the hard limit cannot be raised that far (no CAP_SYS_RESOURCE, or
    # fs.nr_open lower), systemd's setrlimit_closest() settles for the current hard limit.
    code, out = run(tmp_path, load(tmp_path, ""), "cat /proc/self/limits")
    assert code == 0, out
    soft, hard = proc_limits(out, "Max open files")
    assert soft == "1024" and int(hard) <= 524288 and int(hard) >= 1024


@as_root
def test_file_output_writes_from_the_start_without_truncating(tmp_path):
    target = tmp_path / "out"
    config = load(tmp_path, "StandardOutput=file:%s\n" % target)
    assert run(tmp_path, config, "echo aaaaaa")[0] == 0
    code, log = run(tmp_path, config, "echo b; echo e >&2")
    assert code == 0 and log == ""
    # b and e share stdout's descriptor (one offset); the old line's tail is still there
    assert target.read_text() == "b\ne\naa\n"


@as_root
def test_append_and_truncate_output(tmp_path):
    appended, truncated = tmp_path / "appended", tmp_path / "truncated"
    config = load(tmp_path, "StandardOutput=append:%s\nStandardError=truncate:%s\n" % (appended, truncated))
    for word in ("one", "two"):
        assert run(tmp_path, config, "echo %s; echo err-%s >&2" % (word, word))[0] == 0
    assert appended.read_text() == "one\ntwo\n"
    assert truncated.read_text() == "err-two\n"


@as_root
def test_null_output_and_the_default_log(tmp_path):
    code, log = run(tmp_path, load(tmp_path, "StandardOutput=null\n"), "echo hidden; echo gone >&2")
    assert (code, log) == (0, "")
    code, log = run(tmp_path, load(tmp_path, "StandardOutput=null\nStandardError=journal\n"),
                    "echo hidden; echo shown >&2")
    assert code == 0 and "shown" in log and "hidden" not in log
    code, log = run(tmp_path, load(tmp_path, ""), "echo visible; echo also >&2")
    assert code == 0 and "visible" in log and "also" in log


@as_root
def test_output_file_is_opened_before_the_user_change(tmp_path):
    # /root-owned directory, 0700: only root can create the file; the command runs as nobody
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    uid, gid = nobody()
    config = load(tmp_path, "StandardOutput=file:%s/out\n" % private)
    code, _ = run(tmp_path, config, "id -u", credentials={"uid": uid, "gid": gid, "groups": []})
    assert code == 0
    assert (private / "out").read_text() == "%d\n" % uid


# --- end to end: systemctl start/stop of a unit file --------------------------------------------

def unit_file(root, name, text):
    path = os.path.join(root.path, "lib", "systemd", "system", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def main_pid(root, name):
    return int(root.run("show", "-P", "MainPID", name).out or 0)


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as handle:
        return dict(item.decode().split("=", 1) for item in handle.read().split(b"\0") if b"=" in item)


@as_root
def test_a_service_gets_its_directories_limits_and_nice(root):
    uid, gid = nobody()
    marks = root.marks
    os.chmod(marks, 0o777)                  # ExecStartPre= writes here as nobody
    unit_file(root, "dirs.service", """\
[Service]
User=nobody
RuntimeDirectory=dirs
StateDirectory=dirs
StateDirectoryMode=0700
LimitNOFILE=512:2048
Nice=5
ExecStartPre=/bin/sh -c 'test -d "$RUNTIME_DIRECTORY" && echo "pre $(id -u)" > %(m)s/pre'
ExecStartPre=+/bin/sh -c 'echo "$STATE_DIRECTORY $(id -u)" > %(m)s/plus'
ExecStart=/usr/bin/env SHIM_TEST_TAG=%(t)s sleep 1000
""" % {"m": marks, "t": root.tag})
    r = root.run("start", "dirs")
    assert (r.rc, r.err) == (0, ""), str(r) + root.run("status", "dirs").out
    run_dir, state_dir = os.path.join(root.path, "run", "dirs"), os.path.join(root.path, "var/lib/dirs")
    assert mode_owner(run_dir) == (0o755, uid, gid) and mode_owner(state_dir) == (0o700, uid, gid)
    with open(os.path.join(marks, "pre")) as pre, open(os.path.join(marks, "plus")) as plus:
        assert pre.read() == "pre %d\n" % uid                 # existed before ExecStartPre=
        assert plus.read() == "%s 0\n" % state_dir            # '+': root, same variables
    pid = main_pid(root, "dirs")
    env = environ(pid)
    assert (env["RUNTIME_DIRECTORY"], env["STATE_DIRECTORY"]) == (run_dir, state_dir)
    with open("/proc/%d/limits" % pid) as handle:
        assert proc_limits(handle.read(), "Max open files") == ["512", "2048"]
    with open("/proc/%d/stat" % pid) as handle:
        assert handle.read().rsplit(")", 1)[1].split()[16] == "5"      # field 19: nice
    assert root.run("stop", "dirs").rc == 0
    assert not os.path.exists(run_dir) and os.path.isdir(state_dir)   # only the runtime one goes


@as_root
def test_runtime_directory_preserve_restart_keeps_it_over_a_restart(root):
    unit_file(root, "keep.service", """\
[Service]
RuntimeDirectory=keep
RuntimeDirectoryPreserve=restart
ExecStart=/usr/bin/env SHIM_TEST_TAG=%s sleep 1000
""" % root.tag)
    run_dir = os.path.join(root.path, "run", "keep")
    assert root.run("start", "keep").rc == 0
    with open(os.path.join(run_dir, "socket"), "w"):
        pass
    assert root.run("restart", "keep").rc == 0
    assert os.path.exists(os.path.join(run_dir, "socket"))
    assert root.run("stop", "keep").rc == 0
    assert not os.path.exists(run_dir)


@as_root
def test_a_service_writes_to_its_output_file(root):
    out = os.path.join(root.marks, "out.log")
    unit_file(root, "writer.service", """\
[Service]
Type=oneshot
StandardOutput=append:%s
ExecStart=/bin/sh -c 'echo to-out; echo to-err >&2'
""" % out)
    for _ in range(2):
        assert root.run("start", "writer").rc == 0
    with open(out) as handle:
        assert handle.read() == "to-out\nto-err\n" * 2
    assert "]: to-out" not in root.run("status", "writer").out    # not in the unit's log


@as_root
def test_a_directory_in_the_way_fails_the_start_with_systemds_status(root):
    os.makedirs(os.path.join(root.path, "run"), exist_ok=True)
    with open(os.path.join(root.path, "run", "blocked"), "w"):
        pass
    unit_file(root, "blocked.service", """\
[Service]
Type=oneshot
RuntimeDirectory=blocked
ExecStart=/bin/true
""")
    r = root.run("start", "blocked")
    assert r.rc == 1 and "Job for blocked.service failed" in r.err, str(r)
    # the command that could not run exits 233: failed (Result: exit-code), not 'resources'
    assert "because the control process exited with error code" in r.err, str(r)
    status = root.run("status", "blocked")
    assert "Active: failed (Result: exit-code)" in status.out, status.out
    assert "status=233/RUNTIME_DIRECTORY" in status.out, status.out


@as_root
def test_stop_commands_see_the_directory_variables_too(root):
    marks = root.marks
    unit_file(root, "stopper.service", """\
[Service]
RuntimeDirectory=stopper
ExecStart=/usr/bin/env SHIM_TEST_TAG=%(t)s sleep 1000
ExecStop=/bin/sh -c 'echo "stop $RUNTIME_DIRECTORY" >> %(m)s/seen; kill $MAINPID'
ExecStopPost=/bin/sh -c 'test -d "$RUNTIME_DIRECTORY" && echo "post $RUNTIME_DIRECTORY" >> %(m)s/seen'
""" % {"m": marks, "t": root.tag})
    assert root.run("start", "stopper").rc == 0
    assert root.run("stop", "stopper").rc == 0
    run_dir = os.path.join(root.path, "run", "stopper")
    with open(os.path.join(marks, "seen")) as handle:
        # ExecStopPost= still finds the directory: it goes once the unit is dead
        assert handle.read() == "stop %s\npost %s\n" % (run_dir, run_dir)
    assert not os.path.exists(run_dir)


@as_root
def test_the_shims_own_state_directory_is_never_a_units(tmp_path, machine):
    state = machine.state_dir                       # <root>/run/systemctl-shim
    os.makedirs(state)
    config = load(tmp_path, "RuntimeDirectory=systemctl-shim\n")
    with pytest.raises(execenv.ExecDirectoryError) as failure:
        execenv.prepare_directories(machine, config, *nobody())
    assert failure.value.status == 233
    execenv.remove_runtime_directories(machine, config)
    assert mode_owner(state)[1:] == (0, 0)


@as_root
def test_runtime_directory_preserve_restart_keeps_it_over_an_automatic_restart(root):
    result = os.path.join(root.marks, "result")
    script = os.path.join(root.marks, "again.sh")
    with open(script, "w") as handle:         # fails once, then finds what the first run left
        handle.write('if [ -e "$RUNTIME_DIRECTORY/seen" ]; then echo kept > %s\n'
                     '  exec /usr/bin/env SHIM_TEST_TAG=%s sleep 1000\nfi\n'
                     'touch "$RUNTIME_DIRECTORY/seen"; sleep 0.5; exit 1\n' % (result, root.tag))
    unit_file(root, "again.service", """\
[Service]
RuntimeDirectory=again
RuntimeDirectoryPreserve=restart
Restart=on-failure
ExecStart=/bin/sh %s
""" % script)
    assert root.run("start", "again").rc == 0
    try:
        assert wait_for(lambda: os.path.exists(result), timeout=4), root.run("status", "again").out
    finally:
        root.run("stop", "again")
    assert not os.path.exists(os.path.join(root.path, "run", "again"))


@as_root
def test_a_simple_service_whose_directory_fails_is_started_then_failed(root):
    os.makedirs(os.path.join(root.path, "run"), exist_ok=True)
    with open(os.path.join(root.path, "run", "blocked"), "w"):
        pass
    unit_file(root, "sblocked.service", "[Service]\nRuntimeDirectory=blocked\nExecStart=/bin/sleep 100\n")
    r = root.run("start", "sblocked")
    assert (r.rc, r.err) == (0, ""), str(r)       # simple: the job is done once forked
    status = root.run("status", "sblocked")
    assert "Active: failed (Result: exit-code)" in status.out, status.out
    assert "(code=exited, status=233/RUNTIME_DIRECTORY)" in status.out, status.out
    assert "sblocked.service: Failed to set up special execution directory in /run: Not a directory" \
        in status.out, status.out


# --- found while testing the above (the runner's, not execenv's) --------------------------------

@as_root
def test_a_simple_service_that_exits_at_once_is_failed(root):
    unit_file(root, "quick.service", "[Service]\nExecStart=/bin/sh -c 'exit 1'\n")
    assert root.run("start", "quick").rc == 0
    status = wait_for(lambda: (lambda s: s if "failed" in s.out else None)(root.run("status", "quick")),
                      timeout=3)
    assert status and "Active: failed (Result: exit-code)" in status.out
    assert "Main PID:" in status.out and "(code=exited, status=1/FAILURE)" in status.out
