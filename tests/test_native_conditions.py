"""Condition*= and Assert*= of native units through the real CLI: each condition both ways, `|`
(triggering) and `!` (negation), what a skipped start leaves (rc 0, nothing run, inactive,
ConditionResult=no, status's Condition: lines), and a failed assert (rc 1, systemd's message)."""

import os
import time

import pytest

from test_cli_native import unit


def conditional(root, name, lines):
    """A oneshot that touches marks/<name>.ran when it runs, with these [Unit] lines."""
    return unit(root, name + ".service", "[Unit]\nDescription=cond test\n%s\n[Service]\n"
                "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/touch %s/%s.ran\n"
                % ("\n".join(lines), root.marks, name))


def ran(root, name):
    return os.path.exists(os.path.join(root.marks, name + ".ran"))


def tree(root, path, content=None, mode=0o644, directory=False):
    full = os.path.join(root.path, path.lstrip("/"))
    os.makedirs(full if directory else os.path.dirname(full), exist_ok=True)
    if not directory:
        with open(full, "w") as handle:
            handle.write(content or "")
        os.chmod(full, mode)
    return full


def _first_cmdline_word():
    with open("/proc/cmdline") as handle:
        words = handle.read().split()
    return words[0].split("=")[0] if words else None


def _machine(kind):
    return {"x86_64": "x86-64", "aarch64": "arm64", "i686": "x86", "armv7l": "arm",
            "ppc64le": "ppc64-le", "s390x": "s390x", "riscv64": "riscv64"}.get(os.uname().machine)


def _setup(root):
    tree(root, "/etc/present", "data\n")
    tree(root, "/etc/empty", "")
    tree(root, "/etc/tool", "#!/bin/sh\n", mode=0o755)
    tree(root, "/srv/full/file", "x")
    tree(root, "/srv/hollow", directory=True)
    tree(root, "/srv/hidden-only/.dotfile", "x")
    os.symlink("/etc/present", os.path.join(root.path, "etc", "link"))
    os.symlink("/run", os.path.join(root.path, "mnt-run"))          # /run: a tmpfs mount here
    tree(root, "/etc/os-release", 'ID=testos\nVERSION_ID="12.4"\nNAME="Test OS"\n')
    usr = tree(root, "/usr", directory=True)
    os.utime(usr, (time.time() - 3600, time.time() - 3600))


# (condition, value that holds, value that does not)
CASES = [
    ("PathExists", "/etc/present", "/etc/absent"),
    ("PathExistsGlob", "/etc/pres*", "/etc/abs*"),
    ("PathIsDirectory", "/srv/hollow", "/etc/present"),
    ("PathIsSymbolicLink", "/etc/link", "/etc/present"),
    ("PathIsMountPoint", "/mnt-run", "/srv/hollow"),
    ("PathIsReadWrite", "/etc", "/etc/absent"),
    ("DirectoryNotEmpty", "/srv/full", "/srv/hidden-only"),
    ("FileNotEmpty", "/etc/present", "/etc/empty"),
    ("FileIsExecutable", "/etc/tool", "/etc/present"),
    ("Host", os.uname().nodename, "no-such-host-*-xyz"),
    ("KernelCommandLine", _first_cmdline_word(), "shim.no.such.option"),
    ("KernelVersion", ">=1.0", "<1.0"),
    ("Architecture", _machine("native"), "alpha" if os.uname().machine != "alpha" else "ia64"),
    ("User", "root", "65534"),
    ("Group", "0", "65534"),
    ("Environment", "PATH", "SHIM_NO_SUCH_VARIABLE"),
    ("CPUs", ">=1", ">4096"),
    ("Memory", ">=1M", ">=1P"),
    ("Capability", "CAP_CHOWN", None),
    ("OSRelease", "ID=testos", "VERSION_ID>=13"),
    ("FirstBoot", "no", "yes"),
    ("NeedsUpdate", "/etc", "/var"),
    ("ControlGroupController", "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
     else "v1", "no-such-controller"),
    ("Virtualization", "docker", "podman"),
    ("Credential", None, "no-such-credential"),
    ("MemoryPressure", "100%", None),
    ("Security", None, "no-such-framework"),
]


