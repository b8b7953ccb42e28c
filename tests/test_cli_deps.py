"""Dependencies between units through the real CLI (issue 10): Requires=/Wants=/Requisite=/
BindsTo=/PartOf=/Conflicts= and After=/Before= as a small transaction, ordering cycles, targets
as groupings (a unit file's .wants/ directory, multi-user.target with its enabled units and
scripts). Every unit leaves a line in one file when it starts or stops: the order is the test."""

import os

from scripts import wait_for

UNIT_DIR = os.path.join("lib", "systemd", "system")
DEPENDENCY_FAILED = "A dependency job for %s failed. See 'journalctl -xe' for details.\n"


def unit(root, name, text, directory=UNIT_DIR):
    path = os.path.join(root.path, directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def step(root, name, unit_section="", *, start="true", kind="oneshot", extra=""):
    """A unit that writes `start <name>` (and `stop <name>` on stop) to the order file."""
    order = os.path.join(root.marks, "order")
    if kind == "oneshot":
        service = ("Type=oneshot\nRemainAfterExit=yes\n"
                   "ExecStart=/bin/sh -c 'echo start %(n)s >> %(o)s; %(s)s'\n"
                   "ExecStop=/bin/sh -c 'echo stop %(n)s >> %(o)s'\n")
    else:
        service = ("ExecStartPre=/bin/sh -c 'echo start %(n)s >> %(o)s'\n"
                   "ExecStart=/usr/bin/env SHIM_TEST_TAG=%(t)s sleep 1000\n"
                   "ExecStopPost=/bin/sh -c 'echo stop %(n)s >> %(o)s'\n")
    text = "[Unit]\n%s\n[Service]\n%s%s" % (unit_section, service % {
        "n": name, "o": order, "s": start, "t": root.tag}, extra)
    return unit(root, name + ".service", text)


def order(root):
    try:
        with open(os.path.join(root.marks, "order")) as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def active(root, name):
    return root.run("is-active", name).out.strip()


def test_requires_pulls_in_and_after_orders(root):
    step(root, "db")
    step(root, "web", "Requires=db.service\nAfter=db.service")
    r = root.run("start", "web")
    assert (r.rc, r.out, r.err) == (0, "", ""), str(r)
    assert order(root) == ["start db", "start web"]
    assert active(root, "db") == "active" and active(root, "web") == "active"
    r = root.run("start", "web")                      # all active: nothing runs again
    assert r.rc == 0 and order(root) == ["start db", "start web"]
    props = root.run("show", "-p", "Requires,After", "web").out
    assert "Requires=db.service\n" in props and "After=db.service" in props


def test_failed_requirement_fails_the_dependent(root):
    step(root, "broken", start="exit 1")
    step(root, "app", "Requires=broken.service\nAfter=broken.service")
    r = root.run("start", "app")
    assert (r.rc, r.out, r.err) == (1, "", DEPENDENCY_FAILED % "app.service"), str(r)
    assert order(root) == ["start broken"]            # app never ran
    assert active(root, "app") == "inactive" and active(root, "broken") == "failed"
    status = root.run("status", "app")
    assert "Dependency failed for app.service." in status.out, status.out
    assert root.run("show", "-P", "Result", "app").out == "success\n"
    # -q: the message goes, the exit code stays
    r = root.run("-q", "start", "app")
    assert (r.rc, r.err) == (1, "")


def test_requires_a_unit_that_does_not_exist(root):
    step(root, "lonely", "Requires=nosuch.service")
    r = root.run("start", "lonely")
    assert (r.rc, r.err) == (5, "Failed to start lonely.service: Unit nosuch.service not found.\n"), str(r)
    assert order(root) == []


def test_requires_a_masked_unit(root):
    step(root, "hidden")
    step(root, "seeker", "Requires=hidden.service\nWants=ghost.service")
    os.makedirs(os.path.join(root.path, "etc/systemd/system"), exist_ok=True)
    os.symlink("/dev/null", os.path.join(root.path, "etc/systemd/system/hidden.service"))
    r = root.run("start", "seeker")
    assert (r.rc, r.err) == (1, "Failed to start seeker.service: Unit hidden.service is masked.\n"), str(r)
    assert order(root) == []
    r = root.run("start", "seeker", "nosuch")        # one failure does not stop the others
    assert r.rc == 1 and "Unit nosuch.service not found." in r.err


def test_a_target_is_root_only(root):
    unit(root, "plain.target", "[Unit]\nDescription=plain\n")
    r = root.run("start", "plain.target", user="nobody")
    assert (r.rc, r.err) == (4, "Failed to start plain.target: Access denied\nSee system logs and "
                                "'systemctl status plain.target' for details.\n"), str(r)


def test_wants_failures_and_missing_units_are_ignored(root):
    step(root, "flaky", start="exit 1")
    step(root, "tolerant", "Wants=flaky.service nosuch.service\nAfter=flaky.service")
    r = root.run("start", "tolerant")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start flaky", "start tolerant"]
    assert active(root, "tolerant") == "active" and active(root, "flaky") == "failed"


def test_units_nothing_provides_here_are_ignored(root):
    # Debian's rsyslog.service: Requires=syslog.socket (shipped by systemd, absent here)
    step(root, "syslogish", "Requires=syslog.socket\nAfter=syslog.socket network.target "
                            "remote-fs.target\nWants=tmp.mount")
    r = root.run("start", "syslogish")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert active(root, "syslogish") == "active"


def test_after_orders_start_and_stop_reverses_it(root):
    step(root, "one", kind="simple")
    step(root, "two", "After=one.service", kind="simple")
    step(root, "three", "Before=four.service\nAfter=two.service", kind="simple")
    step(root, "four", kind="simple")
    r = root.run("start", "four", "three", "two", "one")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start one", "start two", "start three", "start four"]
    r = root.run("stop", "one", "two", "three", "four")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root)[4:] == ["stop four", "stop three", "stop two", "stop one"]
    assert root.tagged() == []


