"""Loading native unit files from a temporary tree (unit-files.md 1-7, 12-14)."""

import os
import time

import pytest

from shim.backends import unitparse
from shim.backends.native import UnitFiles
from shim.core.config import INFINITY, USEC

ETC = "etc/systemd/system"
RUN = "run/systemd/system"
LOCAL = "usr/local/lib/systemd/system"
LIB = "lib/systemd/system"
USR = "usr/lib/systemd/system"


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path)

    def write(rel, text):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def link(rel, target):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    tree.root, tree.write, tree.link = root, write, link
    for d in (ETC, RUN, LOCAL, LIB, USR):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    return tree


def files(tree):
    return UnitFiles(tree.root)


SIMPLE = "[Service]\nExecStart=/bin/sleep 1000\n"


# --- search path and names ----------------------------------------------------------------------

def test_precedence(tree):
    for d in (USR, LOCAL, RUN, ETC):
        tree.write(d + "/prec.service", "[Unit]\nDescription=%s\n" % d + SIMPLE)
    u = files(tree)
    assert u.load("prec.service").fragment_path == "/etc/systemd/system/prec.service"
    os.unlink(os.path.join(tree.root, ETC, "prec.service"))
    u.reload()
    assert u.load("prec.service").fragment_path == "/run/systemd/system/prec.service"
    os.unlink(os.path.join(tree.root, RUN, "prec.service"))
    u.reload()
    assert u.load("prec.service").description == LOCAL


def test_lib_before_usr_lib(tree):
    tree.write(USR + "/x.service", SIMPLE)
    tree.write(LIB + "/x.service", "[Unit]\nDescription=lib\n" + SIMPLE)
    assert files(tree).load("x.service").description == "lib"


def test_merged_usr_dedup(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, USR))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    with open(os.path.join(root, USR, "m.service"), "w") as f:
        f.write(SIMPLE)
    u = UnitFiles(root)
    assert u.load("m.service").fragment_path == "/lib/systemd/system/m.service"
    assert u.unit_dirs().count("/usr/lib/systemd/system") == 0


def test_alias_symlink(tree):
    tree.write(LIB + "/prec.service", SIMPLE)
    tree.link(ETC + "/alias1.service", "/lib/systemd/system/prec.service")
    u = files(tree)
    c = u.load("alias1.service")
    assert c.id == "prec.service"
    assert c.names == ("prec.service", "alias1.service")
    assert u.find("prec.service").names == ("prec.service", "alias1.service")
    assert "alias1.service" in u.all()


def test_relative_alias_symlink_in_vendor_dir(tree):
    tree.write(LIB + "/rsyslog.service", SIMPLE)
    tree.link(LIB + "/syslog.service", "rsyslog.service")
    assert files(tree).find("syslog.service").id == "rsyslog.service"


def test_masks(tree):
    tree.write(LIB + "/x.service", SIMPLE)
    tree.link(ETC + "/x.service", "/dev/null")
    tree.write(ETC + "/empty.service", "")
    u = files(tree)
    c = u.load("x.service")
    assert c.load_state == "masked" and c.load_error == "Unit x.service is masked."
    assert u.load("empty.service").load_state == "masked"
    assert u.cat("x.service") == "# Unit x.service is masked.\n"
    assert u.find("x.service").masked


def test_not_found(tree):
    u = files(tree)
    c = u.load("nosuch.service")
    assert c.load_state == "not-found" and c.load_error == "Unit nosuch.service not found."
    assert u.find("nosuch.service") is None
    assert u.cat("nosuch.service") is None


