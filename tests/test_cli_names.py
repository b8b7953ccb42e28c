"""Unit resolution: mangling, .sh scripts, LSB Provides: aliases, the cross-distro alias table,
globs, non-service unit types and targets (systemctl-behaviour.md 2.11, 2.12, 3.1, 3.2)."""

import os


def _props(result):
    return dict(line.split("=", 1) for line in result.lines)


def test_bare_name_and_full_name(root):
    root.daemon("food")
    assert root.run("show", "-P", "Id", "food").out == "food.service\n"
    assert root.run("show", "-P", "Id", "food.service").out == "food.service\n"


def test_dot_sh_script(root):
    # "`/etc/init.d/foo.sh` -> `foo.service`"
    root.daemon("bar", filename="bar.sh")
    r = root.run("show", "-p", "Id,SourcePath,LoadState", "bar")
    assert _props(r) == {"Id": "bar.service", "SourcePath": "/etc/init.d/bar.sh", "LoadState": "loaded"}
    assert root.run("start", "bar").rc == 0
    assert root.run("is-active", "bar.service").out == "active\n"
    r = root.run("list-unit-files", "--no-legend", "--type=service")
    assert [line.split()[0] for line in r.lines] == ["bar.service"]


def test_lsb_provides_alias(root):
    # `show -p Id sshd` prints the real name if `sshd` is an alias; Names lists all
    root.daemon("food", provides=("snack",))
    r = root.run("show", "-p", "Id", "snack")
    assert r.out == "Id=food.service\n"
    names = root.run("show", "-P", "Names", "food").out.split()
    assert names[0] == "food.service" and "snack.service" in names
    root.run("start", "snack")
    assert root.run("is-active", "food").out == "active\n"
    assert root.tagged() == [root.daemon_pid("food")]
    assert root.run("status", "snack").lines[0].startswith("● food.service")


def test_alias_table_crond_finds_cron(root):
    # "a root with only `cron` answers `crond`" (clients.md D.6 alias table)
    root.daemon("cron", description="Regular background program processing daemon")
    r = root.run("show", "-p", "Id,LoadState", "crond")
    assert _props(r) == {"Id": "cron.service", "LoadState": "loaded"}
    assert root.run("start", "crond").rc == 0
    assert root.run("is-active", "crond").out == "active\n"
    assert root.run("is-active", "cron").out == "active\n"
    assert root.run("stop", "crond").rc == 0
    assert root.run("is-active", "cron").rc == 3


def test_alias_table_sshd_and_ssh(root):
    root.daemon("sshd")
    assert root.run("show", "-P", "Id", "ssh").out == "sshd.service\n"
    assert root.run("is-enabled", "ssh").out == "disabled\n"


def test_glob_matches_only_active_units(root):
    # "without --all, only units that are not inactive or that have a job"
    root.daemon("test1")
    root.daemon("test2")
    root.run("start", "test1")
    r = root.run("is-active", "test*")
    assert (r.rc, r.out) == (0, "active\n")
    r = root.run("--all", "is-active", "test*")
    assert r.rc == 0 and sorted(r.lines) == ["active", "inactive"]
    r = root.run("show", "-P", "Id", "test*")
    assert r.out == "test1.service\n"


def test_glob_matching_nothing(root):
    # is-active: "A glob that matches nothing gives an empty list" -> no output; the v253+
    # exit is 4, in 252 the verb's own code (3).
    root.daemon("test1")
    r = root.run("is-active", "nomatch*")
    assert (r.out, r.err) == ("", "")
    assert r.rc == 3
    r = root.run("is-active", "test*")            # test1 is inactive: matches nothing either
    assert (r.rc, r.out) == (3, "")
    # start/stop: "Zero matches is not an error."
    r = root.run("-q", "stop", "nomatch*")
    assert (r.rc, r.out, r.err) == (0, "", "")
    # status: nothing to show
    r = root.run("status", "nomatch*")
    assert (r.rc, r.out) == (0, "")


def test_glob_does_not_match_aliases(root):
    # "by primary id (not aliases)"
    root.daemon("food", provides=("snack",))
    root.run("start", "food")
    r = root.run("show", "-P", "Id", "snack*")
    assert r.out == ""


def test_socket_and_timer_are_not_found(root):
    root.daemon("food")
    for unit in ("food.socket", "food.timer", "food.mount"):
        r = root.run("show", "-P", "LoadState", unit)
        assert (r.rc, r.out) == (0, "not-found\n")
        r = root.run("status", unit)
        assert (r.rc, r.err) == (4, "Unit %s could not be found.\n" % unit)
        r = root.run("start", unit)
        assert (r.rc, r.err) == (5, "Failed to start %s: Unit %s not found.\n" % (unit, unit))
        r = root.run("is-active", unit)
        assert (r.rc, r.out) == (3, "inactive\n")
    assert root.tagged() == []


def test_foo_bar_gets_service_suffix(root):
    # "`foo.bar` -> `foo.bar.service`"
    r = root.run("show", "-P", "Id", "foo.bar")
    assert r.out == "foo.bar.service\n"


def test_multi_user_target(root):
    r = root.run("show", "-p", "Id,LoadState", "multi-user.target")
    assert _props(r) == {"Id": "multi-user.target", "LoadState": "loaded"}
    r = root.run("is-active", "multi-user.target")
    assert r.rc in (0, 3) and r.out in ("active\n", "inactive\n")
    assert root.run("get-default").out == "multi-user.target\n"
    r = root.run("show", "-P", "Id", "default.target")
    assert r.out == "multi-user.target\n"


def test_runlevel_target_alias(root):
    assert root.run("show", "-P", "Id", "runlevel3.target").out == "multi-user.target\n"


def test_not_a_script_is_not_a_unit(root):
    # "Every directory entry that ... is a regular file with the owner-exec bit is a candidate"
    root.raw("noexec", "#!/bin/sh\nexit 0\n", mode=0o644)
    os.makedirs(os.path.join(root.init_d, "adir"))
    for name in ("noexec", "adir"):
        r = root.run("show", "-P", "LoadState", name)
        assert r.out == "not-found\n"
        assert root.run("start", name).rc == 5


def test_description_without_lsb_and_chkconfig(root):
    # "prefixed with `LSB: ` if the script has an LSB block, else `SYSV: `"
    root.raw("old", """\
        #!/bin/sh
        # chkconfig: 2345 20 80
        # description: An old style \\
        #              service
        exit 0
        """)
    assert root.run("show", "-P", "Description", "old").out == "SYSV: An old style service\n"
    root.daemon("plain", lsb=False)
    assert root.run("show", "-P", "Description", "plain").out == "plain.service\n"