def test_stop_propagates_to_requires_bindsto_partof(root):
    step(root, "base", kind="simple")
    step(root, "needs", "Requires=base.service\nAfter=base.service", kind="simple")
    step(root, "bound", "BindsTo=base.service\nAfter=base.service", kind="simple")
    step(root, "part", "PartOf=base.service\nAfter=base.service", kind="simple")
    step(root, "wants", "Wants=base.service\nAfter=base.service", kind="simple")
    assert root.run("start", "needs", "bound", "part", "wants").rc == 0
    assert root.run("start", "part").rc == 0
    assert all(active(root, n) == "active" for n in ("base", "needs", "bound", "part", "wants"))
    r = root.run("stop", "base")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert [active(root, n) for n in ("base", "needs", "bound", "part", "wants")] == \
        ["inactive", "inactive", "inactive", "inactive", "active"]
    stops = [line for line in order(root) if line.startswith("stop")]
    assert stops[-1] == "stop base" and sorted(stops) == ["stop base", "stop bound", "stop needs",
                                                           "stop part"]
    assert root.run("stop", "wants").rc == 0


def test_restart_propagates_to_partof_only_what_runs(root):
    step(root, "hub", kind="simple")
    step(root, "spoke", "PartOf=hub.service\nAfter=hub.service", kind="simple")
    step(root, "idle", "PartOf=hub.service", kind="simple")
    assert root.run("start", "hub", "spoke").rc == 0
    before = order(root)
    r = root.run("restart", "hub")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root)[len(before):] == ["stop spoke", "stop hub", "start hub", "start spoke"]
    assert active(root, "idle") == "inactive"         # try-restart: not started
    assert root.run("stop", "hub").rc == 0
    assert active(root, "spoke") == "inactive"


def test_conflicts_stops_the_other_both_ways(root):
    step(root, "left", kind="simple")
    step(root, "right", "Conflicts=left.service", kind="simple")
    assert root.run("start", "left").rc == 0
    r = root.run("start", "right")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert active(root, "left") == "inactive" and active(root, "right") == "active"
    assert order(root)[-2:] == ["stop left", "start right"]
    r = root.run("start", "left")                     # right Conflicts= left: stopped too
    assert (r.rc, r.err) == (0, ""), str(r)
    assert active(root, "left") == "active" and active(root, "right") == "inactive"
    assert root.run("stop", "left").rc == 0