def test_templates_and_instances(tree):
    tree.write(LIB + "/tpl@.service",
               "[Unit]\nDescription=T %i\n[Service]\nType=oneshot\n"
               "ExecStart=/bin/echo %n %N %p %i %I %f %j %J %%\n"
               "[Install]\nDefaultInstance=def\nWantedBy=multi-user.target\n")
    u = files(tree)
    c = u.load("tpl@foo-bar.service")
    assert c.load_state == "loaded"
    assert c.id == "tpl@foo-bar.service"
    assert c.fragment_path == "/lib/systemd/system/tpl@.service"
    assert c.description == "T foo-bar"
    assert c.exec_start[0].argv[1:] == ("tpl@foo-bar.service", "tpl@foo-bar", "tpl", "foo-bar",
                                        "foo/bar", "/foo/bar", "tpl", "tpl", "%")
    assert c.default_instance == "def" and c.wanted_by == ("multi-user.target",)
    c = u.load("tpl@a\\x2db-c.service")
    assert c.exec_start[0].argv[5:7] == ("a-b/c", "/a-b/c")
    assert "tpl@.service" in u.all()
    t = u.find("tpl@.service")
    assert t.is_template
    assert u.load("tpl@.service").load_error == \
        "Unit name tpl@.service is missing the instance name."
    assert u.find("tpl.service") is None


def test_instance_file_wins_over_template(tree):
    tree.write(LIB + "/tpl@.service", SIMPLE)
    tree.write(ETC + "/tpl@x.service", "[Unit]\nDescription=own\n" + SIMPLE)
    assert files(tree).load("tpl@x.service").description == "own"


def test_unresolvable_specifier_is_bad_setting(tree):
    tree.write(LIB + "/tpl@.service", "[Service]\nExecStart=/bin/echo %f\n")
    c = files(tree).load("tpl@-some-path.service")
    assert c.load_state == "bad-setting"
    assert c.load_error.startswith("Failed to resolve unit specifiers in")
    tree.write(LIB + "/badspec@.service", "[Service]\nExecStart=/bin/echo %X\n")
    c = files(tree).load("badspec@a.service")
    assert c.load_state == "bad-setting"
    assert c.load_error == "Failed to resolve unit specifiers in %X: Invalid slot"
    assert "/lib/systemd/system/badspec@.service:2: Failed to resolve unit specifiers in " \
           "%X: Invalid slot" in c.warnings
    tree.write(LIB + "/okspec@.service", "[Service]\nExecStart=/bin/true\nExecStartPre=-/bin/echo %X\n")
    c = files(tree).load("okspec@a.service")
    assert c.load_state == "loaded" and c.exec_start_pre == ()


# --- drop-ins -------------------------------------------------------------------------------------

def test_dropin_order_and_precedence(tree):
    tree.write(LIB + "/dd.service", "[Unit]\nDescription=base\n" + SIMPLE)
    tree.write(USR + "/dd.service.d/10-x.conf", "[Unit]\nDescription=usr\n")
    tree.write(ETC + "/dd.service.d/10-x.conf", "[Unit]\nDescription=etc\n")
    tree.write(ETC + "/dd.service.d/05-y.conf", "[Service]\nEnvironment=Y=1\n")
    tree.write(ETC + "/service.d/50-top.conf", "[Service]\nEnvironment=TOP=1\n")
    tree.write(RUN + "/dd.service.d/99-run.conf", "[Service]\nEnvironment=RUN=1\n")
    tree.write(ETC + "/dd.service.d/30-z.conf.disabled", "[Unit]\nDescription=no\n")
    c = files(tree).load("dd.service")
    assert c.dropin_paths == ("/etc/systemd/system/dd.service.d/05-y.conf",
                              "/etc/systemd/system/dd.service.d/10-x.conf",
                              "/etc/systemd/system/service.d/50-top.conf",
                              "/run/systemd/system/dd.service.d/99-run.conf")
    assert c.description == "etc"
    assert c.environment == ("Y=1", "TOP=1", "RUN=1")


def test_dash_prefix_dropins(tree):
    tree.write(LIB + "/dd-foo-bar.service", SIMPLE)
    tree.write(ETC + "/dd-.service.d/50-dash.conf", "[Unit]\nDescription=a\n")
    tree.write(ETC + "/dd-foo-.service.d/50-dash2.conf", "[Unit]\nDescription=b\n")
    tree.write(ETC + "/service.d/50-top.conf", "")
    c = files(tree).load("dd-foo-bar.service")
    assert [os.path.relpath(p, "/etc/systemd/system") for p in c.dropin_paths] == \
        ["dd-.service.d/50-dash.conf", "dd-foo-.service.d/50-dash2.conf", "service.d/50-top.conf"]
    assert c.description == "b"