@pytest.mark.parametrize("kind,good,bad", CASES, ids=[c[0] for c in CASES])
def test_each_condition_both_ways(root, kind, good, bad):
    if kind == "Virtualization":
        if os.environ.get("container"):
            pytest.skip("this machine is a container of its own")
        tree(root, "/.dockerenv", "")
    if kind == "NeedsUpdate":
        tree(root, "/var/.updated", "TIMESTAMP_NSEC=1\n")    # newer than /usr
    _setup(root)
    for value, holds in ((good, True), (bad, False)):
        if value is None:
            continue
        name = "c%s%s" % (kind.lower(), "yes" if holds else "no")
        conditional(root, name, ["Condition%s=%s" % (kind, value)])
        r = root.run("start", name)
        assert (r.rc, r.err) == (0, ""), str(r)
        assert ran(root, name) == holds, (kind, value, root.run("status", name).out)
        assert root.run("show", "-P", "ConditionResult", name).out == ("yes\n" if holds else "no\n")
        assert root.run("is-active", name).out == ("active\n" if holds else "inactive\n")


def test_triggering_and_negated_conditions(root):
    _setup(root)
    # measured on systemd 252: two triggering ones (one holds) and a negated one -> started
    conditional(root, "mixed", ["ConditionPathExists=|/nonexistent", "ConditionPathExists=|/etc",
                                "ConditionFileNotEmpty=!/nonexistent"])
    assert root.run("start", "mixed").rc == 0 and ran(root, "mixed")
    conditional(root, "notrigger", ["ConditionPathExists=|/nonexistent",
                                    "ConditionPathExists=|/also-missing"])
    r = root.run("start", "notrigger")
    assert (r.rc, r.err) == (0, "") and not ran(root, "notrigger")
    status = root.run("status", "notrigger").out
    assert "notrigger.service - cond test was skipped because no trigger condition checks were " \
        "met." in status, status
    assert "ConditionPathExists=|/nonexistent was not met" in status
    conditional(root, "negated", ["ConditionPathExists=!/etc/present"])
    assert root.run("start", "negated").rc == 0 and not ran(root, "negated")


def test_a_skipped_start_and_its_status(root):
    _setup(root)
    conditional(root, "cond1", ["ConditionPathExists=/nonexistent",
                                "ConditionPathIsDirectory=/also-not-evaluated"])
    r = root.run("start", "cond1")
    assert (r.rc, r.out, r.err) == (0, "", ""), str(r)
    assert not ran(root, "cond1")
    r = root.run("is-active", "cond1")
    assert (r.rc, r.out) == (3, "inactive\n")
    show = root.run("show", "-p", "ConditionResult,AssertResult,ActiveState,Result", "cond1").out
    assert show.splitlines() == ["Result=success", "ActiveState=inactive", "ConditionResult=no",
                                 "AssertResult=no"], show
    assert root.run("show", "-P", "ConditionTimestamp", "cond1").out.strip()
    status = root.run("status", "cond1")
    assert status.rc == 3
    lines = status.out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("     Active:"))
    assert lines[at + 1].startswith("  Condition: start condition failed at ") and \
        lines[at + 1].endswith("ago"), status.out
    # the list stops at the first failed condition, as systemd's does
    assert lines[at + 2] == "             └─ ConditionPathExists=/nonexistent was not met"
    assert "cond1.service - cond test was skipped because of an unmet condition check " \
        "(ConditionPathExists=/nonexistent)." in status.out
    # the condition holds now: the unit starts, the Condition: line goes
    tree(root, "/nonexistent", "")
    tree(root, "/also-not-evaluated", directory=True)
    assert root.run("start", "cond1").rc == 0 and ran(root, "cond1")
    assert root.run("show", "-P", "ConditionResult", "cond1").out == "yes\n"
    assert "Condition:" not in root.run("status", "cond1").out