def test_requisite_is_checked_never_started(root):
    step(root, "needed")
    step(root, "picky", "Requisite=needed.service\nAfter=needed.service")
    r = root.run("start", "picky")
    assert (r.rc, r.err) == (1, DEPENDENCY_FAILED % "picky.service"), str(r)
    assert order(root) == [] and active(root, "needed") == "inactive"
    assert root.run("start", "needed").rc == 0
    r = root.run("start", "picky")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start needed", "start picky"]


def test_an_ordering_cycle_is_broken_never_hangs(root):
    step(root, "alpha", "Wants=beta.service\nAfter=beta.service")
    step(root, "beta", "After=alpha.service\nWants=gamma.service")
    step(root, "gamma")
    r = root.run("start", "alpha", timeout=60)
    assert (r.rc, r.err) == (0, ""), str(r)
    # beta's job deleted, as systemd does, and gamma's with it (only beta wanted it)
    assert order(root) == ["start alpha"]
    log = root.run("status", "alpha").out
    assert "alpha.service: Found ordering cycle on " in log, log
    assert "alpha.service: Found dependency on " in log, log
    assert "alpha.service: Job beta.service/start deleted to break ordering cycle starting with " \
        in log, log


def test_an_unbreakable_cycle_fails_the_start(root):
    step(root, "chicken", "Requires=egg.service\nAfter=egg.service")
    step(root, "egg", "Requires=chicken.service\nAfter=chicken.service")
    r = root.run("start", "chicken", timeout=60)
    assert (r.rc, r.err) == (1, "Failed to start chicken.service: Transaction order is cyclic. "
                                "See system logs for details.\n"), str(r)
    assert order(root) == []


def test_a_target_starts_what_it_wants_even_when_active(root):
    unit(root, "stack.target", "[Unit]\nDescription=The stack\nWants=api.service\n")
    step(root, "api", "After=cache.service")
    step(root, "cache")
    wants = os.path.join(root.path, "etc/systemd/system/stack.target.wants")
    os.makedirs(wants)
    os.symlink("/lib/systemd/system/cache.service", os.path.join(wants, "cache.service"))
    r = root.run("start", "stack.target")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start cache", "start api"]
    step(root, "late")
    os.symlink("/lib/systemd/system/late.service", os.path.join(wants, "late.service"))
    r = root.run("start", "stack.target")             # the target is active: still pulled in
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start cache", "start api", "start late"]
    unit(root, "member.service", "[Unit]\nPartOf=stack.target\n[Service]\nType=oneshot\n"
                                 "RemainAfterExit=yes\nExecStart=/bin/true\n")
    assert root.run("start", "member").rc == 0
    r = root.run("stop", "stack.target")              # PartOf= members stop with it
    assert (r.rc, r.err) == (0, ""), str(r)
    assert active(root, "member") == "inactive" and active(root, "api") == "active"


def test_multi_user_target_starts_enabled_units_and_scripts_in_order(root):
    for name, after in (("early", ""), ("middle", "After=early.service")):
        step(root, name, after, extra="[Install]\nWantedBy=multi-user.target\n")
    step(root, "boot-sync", "DefaultDependencies=no\nBefore=sysinit.target",
         extra="[Install]\nWantedBy=sysinit.target\n")
    step(root, "unwanted", extra="[Install]\nWantedBy=multi-user.target\n")
    for name in ("early", "middle", "boot-sync"):
        assert root.run("enable", name).rc == 0
    pidfile = root.daemon("legacy")
    root.rc_link("2", "S02legacy", "legacy")
    r = root.run("start", "default.target")           # the container's PID 1 calls this
    assert (r.rc, r.err) == (0, ""), str(r)
    started = order(root)
    assert started[0] == "start boot-sync"            # sysinit.target's first, through basic.target
    assert started.index("start early") < started.index("start middle")
    assert "start unwanted" not in started
    assert wait_for(lambda: root.daemon_pid("legacy")) and root.calls("legacy") == ["start"]
    assert active(root, "middle") == "active" and active(root, "legacy") == "active"
    r = root.run("start", "multi-user.target")        # once more: sysinit.target's not again
    assert r.rc == 0 and order(root) == started
    assert root.run("stop", "early", "middle", "boot-sync", "legacy").rc == 0
    assert not os.path.exists(pidfile) or not root.tagged()