def test_template_dropins_apply_to_instances(tree):
    tree.write(LIB + "/tpl@.service", SIMPLE)
    tree.write(ETC + "/tpl@.service.d/a.conf", "[Unit]\nDescription=tpl\n")
    tree.write(ETC + "/tpl@x.service.d/b.conf", "[Unit]\nDescription=inst\n")
    u = files(tree)
    assert u.load("tpl@x.service").description == "inst"
    assert u.load("tpl@y.service").description == "tpl"
    assert len(u.load("tpl@x.service").dropin_paths) == 2


def test_alias_dropins(tree):
    tree.write(LIB + "/real.service", SIMPLE)
    tree.link(LIB + "/other.service", "real.service")
    tree.write(ETC + "/other.service.d/a.conf", "[Unit]\nDescription=via alias\n")
    assert files(tree).load("real.service").description == "via alias"


def test_dropin_masked_by_dev_null(tree):
    tree.write(LIB + "/dd.service", "[Unit]\nDescription=base\n" + SIMPLE)
    tree.write(LIB + "/dd.service.d/10-x.conf", "[Unit]\nDescription=vendor\n")
    tree.link(ETC + "/dd.service.d/10-x.conf", "/dev/null")
    c = files(tree).load("dd.service")
    assert c.description == "base"
    assert c.dropin_paths == ("/etc/systemd/system/dd.service.d/10-x.conf",)


def test_empty_assignment_resets(tree):
    tree.write(LIB + "/dd.service", "[Service]\nExecStart=/bin/sleep 1\nEnvironment=A=1 B=2\n")
    tree.write(ETC + "/dd.service.d/10.conf",
               "[Service]\nEnvironment=\nEnvironment=ONLY=1\nExecStart=\nExecStart=/bin/sleep 2000\n")
    tree.write(ETC + "/dd.service.d/20.conf", "[Service]\nEnvironment=RUN=1\n")
    c = files(tree).load("dd.service")
    assert c.environment == ("ONLY=1", "RUN=1")
    assert [x.argv for x in c.exec_start] == [("/bin/sleep", "2000")]
    assert c.load_state == "loaded"


def test_second_execstart_is_bad_setting(tree):
    tree.write(LIB + "/dd.service", SIMPLE)
    tree.write(ETC + "/dd.service.d/10.conf", "[Service]\nExecStart=/bin/sleep 2000\n")
    c = files(tree).load("dd.service")
    assert c.load_state == "bad-setting"
    assert c.load_error == "Service has more than one ExecStart= setting, which is only allowed " \
                           "for Type=oneshot services. Refusing."
    assert "dd.service: Unit configuration has fatal error, unit will not be started." in c.warnings


def test_install_in_dropin_ignored(tree):
    tree.write(LIB + "/i.service", SIMPLE + "[Install]\nWantedBy=multi-user.target\n")
    tree.write(ETC + "/i.service.d/x.conf", "[Install]\nWantedBy=graphical.target\n")
    assert files(tree).load("i.service").wanted_by == ("multi-user.target",)


# --- syntax ---------------------------------------------------------------------------------------

def test_syntax_measured(tree):
    tree.write(LIB + "/syn.service",
               "\ufeff# comment\n; comment\n[Unit]\nDescription=Line one \\\n  continued\n"
               "[Service]\nExecStart=/bin/echo a \\\n# comment inside continuation\n  b\n"
               "NoEquals\n"
               "RemainAfterExit=maybe\nRestartSec=5x\nType=bogus\n"
               "UnknownKey=1\n[Bogus]\nFoo=1\n[X-Mine]\nBar=1\n")
    c = files(tree).load("syn.service")
    assert c.load_state == "loaded"
    assert c.description == "Line one    continued"
    assert c.exec_start[0].argv == ("/bin/echo", "a", "b")
    assert c.type == "simple" and c.remain_after_exit is False
    assert c.restart_usec == 100000
    p = "/lib/systemd/system/syn.service"
    w = c.warnings
    assert p + ":10: Missing '=', ignoring line." in w
    assert p + ":11: Failed to parse boolean value, ignoring: maybe" in w
    assert p + ":12: Failed to parse sec value, ignoring: 5x" in w
    assert p + ":14: Unknown key 'UnknownKey' in section [Service], ignoring." in w
    assert p + ":15: Unknown section 'Bogus'. Ignoring." in w
    assert not any("X-Mine" in x or "Foo" in x or "Bar" in x for x in w)


