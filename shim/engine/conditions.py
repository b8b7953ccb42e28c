"""Condition*= and Assert*= of a native unit, evaluated when its start job runs (systemd's
unit_test_condition()/unit_test_assert(), src/shared/condition.c), before ExecCondition= and
ExecStartPre=.

A failed condition skips the start: the job succeeds (rc 0), nothing runs, the unit stays as it was
and `ConditionResult=no`. A failed assert fails the job ("Assertion failed on job for X.", rc 1).
Conditions are ANDed; those with a `|` prefix are triggering (at least one of them must hold); `!`
negates. Like systemd, the list is evaluated in order and stops at the first failed non-triggering
condition. A condition that cannot be determined counts as failed, with systemd's warning
("Couldn't determine result for ..., assuming failed").

Paths of the path conditions are read under the context's root (`ctx.path()`), so that tests run
against temporary trees; facts about the machine (CPUs, memory, capabilities, the kernel) are the
machine's own. The "manager" whose environment, user and groups some conditions ask about is PID 1
in a container (our PID-1 mode), else the caller: systemd's manager is PID 1.
"""

import fnmatch
import os
import time

from shim.engine.jobs import JobFailed, _log

# Capability names in bit order (linux/capability.h), for ConditionCapability=.
_CAPS = ("chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap "
         "linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner "
         "sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice "
         "sys_resource sys_time sys_tty_config mknod lease audit_write audit_control setfcap "
         "mac_override mac_admin syslog wake_alarm block_suspend audit_read perfmon bpf "
         "checkpoint_restore").split()
# uname -m -> systemd's architecture names (src/basic/architecture.c)
_ARCH = {"x86_64": "x86-64", "amd64": "x86-64", "i386": "x86", "i486": "x86", "i586": "x86",
         "i686": "x86", "aarch64": "arm64", "aarch64_be": "arm64-be", "armv8l": "arm",
         "armv7l": "arm", "armv7b": "arm-be", "armv6l": "arm", "armv5tel": "arm",
         "ppc64le": "ppc64-le", "ppc64": "ppc64", "ppcle": "ppc-le", "ppc": "ppc",
         "s390x": "s390x", "s390": "s390", "riscv64": "riscv64", "riscv32": "riscv32",
         "mips64": "mips64", "mips": "mips", "loongarch64": "loongarch64", "alpha": "alpha",
         "sparc64": "sparc64", "parisc64": "parisc64", "ia64": "ia64", "m68k": "m68k",
         "sh": "sh", "arc": "arc", "cris": "cris", "nios2": "nios2", "tilegx": "tilegx"}
# /sys/class/dmi/id vendor strings -> systemd's virtualization ids (src/basic/virt.c)
_DMI_VMS = (("KVM", "kvm"), ("OpenStack", "kvm"), ("KubeVirt", "kvm"), ("Amazon EC2", "amazon"),
            ("QEMU", "qemu"), ("VMware", "vmware"), ("VMW", "vmware"), ("innotek GmbH", "oracle"),
            ("VirtualBox", "oracle"), ("Oracle Corporation", "oracle"), ("Xen", "xen"),
            ("Bochs", "bochs"), ("Parallels", "parallels"), ("BHYVE", "bhyve"),
            ("Hyper-V", "microsoft"), ("Apple Virtualization", "apple"), ("Google", "google"))
_CONTAINERS = ("openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt",
               "wsl", "proot", "pouch")
_TRUE = ("1", "yes", "y", "true", "t", "on")
_FALSE = ("0", "no", "n", "false", "f", "off")


class Undetermined(Exception):
    """The condition's value cannot be determined (systemd: the test returned an error)."""