def test_on_a_booted_machine_systemds_targets_count_as_up(root):
    """init is in a runlevel (OpenRC's softlevel says default): multi-user.target and the
    targets below it are active, so a start never pulls in what they want; starting the target
    itself still starts its enabled unit files (the runlevel's scripts are init's); stopping it
    would leave the runlevel."""
    os.makedirs(os.path.join(root.path, "run", "openrc"))
    with open(os.path.join(root.path, "run", "openrc", "softlevel"), "w") as handle:
        handle.write("default\n")
    step(root, "netup", extra="[Install]\nWantedBy=network-online.target\n")
    step(root, "daemon", "Wants=network-online.target\nAfter=network-online.target")
    step(root, "enabled", extra="[Install]\nWantedBy=multi-user.target\n")
    assert root.run("enable", "netup", "enabled").rc == 0
    root.daemon("initsvc")                            # init's: started at boot by rc
    root.rc_link("2", "S01initsvc", "initsvc")
    r = root.run("start", "daemon")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start daemon"]            # network-online.target is up already
    assert active(root, "multi-user.target") == "active"
    r = root.run("start", "multi-user.target")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root) == ["start daemon", "start enabled"]
    assert root.calls("initsvc") == []                # the runlevel's scripts are init's
    r = root.run("stop", "multi-user.target")
    assert (r.rc, r.err) == (3, "Failed to stop multi-user.target: Changing the runlevel is not "
                                "supported; use telinit.\n"), str(r)
    r = root.run("start", "poweroff.target")
    assert r.rc == 3 and "Changing the runlevel is not supported" in r.err


def test_the_boot_itself_starts_what_systemds_targets_want(root):
    """A boot hook run by init says SYSTEMCTL_SHIM_BOOTING=1: systemd's targets are not up yet,
    so starting the default target starts what sysinit.target wants first; the runlevel's
    scripts stay init's; afterwards the targets count as up (their records)."""
    os.makedirs(os.path.join(root.path, "run", "openrc"))
    with open(os.path.join(root.path, "run", "openrc", "softlevel"), "w") as handle:
        handle.write("default\n")
    step(root, "early", "DefaultDependencies=no\nBefore=sysinit.target",
         extra="[Install]\nWantedBy=sysinit.target\n")
    step(root, "late", extra="[Install]\nWantedBy=multi-user.target\n")
    assert root.run("enable", "early", "late").rc == 0
    root.daemon("initsvc")
    root.rc_link("2", "S01initsvc", "initsvc")
    r = root.run("start", "multi-user.target")        # not the boot: basic.target is up
    assert (r.rc, r.err) == (0, "") and order(root) == ["start late"], str(r)
    assert root.run("stop", "late").rc == 0
    r = root.run("start", "default.target", env=root.env(SYSTEMCTL_SHIM_BOOTING="1"))
    assert (r.rc, r.err) == (0, ""), str(r)
    assert order(root)[2:] == ["start early", "start late"]
    assert root.calls("initsvc") == []
    step(root, "needs-base", "Requires=basic.target\nAfter=basic.target")
    # even for a boot-time caller: basic.target's record says it was started this boot
    assert root.run("start", "needs-base", env=root.env(SYSTEMCTL_SHIM_BOOTING="1")).rc == 0
    assert order(root)[4:] == ["start needs-base"]   # sysinit.target's are not run again


def test_target_unit_files_and_systemds_own_targets_are_units(root):
    """show/status/is-active see what the transaction starts: a .target unit file, and
    systemd's own targets (loaded, inactive until started on a machine no init booted)."""
    path = os.path.join(root.path, "lib", "systemd", "system", "group.target")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("[Unit]\nDescription=My group\n")
    status = root.run("status", "group.target")
    assert status.rc == 3 and status.out.startswith("○ group.target - My group\n"), status
    assert "Loaded: loaded (/lib/systemd/system/group.target; static)" in status.out
    show = root.run("show", "-p", "Id,LoadState", "network-online.target").out.splitlines()
    assert show == ["Id=network-online.target", "LoadState=loaded"], show
    assert root.run("start", "group.target").rc == 0
    assert root.run("is-active", "group.target").out == "active\n"
    assert root.run("status", "nosuch.target").rc == 4