def test_timespans():
    assert unitparse.parse_timespan("5min 20s") == 320 * USEC
    assert unitparse.parse_timespan("90") == 90 * USEC
    assert unitparse.parse_timespan("1h2m3s4ms") == (3723 * USEC + 4000)
    assert unitparse.parse_timespan("1.5") == 1500000
    assert unitparse.parse_timespan("2d") == 2 * 86400 * USEC
    assert unitparse.parse_timespan("200ms") == 200000
    assert unitparse.parse_timespan("infinity") == INFINITY
    for bad in ("5x", "", "ms"):
        with pytest.raises(ValueError):
            unitparse.parse_timespan(bad)


def test_booleans():
    for yes in ("1", "yes", "y", "true", "t", "on", "YES", "On"):
        assert unitparse.parse_boolean(yes) is True
    for no in ("0", "no", "n", "false", "f", "off"):
        assert unitparse.parse_boolean(no) is False


# --- [Service] settings ---------------------------------------------------------------------------

def test_lifecycle_settings(tree):
    tree.write(LIB + "/l.service", """[Unit]
StartLimitIntervalSec=20
StartLimitBurst=3
[Service]
Type=notify
ExecStart=/usr/sbin/sshd -D $SSHD_OPTS
ExecReload=/usr/sbin/sshd -t
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=90
TimeoutSec=7
TimeoutStopSec=1.5
KillMode=mixed
KillSignal=SIGUSR1
RestartKillSignal=HUP
FinalKillSignal=QUIT
SendSIGHUP=true
SendSIGKILL=off
GuessMainPID=0
SuccessExitStatus=143 3 SIGUSR1 TEMPFAIL
RestartPreventExitStatus=3
RestartForceExitStatus=SIGKILL 7
""")
    c = files(tree).load("l.service")
    assert c.load_state == "loaded", c.warnings
    assert c.type == "notify" and c.notify_access == "main"
    assert c.restart == "on-failure" and c.restart_usec == 90 * USEC
    assert c.timeout_start_usec == 7 * USEC and c.timeout_stop_usec == 1500000
    assert c.timeout_abort_usec == 1500000
    assert c.kill_mode == "mixed" and c.kill_signal == 10
    assert c.restart_kill_signal == 1 and c.final_kill_signal == 3
    assert c.send_sighup is True and c.send_sigkill is False and c.guess_main_pid is False
    assert c.success_exit_status == (143, 3, 75) and c.success_exit_signals == (10,)
    assert c.restart_prevent_exit_status == (3,)
    assert c.restart_force_exit_status == (7,) and c.restart_force_exit_signals == (9,)
    assert c.start_limit_interval_usec == 20 * USEC and c.start_limit_burst == 3
    assert len(c.exec_reload) == 2
    assert c.exec_start[0].argv == ("/usr/sbin/sshd", "-D", "$SSHD_OPTS")


def test_defaults(tree):
    tree.write(LIB + "/d.service", SIMPLE)
    c = files(tree).load("d.service")
    assert c.type == "simple" and c.notify_access == "none"
    assert c.timeout_start_usec == 90 * USEC and c.timeout_abort_usec == 90 * USEC
    assert c.start_limit_interval_usec == 10 * USEC and c.start_limit_burst == 5
    assert c.umask == 0o022 and c.restart_usec == 100000
    assert c.standard_output == "journal" and c.standard_error == "inherit"
    assert c.description == ""