def test_a_failed_assert_fails_the_job(root):
    conditional(root, "assert1", ["AssertPathExists=/nonexistent"])
    r = root.run("start", "assert1")
    assert (r.rc, r.out, r.err) == (1, "", "Assertion failed on job for assert1.service.\n"), str(r)
    assert not ran(root, "assert1")
    assert root.run("is-active", "assert1").out == "inactive\n"
    show = root.run("show", "-p", "ConditionResult,AssertResult,Result", "assert1").out
    assert show.splitlines() == ["Result=success", "ConditionResult=yes", "AssertResult=no"], show
    status = root.run("status", "assert1").out
    assert "     Assert: start assertion failed at " in status
    assert "             AssertPathExists=/nonexistent was not met" in status
    assert "assert1.service: Starting requested but asserts failed." in status
    assert root.run("-q", "start", "assert1").err == ""


def test_conditions_run_before_exec_start_pre(root):
    unit(root, "pre.service", "[Unit]\nConditionPathExists=/nonexistent\n[Service]\n"
         "Type=oneshot\nExecStartPre=/bin/touch %s/pre.ran\nExecStart=/bin/true\n" % root.marks)
    assert root.run("start", "pre").rc == 0 and not ran(root, "pre")


def test_a_skipped_requirement_does_not_fail_the_dependent(root):
    conditional(root, "optional", ["ConditionPathExists=/nonexistent"])
    unit(root, "user.service", "[Unit]\nRequires=optional.service\nAfter=optional.service\n"
         "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/touch %s/user.ran\n"
         % root.marks)
    r = root.run("start", "user")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert ran(root, "user") and not ran(root, "optional")


def _cpu_flag():
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key.strip() in ("flags", "Features") and rest.split():
                return rest.split()[0]
    return None


def _missing_capability():
    caps = ("chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap "
            "linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner "
            "sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice "
            "sys_resource sys_time sys_tty_config mknod lease audit_write audit_control "
            "setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read").split()
    with open("/proc/self/status") as handle:
        bounding = next(int(line.split()[1], 16) for line in handle if line.startswith("CapBnd:"))
    missing = [name for bit, name in enumerate(caps) if not bounding >> bit & 1]
    return "CAP_" + missing[0].upper() if missing else None


def _on_ac_power():
    base = "/sys/class/power_supply"
    online = offline = False
    for supply in os.listdir(base) if os.path.isdir(base) else ():
        try:
            with open(os.path.join(base, supply, "type")) as handle:
                if handle.read().strip() != "Mains":
                    continue
            with open(os.path.join(base, supply, "online")) as handle:
                up = handle.read().strip() == "1"
        except OSError:
            continue
        online, offline = online or up, offline or not up
    return online or not offline


# facts of this machine, read here the way the kernel reports them: (condition, value, holds)
MACHINE = [
    ("CPUFeature", _cpu_flag(), True),
    ("CPUFeature", "no_such_cpu_flag", False),
    ("Capability", "CAP_CHOWN", True),
    ("Capability", _missing_capability(), False),
    ("ACPower", "true", _on_ac_power()),
    ("ACPower", "false", not _on_ac_power()),
    ("Firmware", "uefi", os.path.isdir("/sys/firmware/efi")),
    ("Firmware", "device-tree", os.path.exists("/sys/firmware/devicetree")),
    ("PathIsEncrypted", "/etc", False),
    ("Security", "selinux", os.path.isdir("/sys/fs/selinux")),
]


@pytest.mark.parametrize("kind,value,holds", MACHINE,
                         ids=["%s=%s" % (k, v) for k, v, _ in MACHINE])
def test_conditions_on_facts_of_the_machine(root, kind, value, holds):
    if value is None:
        pytest.skip("this machine has nothing to test %s= against" % kind)
    conditional(root, "fact", ["Condition%s=%s" % (kind, value)])
    r = root.run("start", "fact")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert ran(root, "fact") == holds


def test_a_condition_that_cannot_be_determined_counts_as_failed(root):
    conditional(root, "unknowable", ["ConditionCapability=CAP_NO_SUCH_THING"])
    r = root.run("start", "unknowable")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert not ran(root, "unknowable")
    assert "unknowable.service: Couldn't determine result for ConditionCapability=" \
        "CAP_NO_SUCH_THING, assuming failed: Invalid argument" in root.run("status", "unknowable").out