def check(manager, unit, config) -> bool:
    """Before a start: True to go on; False when a condition failed (skip, job done). Raises
    JobFailed("assert") when an assert failed. Records both results in the unit's record."""
    ctx, store = manager.ctx, manager.store
    record = store.load(unit.id)
    if not config.conditions and not config.asserts:
        if record.condition or record.assertion:  # results of an earlier unit file: gone
            record.condition = record.assertion = None
            store.save(unit.id, record)
        return True
    log = store.prepare_log(unit.id)
    probe = Probe(ctx)
    now = time.time()
    ok, failed = _test_list(probe, config.conditions, "Condition", log, unit.id)
    record.condition = {"result": ok, "time": now, "failed": failed}
    if not ok:
        store.save(unit.id, record)
        ident = unit.id if not config.description or config.description == unit.id \
            else "%s - %s" % (unit.id, config.description)
        plain = [f for f in failed if not f[1]]
        if plain:
            name, trigger, negate, param = plain[0]
            _log(log, "%s was skipped because of an unmet condition check (%s=%s%s%s)."
                 % (ident, name, "|" if trigger else "", "!" if negate else "", param))
        else:
            _log(log, "%s was skipped because no trigger condition checks were met." % ident)
        return False
    ok, failed = _test_list(probe, config.asserts, "Assert", log, unit.id)
    record.assertion = {"result": ok, "time": now, "failed": failed}
    store.save(unit.id, record)
    if not ok:
        _log(log, "%s: Starting requested but asserts failed." % unit.id)
        raise JobFailed("assert")
    return True


def _test_list(probe, items, prefix, log, unit_id):
    """condition_test_list(): (holds, [failed items as [name, trigger, negate, param]])."""
    triggered = None
    failed = []
    for kind, negate, trigger, value in items:
        name = prefix + kind
        try:
            holds = probe.test(kind, value) != negate
        except (Undetermined, OSError, ValueError) as why:   # systemd: the test returned an error
            why = getattr(why, "strerror", None) or why
            _log(log, "%s: Couldn't determine result for %s=%s%s%s, assuming failed: %s"
                 % (unit_id, name, "|" if trigger else "", "!" if negate else "", value, why))
            holds = False
        if not holds:
            failed.append([name, trigger, negate, value])
        if not trigger and not holds:
            return False, failed
        if trigger and not triggered:
            triggered = holds
    return triggered is not False, failed