def test_oneshot_default_and_timeout(tree):
    tree.write(LIB + "/o.service", "[Service]\nExecStop=/bin/true\nRemainAfterExit=yes\n")
    c = files(tree).load("o.service")
    assert c.type == "oneshot" and c.timeout_start_usec == INFINITY and c.load_state == "loaded"
    tree.write(LIB + "/o2.service", "[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n")
    c = files(tree).load("o2.service")
    assert c.load_state == "loaded" and len(c.exec_start) == 2


def test_timeout_zero_is_infinity(tree):
    tree.write(LIB + "/t.service", SIMPLE + "TimeoutStopSec=0\nTimeoutStartSec=infinity\n")
    c = files(tree).load("t.service")
    assert c.timeout_stop_usec == INFINITY and c.timeout_start_usec == INFINITY


def test_bad_settings(tree):
    cases = {
        "noexec.service": ("[Service]\nType=simple\n",
                           "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing."),
        "nostart.service": ("[Service]\nType=simple\nExecStop=/bin/true\n",
                            "Service has no ExecStart= setting, which is only allowed for "
                            "Type=oneshot services. Refusing."),
        "dbus.service": ("[Service]\nType=dbus\nExecStart=/bin/true\n",
                         "Service is of type D-Bus but no D-Bus service name has been specified. "
                         "Refusing."),
        "rel.service": ("[Service]\nExecStart=bin/foo\n",
                        "Neither a valid executable name nor an absolute path: bin/foo"),
        "wd.service": ("[Service]\nExecStart=/bin/true\nWorkingDirectory=relative/dir\n",
                       "WorkingDirectory= path is not absolute: relative/dir"),
        "rae.service": ("[Service]\nType=oneshot\nExecStop=/bin/true\n",
                        "Service has no ExecStart= and no SuccessAction= settings and does not "
                        "have RemainAfterExit=yes set. Refusing."),
        "os.service": ("[Service]\nType=oneshot\nExecStart=/bin/true\nRestart=always\n",
                       "Service has Restart= set to either always or on-success, which isn't "
                       "allowed for Type=oneshot services. Refusing."),
    }
    for name, (text, _) in cases.items():
        tree.write(LIB + "/" + name, text)
    u = files(tree)
    for name, (_, message) in cases.items():
        c = u.load(name)
        assert (c.load_state, c.load_error) == ("bad-setting", message), name


def test_busname_makes_dbus(tree):
    tree.write(LIB + "/b.service", "[Service]\nBusName=org.example\nExecStart=/bin/true\n")
    assert files(tree).load("b.service").type == "dbus"


def test_exec_settings(tree):
    tree.write(LIB + "/e.service", r"""[Service]
ExecStart=/bin/true
User=redis
Group=redis
SupplementaryGroups=adm wheel
WorkingDirectory=-/nonexistent
UMask=0077
RuntimeDirectory=redis sub/dir
StateDirectory=redis
LogsDirectory=redis
LimitNOFILE=1024:4096
LimitCORE=infinity
LimitNPROC=100
LimitAS=1G
Nice=-5
StandardOutput=append:/var/log/x.log
StandardError=null
PIDFile=pidrel.pid
Environment="X=with space" Y=plain 'Z=single q' W=a\x41b
EnvironmentFile=-/etc/default/ssh
EnvironmentFile=/etc/default/other
PassEnvironment=container TERM
UnsetEnvironment=Z
PrivateTmp=yes
ProtectSystem=strict
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
""")
    c = files(tree).load("e.service")
    assert c.load_state == "loaded"
    assert c.warnings == ()
    assert (c.user, c.group, c.supplementary_groups) == ("redis", "redis", ("adm", "wheel"))
    assert c.working_directory == "/nonexistent" and c.working_directory_optional
    assert c.umask == 0o077
    assert c.runtime_directory == ("redis", "sub/dir")
    assert c.state_directory == ("redis",) and c.logs_directory == ("redis",)
    assert c.limits["NOFILE"] == (1024, 4096) and c.limits["CORE"] == (INFINITY, INFINITY)
    assert c.limits["NPROC"] == (100, 100) and c.limits["AS"] == (2 ** 30, 2 ** 30)
    assert c.nice == -5
    assert c.standard_output == "append:/var/log/x.log" and c.standard_error == "null"
    assert c.pid_file == "/run/pidrel.pid"
    assert c.environment == ("X=with space", "Y=plain", "Z=single q", "W=aAb")
    assert c.environment_files == (("/etc/default/ssh", True), ("/etc/default/other", False))
    assert c.pass_environment == ("container", "TERM") and c.unset_environment == ("Z",)
    assert ("ProtectSystem", "strict") in c.sandboxing


def test_working_directory_home(tree):
    tree.write(LIB + "/h.service", SIMPLE + "WorkingDirectory=~\n")
    c = files(tree).load("h.service")
    assert c.working_directory == "~" and c.working_directory_home


def test_start_limit_interval_sec_in_service_is_unknown(tree):
    tree.write(LIB + "/s.service", SIMPLE + "StartLimitIntervalSec=5\nStartLimitInterval=7\n")
    c = files(tree).load("s.service")
    assert "/lib/systemd/system/s.service:3: Unknown key 'StartLimitIntervalSec' in section " \
           "[Service], ignoring." in c.warnings
    assert c.start_limit_interval_usec == 7 * USEC


def test_unit_section_and_conditions(tree):
    tree.write(LIB + "/u.service", """[Unit]
Description=desc %n
Documentation=man:foo(8) https://example.org foo:bar
Requires=b.service
Wants=c.service d.service
After=b.service network.target
Before=shutdown.target
Conflicts=e.service
PartOf=p.service
BindsTo=q.service
OnFailure=f.service
DefaultDependencies=no
ConditionPathExists=|/nonexistent
ConditionPathExists=|/etc
ConditionFileNotEmpty=!/nonexistent
ConditionPathExists=relative
ConditionVirtualization=container
AssertPathExists=/etc
ConditionFoo=1
[Service]
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
RequiredBy=graphical.target
Alias=u-alias.service
Also=u-also.service
""")
    c = files(tree).load("u.service")
    assert c.description == "desc u.service"
    assert c.documentation == ("man:foo(8)", "https://example.org")
    assert c.requires == ("b.service",) and c.wants == ("c.service", "d.service")
    assert c.after == ("b.service", "network.target") and c.before == ("shutdown.target",)
    assert c.conflicts == ("e.service",) and c.part_of == ("p.service",)
    assert c.binds_to == ("q.service",) and c.on_failure == ("f.service",)
    assert c.default_dependencies is False
    assert c.conditions == (("PathExists", False, True, "/nonexistent"),
                            ("PathExists", False, True, "/etc"),
                            ("FileNotEmpty", True, False, "/nonexistent"),
                            ("Virtualization", False, False, "container"))
    assert c.asserts == (("PathExists", False, False, "/etc"),)
    assert "/lib/systemd/system/u.service:16: ConditionPathExists= path is not absolute, " \
           "ignoring: relative" in c.warnings
    assert any("Unknown key 'ConditionFoo' in section [Unit]" in w for w in c.warnings)
    assert "/lib/systemd/system/u.service:3: Invalid URL, ignoring: foo:bar" in c.warnings
    assert c.wanted_by == ("multi-user.target",) and c.required_by == ("graphical.target",)
    assert c.alias == ("u-alias.service",) and c.also == ("u-also.service",)


def test_killmode_none_warning_and_nobody(tree):
    tree.write(LIB + "/k.service", SIMPLE + "KillMode=none\nUser=nobody\n")
    c = files(tree).load("k.service")
    assert any("Unit uses KillMode=none" in w for w in c.warnings)
    assert "k.service: Special user nobody configured, this is not safe!" in c.warnings


def test_home_specifier_uses_root_passwd(tree):
    tree.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
               "redis:x:100:100::/var/lib/redis:/usr/sbin/nologin\n")
    tree.write(LIB + "/r.service", "[Service]\nUser=redis\nExecStart=/bin/echo %h %s %u\n")
    c = files(tree).load("r.service")
    assert c.exec_start[0].argv[1:] == ("/var/lib/redis", "/usr/sbin/nologin", "root")