def _boolean(value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Undetermined("Invalid argument")


def _compare(left, op: str, right) -> bool:
    return {"<": left < right, "<=": left <= right, "=": left == right, "==": left == right,
            "!=": left != right, ">=": left >= right, ">": left > right}[op]


def _operator(text: str):
    """parse_compare_operator(): (operator or None, rest)."""
    for op in ("<=", ">=", "!=", "==", "<", ">", "="):
        if text.startswith(op):
            return op, text[len(op):].lstrip()
    return None, text


def verscmp(a: str, b: str) -> int:
    """A version comparison in the spirit of strverscmp_improved(): digit runs compare as numbers,
    other characters as text, '~' sorts before anything."""
    import re
    pa, pb = re.findall(r"\d+|[A-Za-z]+|~|[^\dA-Za-z~]+", a), re.findall(r"\d+|[A-Za-z]+|~|[^\dA-Za-z~]+", b)
    for x, y in zip(pa, pb):
        if x == y:
            continue
        if x == "~" or y == "~":
            return -1 if x == "~" else 1
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        return -1 if x < y else 1
    if len(pa) == len(pb):
        return 0
    longer = pa[len(pb)] if len(pa) > len(pb) else pb[len(pa)]
    sign = 1 if len(pa) > len(pb) else -1
    return -sign if longer == "~" else sign


def _parse_size(text: str) -> int:
    """parse_size(base 1024): 512, 1K, 2.5G, 1T."""
    text = text.strip()
    factors = {"": 1, "B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4,
               "P": 1024 ** 5, "E": 1024 ** 6}
    number = text.rstrip("BKMGTPE")
    suffix = text[len(number):]
    try:
        return int(float(number) * factors[suffix])
    except (KeyError, ValueError):
        raise Undetermined("Invalid argument") from None


class Probe:
    """Answers the questions conditions ask, for one start job."""

    def __init__(self, ctx):
        self.ctx = ctx

    # --- reading ---------------------------------------------------------------------------------
    def path(self, p: str) -> str:
        return self.ctx.path(p)

    def live(self, p: str) -> str:
        """Where a fact of the running machine is read: /proc through the context's proc root,
        /sys as it is (the kernel's, not the test tree's), anything else under the root."""
        if p.startswith("/proc/"):
            return os.path.join(self.ctx.proc, p[len("/proc/"):])
        if p.startswith("/sys/"):
            return p
        return self.ctx.path(p)

    def read(self, p: str, limit=1 << 20) -> str:
        with open(self.live(p), "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")

    def exists(self, p: str) -> bool:
        return os.path.exists(self.live(p))

    def manager_env(self) -> dict:
        """The environment of PID 1 when it is our PID-1 mode or readable, else ours."""
        try:
            with open(os.path.join(self.ctx.proc, "1", "environ"), "rb") as handle:
                items = handle.read(1 << 20).split(b"\0")
            return dict(i.decode("utf-8", "replace").split("=", 1) for i in items if b"=" in i)
        except OSError:
            return dict(self.ctx.env)

    def test(self, kind: str, value: str) -> bool:
        handler = getattr(self, "t_" + kind, None)
        if handler is None:
            raise Undetermined("Operation not supported")
        return handler(value)

    # --- files -----------------------------------------------------------------------------------
    def t_PathExists(self, value):
        return os.path.exists(self.path(value))          # access(F_OK): follows symlinks

    def t_PathExistsGlob(self, value):
        import glob
        return bool(glob.glob(self.path(value)))

    def t_PathIsDirectory(self, value):
        return os.path.isdir(self.path(value))

    def t_PathIsSymbolicLink(self, value):
        return os.path.islink(self.path(value))

    def t_PathIsMountPoint(self, value):
        real = self.path(value)
        if not os.path.exists(real):
            return False
        return os.path.ismount(real) or self._in_mountinfo(os.path.realpath(real))

    def _in_mountinfo(self, real):
        try:
            with open(os.path.join(self.ctx.proc, "self", "mountinfo")) as handle:
                return any(line.split()[4] == real for line in handle if len(line.split()) > 4)
        except OSError:
            return False

    def t_PathIsReadWrite(self, value):
        real = self.path(value)
        if not os.path.exists(real):
            return False
        return not (os.statvfs(real).f_flag & os.ST_RDONLY)

    def t_PathIsEncrypted(self, value):
        try:
            st = os.stat(self.path(value))
        except OSError:
            return False
        return self._dm_crypt("/sys/dev/block/%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev)), 0)

    def _dm_crypt(self, sysdir, depth):
        if depth > 8:
            return False
        try:
            if self.read(sysdir + "/dm/uuid", 256).startswith("CRYPT-"):
                return True
        except OSError:
            pass
        try:
            slaves = os.listdir(self.live(sysdir + "/slaves"))
        except OSError:
            return False
        return any(self._dm_crypt("/sys/class/block/" + s, depth + 1) for s in slaves)

    def t_DirectoryNotEmpty(self, value):
        try:
            entries = os.listdir(self.path(value))
        except OSError:
            return False
        # dir_is_empty(ignore_hidden_or_backup=true): dot files and backups do not count
        return any(not e.startswith(".") and not e.endswith(("~", ".rpmnew", ".rpmsave",
                                                              ".dpkg-old", ".dpkg-new", ".swp"))
                   for e in entries)

    def t_FileNotEmpty(self, value):
        try:
            st = os.stat(self.path(value))
        except OSError:
            return False
        import stat
        return stat.S_ISREG(st.st_mode) and st.st_size > 0

    def t_FileIsExecutable(self, value):
        try:
            st = os.stat(self.path(value))
        except OSError:
            return False
        import stat
        return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)

    def t_NeedsUpdate(self, value):
        words = self._cmdline_words()
        for word in words:
            if word.startswith("systemd.condition_needs_update="):
                return _boolean(word.split("=", 1)[1])
        if not value.startswith("/"):
            return True
        try:
            if os.statvfs(self.path(value)).f_flag & os.ST_RDONLY:
                return False
        except OSError:
            pass
        try:
            other = os.lstat(self.path(value.rstrip("/") + "/.updated"))
            usr = os.lstat(self.path("/usr/"))
        except OSError:
            return True
        return usr.st_mtime_ns > other.st_mtime_ns

    def t_FirstBoot(self, value):
        wanted = _boolean(value)
        env = self.manager_env().get("SYSTEMD_FIRST_BOOT")
        if env is not None and env.lower() in _TRUE + _FALSE:
            return (env.lower() in _TRUE) == wanted
        return os.path.exists(self.path("/run/systemd/first-boot")) == wanted

    # --- the machine -----------------------------------------------------------------------------
    def _cmdline_words(self):
        import shlex
        try:
            with open(os.path.join(self.ctx.proc, "cmdline")) as handle:
                text = handle.read()
        except OSError:
            return []
        try:
            return shlex.split(text)
        except ValueError:
            return text.split()

    def t_KernelCommandLine(self, value):
        for word in self._cmdline_words():
            if "=" in value:
                if word == value:
                    return True
            elif word == value or word.startswith(value + "="):
                return True
        return False

    def t_KernelVersion(self, value):
        release = os.uname().release
        first = True
        words = value.split()
        i = 0
        while i < len(words):
            op, rest = _operator(words[i])
            if op is not None and not rest and first and i + 1 < len(words):
                i += 1
                rest = words[i]
            if op is None:
                if not fnmatch.fnmatchcase(release, rest):
                    return False
            elif not _compare(verscmp(release, rest), "=" if op == "==" else op, 0):
                return False
            first = False
            i += 1
        return True

    def t_Architecture(self, value):
        mine = _ARCH.get(os.uname().machine, os.uname().machine)
        return value == "native" or value == mine

    def t_Virtualization(self, value):
        if value == "private-users":
            return self._userns()
        kind, ident = self.virtualization()
        word = value.strip().lower()
        if word in _TRUE + _FALSE:
            return (word in _TRUE) == (kind != "none")
        if word in ("vm", "container"):
            return kind == word
        return kind != "none" and ident == value

    def _userns(self):
        try:
            with open(os.path.join(self.ctx.proc, "self", "uid_map")) as handle:
                return handle.read().split() != ["0", "0", "4294967295"]
        except OSError:
            return False

    def virtualization(self):
        """detect_virtualization(): ("container" | "vm" | "none", id). Containers first."""
        env = self.manager_env().get("container")
        if env:
            return "container", {"oci": "docker", "lxc-libvirt": "lxc-libvirt"}.get(env, env)
        for path, ident in (("/run/systemd/container", None), ("/run/.containerenv", "podman"),
                            ("/.dockerenv", "docker")):
            if os.path.exists(self.path(path)):
                if ident is None:
                    try:
                        ident = self.read(path, 256).strip() or "container-other"
                    except OSError:
                        continue
                return "container", ident
        try:
            release = self.read("/proc/sys/kernel/osrelease", 256)
            if "Microsoft" in release or "WSL" in release:
                return "container", "wsl"
        except OSError:
            pass
        if os.path.exists(self.live("/proc/vz")) and not os.path.exists(self.live("/proc/bc")):
            return "container", "openvz"
        for name in ("sys_vendor", "board_vendor", "bios_vendor", "product_name",
                     "product_version"):
            try:
                text = self.read("/sys/class/dmi/id/" + name, 256)
            except OSError:
                continue
            for prefix, ident in _DMI_VMS:
                if text.startswith(prefix):
                    return "vm", ident
        try:
            if self.read("/sys/hypervisor/type", 64).strip() == "xen":
                return "vm", "xen"
        except OSError:
            pass
        if "hypervisor" in self._cpu_flags():
            return "vm", "vm-other"
        return "none", "none"

    def _cpu_flags(self):
        try:
            text = self.read("/proc/cpuinfo")
        except OSError:
            return set()
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key.strip() in ("flags", "Features"):
                return set(rest.split())
        return set()

    def t_CPUFeature(self, value):
        return value.lower() in self._cpu_flags()

    def t_Host(self, value):
        try:
            machine_id = self.read("/etc/machine-id", 64).strip()
        except OSError:
            machine_id = ""
        compact = value.replace("-", "").lower()
        if len(compact) == 32 and all(c in "0123456789abcdef" for c in compact) and \
                compact == machine_id.lower():
            return True
        return fnmatch.fnmatch(os.uname().nodename.lower(), value.lower())

    def t_Firmware(self, value):
        if value == "device-tree":
            return os.path.exists(self.live("/sys/firmware/devicetree/"))
        if value == "uefi":
            return os.path.isdir(self.live("/sys/firmware/efi/"))
        if value.startswith("device-tree-compatible(") and value.endswith(")"):
            try:
                with open(self.live("/proc/device-tree/compatible"), "rb") as handle:
                    data = handle.read(65536)
            except OSError:
                return False
            wanted = value[len("device-tree-compatible("):-1].encode()
            return data.endswith(b"\0") and wanted in data.split(b"\0")
        return False

    def t_Security(self, value):
        checks = {
            "selinux": lambda: os.path.isdir(self.live("/sys/fs/selinux")),
            "smack": lambda: os.path.isdir(self.live("/sys/fs/smackfs")),
            "apparmor": lambda: self._read_is("/sys/module/apparmor/parameters/enabled", "Y"),
            "ima": lambda: os.path.exists(self.live("/sys/kernel/security/ima/")),
            "tomoyo": lambda: os.path.exists(self.live("/sys/kernel/security/tomoyo/version")),
            "audit": self._audit,
            "uefi-secureboot": self._secure_boot,
            "tpm2": lambda: os.path.isdir(self.live("/sys/class/tpmrm")) and
            bool(os.listdir(self.live("/sys/class/tpmrm"))),
        }
        test = checks.get(value)
        return bool(test and test())

    def _read_is(self, path, wanted):
        try:
            return self.read(path, 64).strip() == wanted
        except OSError:
            return False

    def _audit(self):
        import socket
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)     # NETLINK_AUDIT
        except OSError:
            return False
        sock.close()
        return True

    def _secure_boot(self):
        var = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        try:
            with open(self.live(var), "rb") as handle:
                data = handle.read(16)
        except OSError:
            return False
        return len(data) >= 5 and data[4] == 1

    def t_Capability(self, value):
        name = value.lower()
        name = name[4:] if name.startswith("cap_") else name
        if name not in _CAPS:
            raise Undetermined("Invalid argument")
        try:
            status = self.read("/proc/self/status")
        except OSError:
            raise Undetermined("No such file or directory") from None
        for line in status.splitlines():
            if line.startswith("CapBnd:"):
                return bool(int(line.split()[1], 16) >> _CAPS.index(name) & 1)
        raise Undetermined("No data available")

    def t_ACPower(self, value):
        wanted = _boolean(value)
        base = "/sys/class/power_supply"
        try:
            supplies = os.listdir(self.live(base))
        except OSError:
            supplies = []
        found_online = found_offline = False
        for supply in supplies:
            try:
                if self.read("%s/%s/type" % (base, supply), 64).strip() != "Mains":
                    continue
                online = self.read("%s/%s/online" % (base, supply), 64).strip() == "1"
            except OSError:
                continue
            found_online = found_online or online
            found_offline = found_offline or not online
        on_ac = found_online or not found_offline      # no mains supply at all: assume AC
        return on_ac == wanted

    def t_CPUs(self, value):
        op, rest = _operator(value)
        try:
            wanted = int(rest)
        except ValueError:
            raise Undetermined("Invalid argument") from None
        return _compare(len(os.sched_getaffinity(0)), op or ">=", wanted)

    def t_Memory(self, value):
        op, rest = _operator(value)
        wanted = _parse_size(rest)
        try:
            for line in self.read("/proc/meminfo").splitlines():
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) * 1024
                    break
            else:
                raise Undetermined("No data available")
        except OSError:
            raise Undetermined("No such file or directory") from None
        return _compare(total, op or ">=", wanted)

    def _pressure(self, resource, value):
        if not os.path.isdir(self.live("/proc/pressure")):
            return True                              # PSI not supported: the check succeeds
        if ":" in value:
            return True                              # per-slice pressure: no slices here
        limit, _, span = value.partition("/")
        key = {"": "avg300", "10sec": "avg10", "1min": "avg60", "5min": "avg300"}.get(span.strip())
        limit = limit.strip()
        if key is None or not limit.endswith("%"):
            raise Undetermined("Invalid argument")
        try:
            threshold = float(limit[:-1])
            text = self.read("/proc/pressure/" + resource, 4096)
        except ValueError:
            raise Undetermined("Invalid argument") from None
        except OSError:
            return True
        lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
        line = lines.get("some" if resource == "cpu" else "full") or lines.get("some", "")
        for field in line.split()[1:]:
            name, _, number = field.partition("=")
            if name == key:
                return float(number) <= threshold
        raise Undetermined("No data available")

    def t_MemoryPressure(self, value):
        return self._pressure("memory", value)

    def t_CPUPressure(self, value):
        return self._pressure("cpu", value)

    def t_IOPressure(self, value):
        return self._pressure("io", value)

    # --- who we are ------------------------------------------------------------------------------
    def t_User(self, value):
        uid, euid = os.getuid(), os.geteuid()
        if value == "root":
            return 0 in (uid, euid)
        if value == "@system":
            return min(uid, euid) <= 999
        if value.isdigit():
            return int(value) in (uid, euid)
        import pwd
        try:
            return pwd.getpwnam(value).pw_uid in (uid, euid)
        except KeyError:
            return False

    def t_Group(self, value):
        mine = {os.getgid(), os.getegid(), *os.getgroups()}
        if value.isdigit():
            return int(value) in mine
        import grp
        try:
            return grp.getgrnam(value).gr_gid in mine
        except KeyError:
            return False

    def t_Environment(self, value):
        env = self.manager_env()
        if "=" in value:
            key, _, wanted = value.partition("=")
            return env.get(key) == wanted
        return value in env

    def t_Credential(self, value):
        directory = self.manager_env().get("CREDENTIALS_DIRECTORY")
        if not directory or "/" in value or value in ("", ".", ".."):
            return False
        return os.path.lexists(os.path.join(directory, value))

    def t_ControlGroupController(self, value):
        unified = os.path.exists(self.live("/sys/fs/cgroup/cgroup.controllers"))
        if value == "v2":
            return unified
        if value == "v1":
            return not unified
        if unified:
            try:
                have = set(self.read("/sys/fs/cgroup/cgroup.controllers").split())
            except OSError:
                raise Undetermined("No such file or directory") from None
        else:
            try:
                have = {line.split()[0] for line in self.read("/proc/cgroups").splitlines()[1:]
                        if len(line.split()) > 3 and line.split()[3] == "1"}
            except OSError:
                raise Undetermined("No such file or directory") from None
        wanted = set(value.split())
        return wanted <= have

    def t_OSRelease(self, value):
        fields = self._os_release()
        for item in value.split():
            for op in ("!=", "<=", ">=", "=", "<", ">"):
                key, sep, expected = item.partition(op)
                if sep and key and "=" not in key and "<" not in key and ">" not in key \
                        and "!" not in key:
                    break
            else:
                raise Undetermined("Invalid argument")
            actual = fields.get(key, "")
            if op in ("=", "!="):
                if (actual == expected) != (op == "="):
                    return False
            elif not _compare(verscmp(actual, expected), op, 0):
                return False
        return True

    def _os_release(self) -> dict:
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            try:
                text = self.read(path, 65536)
            except OSError:
                continue
            fields = {}
            for line in text.splitlines():
                key, sep, val = line.strip().partition("=")
                if sep and not key.startswith("#"):
                    fields[key] = val.strip().strip("\"'")
            return fields
        return {}