# --- cat and changes on disk ----------------------------------------------------------------------

def test_cat(tree):
    tree.write(LIB + "/dd.service", "[Unit]\nDescription=base\n")
    tree.write(ETC + "/dd.service.d/05-y.conf", "[Unit]\nDescription=overridden")
    assert files(tree).cat("dd.service") == (
        "# /lib/systemd/system/dd.service\n[Unit]\nDescription=base\n\n"
        "# /etc/systemd/system/dd.service.d/05-y.conf\n[Unit]\nDescription=overridden\n")


def test_cat_instance(tree):
    tree.write(LIB + "/tpl@.service", SIMPLE)
    tree.write(ETC + "/tpl@.service.d/a.conf", "[Unit]\n")
    tree.write(ETC + "/tpl@x.service.d/b.conf", "[Unit]\n")
    text = files(tree).cat("tpl@x.service")
    assert text.startswith("# /lib/systemd/system/tpl@.service\n")
    assert "# /etc/systemd/system/tpl@.service.d/a.conf\n" in text
    assert "# /etc/systemd/system/tpl@x.service.d/b.conf\n" in text


def test_mtimes_change_detection(tree):
    path = tree.write(LIB + "/dr.service", SIMPLE)
    u = files(tree)
    before = u.mtimes("dr.service")
    assert before == u.mtimes("dr.service")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    after = u.mtimes("dr.service")
    assert after != before
    os.makedirs(os.path.join(tree.root, ETC, "dr.service.d"))
    assert u.mtimes("dr.service") != after
    again = u.mtimes("dr.service")
    tree.write(ETC + "/dr.service.d/x.conf", "[Unit]\n")
    assert u.mtimes("dr.service") != again


def test_other_unit_types_load(tree):
    tree.write(LIB + "/s.socket", "[Unit]\nDescription=sock\n[Socket]\nListenStream=/run/x\n"
               "[Install]\nWantedBy=sockets.target\n")
    tree.write(LIB + "/t.target", "[Unit]\nDescription=tgt\n")
    u = files(tree)
    c = u.load("s.socket")
    assert c.load_state == "loaded" and c.description == "sock" and c.warnings == ()
    assert c.wanted_by == ("sockets.target",)
    assert u.load("t.target").description == "tgt"


def test_fast(tree):
    for i in range(200):
        tree.write(LIB + "/u%d.service" % i, SIMPLE)
    start = time.monotonic()
    u = files(tree)
    for i in range(200):
        assert u.load("u%d.service" % i).load_state == "loaded"
    assert time.monotonic() - start < 5


def test_unit_dropin_dir_beats_type_dir_for_same_file_name(tree):
    tree.write(LIB + "/dd.service", "[Unit]\nDescription=base\n" + SIMPLE)
    tree.write(USR + "/dd.service.d/10-x.conf", "[Unit]\nDescription=unit dir\n")
    tree.write(ETC + "/service.d/10-x.conf", "[Unit]\nDescription=type dir\n")
    c = files(tree).load("dd.service")
    assert c.dropin_paths == ("/usr/lib/systemd/system/dd.service.d/10-x.conf",)
    assert c.description == "unit dir"


def test_instance_dash_prefix_dropins(tree):
    tree.write(LIB + "/foo-bar@.service", SIMPLE)
    tree.write(ETC + "/foo-.service.d/a.conf", "[Unit]\nDescription=dash\n")
    assert files(tree).load("foo-bar@x.service").description == "dash"


def test_environment_specifiers_per_word_and_syntax_error(tree):
    tree.write(LIB + "/tpl@.service", "[Service]\nExecStart=/bin/true\n"
               "Environment=\"NAME=%i x\" BAD-NAME=1 NOEQ\nEnvironment=A=1 'B=2\n")
    c = files(tree).load("tpl@in.service")
    assert c.environment == ("NAME=in x", "A=1")
    w = c.warnings
    assert any(x.endswith(":3: Invalid environment assignment, ignoring: BAD-NAME=1") for x in w)
    assert any(x.endswith(":3: Invalid environment assignment, ignoring: NOEQ") for x in w)
    assert any(x.endswith(":4: Invalid syntax, ignoring: A=1 'B=2") for x in w)


def test_empty_condition_resets_all(tree):
    tree.write(LIB + "/c.service", SIMPLE + "[Unit]\nConditionPathExists=/a\n"
               "ConditionHost=x\nConditionPathExists=\nConditionUser=root\n")
    assert files(tree).load("c.service").conditions == (("User", False, False, "root"),)


def test_comment_inside_continuation_is_skipped_blank_line_ends_it():
    assignments, warnings = unitparse.parse(
        "[Service]\nExecStart=/bin/echo a \\\n  # c\n b\nX=1 \\\n\nY=2\n=3\n", "f")
    values = [(a.key, a.value) for a in assignments if a.key]
    assert values == [("ExecStart", "/bin/echo a   b"), ("X", "1"), ("Y", "2")]
    assert warnings == ["f:8: Missing key name before '=', ignoring line."]


def test_invalid_section_header_fails_the_file(tree):
    tree.write(LIB + "/h.service", "[Service\nExecStart=/bin/true\n")
    c = files(tree).load("h.service")
    assert c.load_state == "error"
    assert "Invalid section header '[Service'" in c.load_error


def test_timeout_parse_error_message(tree):
    tree.write(LIB + "/t.service", SIMPLE + "TimeoutStartSec=5x\n")
    c = files(tree).load("t.service")
    assert c.timeout_start_usec == 90 * USEC
    assert "/lib/systemd/system/t.service:3: Failed to parse TimeoutStartSec= parameter, " \
           "ignoring: 5x" in c.warnings


def test_template_alias_and_kind(tree):
    tree.write(LIB + "/bar@.service", SIMPLE)
    tree.link(LIB + "/foo@.service", "bar@.service")
    u = files(tree)
    unit = u.find("foo@x.service")
    assert unit.id == "bar@x.service" and unit.names == ("bar@x.service", "foo@x.service")
    assert u.load("foo@x.service").fragment_path == "/lib/systemd/system/bar@.service"
    assert (u.kind("foo@.service"), u.kind("bar@.service"), u.kind("nope.service")) == \
        ("alias", "file", None)


def test_linked_unit_outside_search_path(tree):
    tree.write("opt/x.service", SIMPLE)
    tree.link(ETC + "/x.service", "/opt/x.service")
    assert files(tree).load("x.service").fragment_path == "/opt/x.service"


def test_entries_that_are_not_units_leave_the_name_to_the_next_directory(tree):
    """A dangling symlink, a directory or a symlink to a directory in a higher directory does not
    hide the unit file below (the names are classified on demand, in precedence order)."""
    for name in ("dang", "dir", "dirlink"):
        tree.write(LIB + "/%s.service" % name, "[Unit]\nDescription=%s below\n" % name + SIMPLE)
    tree.link(ETC + "/dang.service", "/nonexistent/dang.service")
    os.makedirs(os.path.join(tree.root, ETC, "dir.service"))
    os.makedirs(os.path.join(tree.root, "opt", "somedir"))
    tree.link(RUN + "/dirlink.service", "/opt/somedir")
    u = files(tree)
    for name in ("dang", "dir", "dirlink"):
        config = u.load(name + ".service")
        assert (config.description, config.fragment_path) == \
            ("%s below" % name, "/lib/systemd/system/%s.service" % name)
    assert [n for n in u.all() if n.startswith("d")] == ["dang.service", "dir.service",
                                                         "dirlink.service"]


def test_a_new_file_is_seen_after_reload_only(tree):
    """One UnitFiles is one command's view (systemd: until daemon-reload)."""
    u = files(tree)
    assert u.find("late.service") is None
    tree.write(LIB + "/late.service", SIMPLE)
    assert u.find("late.service") is None
    u.reload()
    assert u.find("late.service").fragment_path == "/lib/systemd/system/late.service"
