"""Parsing one native unit (fragment and drop-ins) into `UnitConfig` with systemd 252's rules
(reference: unit-files.md sections 3-14): every setting real packages use, the warnings systemd
logs for bad values, and the fatal ones that make a unit bad-setting.

Used by `shim/backends/native.py` (UnitFiles.load) when the parse cache has no entry for the
unit, so that listing hundreds of unchanged units imports none of this.
"""

import os
import string

from shim.backends import envfile, execline
from shim.backends.native import is_valid_name
from shim.backends.unitparse import (INFINITY, USEC, ParseError, SpecifierError, Specifiers,
                                     WordError, extract_word, parse, parse_boolean,
                                     parse_timespan)
from shim.core.config import UnitConfig
from shim.proc.signals import parse_signal

_TYPE_SECTIONS = {"service": "Service", "socket": "Socket", "timer": "Timer", "mount": "Mount",
                  "automount": "Automount", "swap": "Swap", "path": "Path", "slice": "Slice",
                  "scope": "Scope"}


class _Fatal(Exception):
    pass


_SERVICE_TYPES = ("simple", "exec", "forking", "oneshot", "dbus", "notify", "idle")
_RESTART = ("no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always")
_KILL_MODES = ("control-group", "process", "mixed", "none")
_NOTIFY = ("none", "main", "exec", "all")
_EXEC_KEYS = {"ExecCondition": "exec_condition", "ExecStartPre": "exec_start_pre",
              "ExecStart": "exec_start", "ExecStartPost": "exec_start_post",
              "ExecReload": "exec_reload", "ExecStop": "exec_stop", "ExecStopPost": "exec_stop_post"}
_DEP_KEYS = {"Wants": "wants", "Requires": "requires", "Requisite": "requisite",
             "BindsTo": "binds_to", "PartOf": "part_of", "Conflicts": "conflicts",
             "Before": "before", "After": "after", "OnFailure": "on_failure",
             "OnSuccess": "on_success"}
_INSTALL_LISTS = {"WantedBy": "wanted_by", "RequiredBy": "required_by", "UpheldBy": "upheld_by",
                  "Also": "also", "Alias": "alias"}
_DIR_KEYS = {"RuntimeDirectory": "runtime_directory", "StateDirectory": "state_directory",
             "CacheDirectory": "cache_directory", "LogsDirectory": "logs_directory",
             "ConfigurationDirectory": "configuration_directory"}
_CONDITIONS = ("PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink",
               "PathIsMountPoint", "PathIsReadWrite", "PathIsEncrypted", "DirectoryNotEmpty",
               "FileNotEmpty", "FileIsExecutable", "NeedsUpdate", "FirstBoot", "Architecture",
               "Firmware", "Virtualization", "Host", "KernelCommandLine", "KernelVersion",
               "Credential", "Security", "Capability", "ACPower", "Memory", "CPUFeature", "CPUs",
               "Environment", "User", "Group", "ControlGroupController", "OSRelease",
               "MemoryPressure", "CPUPressure", "IOPressure")
_PATH_CONDITIONS = ("PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink",
                    "PathIsMountPoint", "PathIsReadWrite", "PathIsEncrypted",
                    "DirectoryNotEmpty", "FileNotEmpty", "FileIsExecutable", "NeedsUpdate")
_BYTE_LIMITS = ("AS", "CORE", "DATA", "FSIZE", "MEMLOCK", "MSGQUEUE", "RSS", "STACK")
_LIMITS = ("CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NOFILE", "AS", "NPROC", "MEMLOCK",
           "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME")
# Settings systemd knows that the shim accepts and records but does not apply (no warning).
_ACCEPTED_SERVICE = frozenset("""
PrivateTmp PrivateDevices PrivateNetwork PrivateUsers PrivateIPC PrivateMounts ProtectSystem
ProtectHome ProtectControlGroups ProtectKernelTunables ProtectKernelModules ProtectKernelLogs
ProtectClock ProtectHostname ProtectProc ProcSubset NoNewPrivileges CapabilityBoundingSet
AmbientCapabilities ReadWritePaths ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths
TemporaryFileSystem BindPaths BindReadOnlyPaths DeviceAllow DevicePolicy SystemCallFilter
SystemCallArchitectures SystemCallErrorNumber RestrictAddressFamilies RestrictNamespaces
RestrictRealtime RestrictSUIDSGID LockPersonality MemoryDenyWriteExecute RemoveIPC KeyringMode
MountFlags Delegate Slice CPUAccounting MemoryAccounting TasksAccounting IOAccounting
BlockIOAccounting TasksMax MemoryMax MemoryHigh MemoryLimit MemoryLow MemoryMin MemorySwapMax
CPUQuota CPUWeight CPUShares StartupCPUWeight IOWeight IPAccounting IPAddressAllow IPAddressDeny
OOMScoreAdjust OOMPolicy CPUSchedulingPolicy CPUSchedulingPriority CPUSchedulingResetOnFork
CPUAffinity IOSchedulingClass IOSchedulingPriority TimerSlackNSec Personality
SecureBits PAMName TTYPath TTYReset TTYVHangup TTYVTDisallocate SyslogIdentifier SyslogFacility
SyslogLevel SyslogLevelPrefix LogLevelMax LogExtraFields LogRateLimitIntervalSec
LogRateLimitBurst LogNamespace StandardInputText StandardInputData FileDescriptorStoreMax
NonBlocking Sockets USBFunctionDescriptors USBFunctionStrings RootImage RootHash MountAPIVFS
ProtectKernelLogs StateDirectoryMode CacheDirectoryMode LogsDirectoryMode
ConfigurationDirectoryMode LoadCredential LoadCredentialEncrypted SetCredential
SetCredentialEncrypted ImportCredential SELinuxContext AppArmorProfile SmackProcessLabel
IgnoreOnIsolate UtmpIdentifier UtmpMode RuntimeMaxSec RuntimeRandomizedExtraSec
TimeoutStartFailureMode TimeoutStopFailureMode WatchdogSignal OOMScoreAdjust ExecSearchPath
Restrict ManagedOOMSwap ManagedOOMMemoryPressure ManagedOOMMemoryPressureLimit
ManagedOOMPreference CoredumpFilter NUMAPolicy NUMAMask DisableControllers
""".split())
_ACCEPTED_UNIT = frozenset("""
Upholds PropagatesReloadTo ReloadPropagatedFrom PropagatesStopTo StopPropagatedFrom
JoinsNamespaceOf OnFailureJobMode IgnoreOnIsolate StopWhenUnneeded AllowIsolate CollectMode
SuccessActionExitStatus FailureActionExitStatus JobTimeoutSec JobRunningTimeoutSec
JobTimeoutAction JobTimeoutRebootArgument RebootArgument
""".split())


# exit_status_from_string(): names of exit codes (generic, LSB, BSD sysexits, systemd's own)
_EXIT_NAMES = dict(zip(
    "SUCCESS FAILURE INVALIDARGUMENT NOTIMPLEMENTED NOPERMISSION NOTINSTALLED NOTCONFIGURED "
    "NOTRUNNING".split(), range(8)))
_EXIT_NAMES.update(zip("USAGE DATAERR NOINPUT NOUSER NOHOST UNAVAILABLE SOFTWARE OSERR OSFILE "
                       "CANTCREAT IOERR TEMPFAIL PROTOCOL NOPERM CONFIG".split(), range(64, 79)))
_EXIT_NAMES.update(zip("CHDIR NICE FDS EXEC MEMORY LIMITS OOM_ADJUST SIGNAL_MASK STDIN STDOUT "
                       "CHROOT IOPRIO TIMERSLACK SECUREBITS SETSCHEDULER CPUAFFINITY GROUP USER "
                       "CAPABILITIES CGROUP SETSID CONFIRM STDERR".split(), range(200, 223)))
_EXIT_NAMES.update({"PAM": 224, "NETWORK": 225, "NAMESPACE": 226, "NO_NEW_PRIVILEGES": 227,
                    "SECCOMP": 228, "SELINUX_CONTEXT": 229, "PERSONALITY": 230,
                    "APPARMOR_PROFILE": 231, "ADDRESS_FAMILIES": 232, "RUNTIME_DIRECTORY": 233,
                    "CHOWN": 235, "SMACK_PROCESS_LABEL": 236, "KEYRING": 237,
                    "STATE_DIRECTORY": 238, "CACHE_DIRECTORY": 239, "LOGS_DIRECTORY": 240,
                    "CONFIGURATION_DIRECTORY": 241, "NUMA_POLICY": 242, "CREDENTIALS": 243,
                    "BPF": 245, "EXCEPTION": 255})


def _exit_status_words(value: str):
    codes, signals, bad = [], [], []
    for word in value.split():
        if word in _EXIT_NAMES:
            codes.append(_EXIT_NAMES[word])
            continue
        if word.isdigit():
            n = int(word)
            if 0 <= n <= 255:
                codes.append(n)
                continue
            bad.append(word)
            continue
        try:
            signals.append(parse_signal(word))
        except ValueError:
            bad.append(word)
    return codes, signals, bad


def _parse_limit_value(kind: str, text: str) -> int:
    if text == "infinity":
        return INFINITY
    if kind in _BYTE_LIMITS:
        mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5,
                "E": 1024 ** 6}
        if text and text[-1] in mult:
            return int(text[:-1]) * mult[text[-1]]
        if text.endswith("B") and text[-2:-1] in mult:
            return int(text[:-2]) * mult[text[-2]]
        return int(text)
    if kind == "CPU":           # rlimit_parse_sec(): a time span rounds up to whole seconds
        return -(-parse_timespan(text) // USEC) if not text.isdigit() else int(text)
    if kind == "NICE" and text[:1] in ("+", "-"):
        level = int(text)       # rlimit_parse_nice(): a signed number is a nice level
        if not -20 <= level <= 19:
            raise ValueError(text)
        return 20 - level       # the kernel's raw 1..40
    if kind == "RTTIME":
        return parse_timespan(text, 1) if not text.isdigit() else int(text)
    return int(text)


def _valid_user(name: str) -> bool:
    if name.isdigit():
        return int(name) < 2 ** 32 - 1
    ok = string.ascii_letters + string.digits + "_-."
    return bool(name) and (name[0].isalpha() or name[0] == "_") and \
        all(c in ok for c in name) and len(name) <= 256


class Loader:
    """One unit's files -> UnitConfig, with the warnings systemd would log."""

    def __init__(self, files, unit):
        self.files, self.unit = files, unit
        self.type = unit.id.rpartition(".")[2]
        self.warnings = []
        self.fatal = None
        self.v = {}                   # field -> value (lists as python lists)
        self.env = {}                 # ordered key -> value (Environment=)
        self.type_set = False
        self.start_timeout_set = False
        self.stop_timeout_set = False
        self.success_action_set = False
        self.parse_error = False

    def list_for(self, field: str, value: str):
        """A list setting: an empty assignment resets it (None: nothing more to parse), else the
        list that the assignment's words extend."""
        if not value:
            self.v[field] = []
            return None
        return self.v.setdefault(field, [])

    def warn(self, a, msg):
        self.warnings.append("%s:%d: %s" % (a.path, a.line, msg))

    def fail(self, a, msg):
        self.warn(a, msg)
        if self.fatal is None:
            self.fatal = msg

    def standard_stream(self, a, key, value):
        """A StandardInput=/Output=/Error= value as systemd 252 takes it: refused ones keep the
        default (with its warning), the obsolete syslog kinds become journal."""
        from shim.engine.execenv import parse_input, parse_output    # pure parsers
        if key == "StandardInput":
            if parse_input(value) is None:
                self.warn(a, "Failed to parse input specifier, ignoring: %s" % value)
                return None
            return value
        if parse_output(value) is None:
            self.warn(a, "Failed to parse output specifier, ignoring: %s" % value)
            return None
        if value in ("syslog", "syslog+console"):
            updated = value.replace("syslog", "journal")
            self.warn(a, "Standard output type %s is obsolete, automatically updating to %s. "
                         "Please update your unit file, and consider removing the setting "
                         "altogether." % (value, updated))
            return updated
        return value

    def spec(self, a, text):
        """Resolve specifiers; None (with a warning) when unresolvable."""
        try:
            return self.specifiers.expand(text)
        except SpecifierError as e:
            self.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s" % (text, e))
            return None

    def run(self) -> UnitConfig:
        unit = self.unit
        if unit.is_template:
            return UnitConfig(id=unit.id, names=unit.names, description=unit.id,
                              fragment_path=unit.fragment_path, dropin_paths=unit.dropin_paths,
                              template=unit.id, load_state="error",
                              load_error="Unit name %s is missing the instance name." % unit.id)
        files = [(unit.fragment_path, unit.text, True)] + \
            [(p, self.files._read_dropin(p), False) for p in unit.dropin_paths]
        parsed = []
        for path, text, is_fragment in files:
            try:
                assignments, warnings = parse(text, path)
            except ParseError as e:
                self.warnings.append(str(e))
                self.fatal = self.fatal or str(e).split(": ", 1)[-1]
                self.parse_error = True          # -EBADMSG: LoadState=error, not bad-setting
                continue
            self.warnings += warnings
            parsed.append((assignments, is_fragment))
        user = ""
        for assignments, _ in parsed:
            for a in assignments:
                if a.key == "User" and a.section == "Service":
                    user = a.value
        self.specifiers = Specifiers(unit.id, unit.fragment_path, user,
                                     opener=self.files.read)
        type_section = _TYPE_SECTIONS.get(self.type)
        known = {"Unit", "Install"} | ({type_section} if type_section else set())
        for assignments, is_fragment in parsed:
            for a in assignments:
                if a.key is None:
                    if a.section not in known and not a.section.startswith("X-"):
                        self.warn(a, "Unknown section '%s'. Ignoring." % a.section)
                    continue
                if a.section not in known or a.key.startswith("X-"):
                    continue
                if a.section == "Install" and not is_fragment:
                    continue
                handler = getattr(self, "s_" + a.section, None)
                if handler is None or not handler(a):
                    if a.section == "Service" and self.type != "service":
                        continue
                    if a.section not in ("Unit", "Install", "Service"):
                        continue       # other unit types: not interpreted
                    self.warn(a, "Unknown key '%s' in section [%s], ignoring." % (a.key, a.section))
        return self.finish()

    # --- [Unit] ---
    def s_Unit(self, a):
        k, v = a.key, a.value
        if k == "Description":
            r = self.spec(a, v)
            if r is not None:
                self.v["description"] = r
        elif k == "Documentation":
            docs = self.list_for("documentation", v)
            if docs is None:
                return True
            for word in v.split():
                word = self.spec(a, word)
                if word is None:
                    continue
                if not word.startswith(("http://", "https://", "file:", "info:", "man:")) \
                        or any(c in word for c in "\x7f\"'<>\\^`{|}") or \
                        any(ord(c) <= 32 for c in word):
                    self.warn(a, "Invalid URL, ignoring: %s" % word)   # documentation_url_is_valid()
                    continue
                docs.append(word)
        elif k in _DEP_KEYS:
            field = _DEP_KEYS[k]
            lst = self.list_for(field, v)
            if lst is None:
                return True
            for word in v.split():
                name = self.spec(a, word)
                if name is None:
                    continue
                if not is_valid_name(name):
                    self.warn(a, "Failed to add dependency on %s, ignoring: Invalid argument" % name)
                    continue
                if name not in lst:
                    lst.append(name)
        elif k == "RequiresMountsFor":
            if not v:
                self.v["requires_mounts_for"] = []
            else:
                self.v.setdefault("requires_mounts_for", []).extend(v.split())
        elif k in ("DefaultDependencies", "RefuseManualStart", "RefuseManualStop"):
            self.boolean(a, {"DefaultDependencies": "default_dependencies",
                             "RefuseManualStart": "refuse_manual_start",
                             "RefuseManualStop": "refuse_manual_stop"}[k])
        elif k in ("StartLimitIntervalSec", "StartLimitInterval"):
            self.timespan(a, "start_limit_interval_usec")
        elif k == "StartLimitBurst":
            self.unsigned(a, "start_limit_burst")
        elif k in ("StartLimitAction", "SuccessAction", "FailureAction"):
            field = {"StartLimitAction": "start_limit_action", "SuccessAction": "success_action",
                     "FailureAction": "failure_action"}[k]
            self.v[field] = v or "none"
            if k == "SuccessAction":
                self.success_action_set = v not in ("", "none")
        elif k == "SourcePath":
            self.v["source_path"] = v
        elif k.startswith("Condition") or k.startswith("Assert"):
            is_assert = k.startswith("Assert")
            kind = k[6:] if is_assert else k[9:]
            if kind not in _CONDITIONS:
                return False
            field = "asserts" if is_assert else "conditions"
            if not v:
                self.v[field] = []
                return True
            rest = v
            is_path = kind in _PATH_CONDITIONS
            trigger = rest.startswith("|")
            if trigger:
                rest = rest[1:] if is_path else rest[1:].lstrip(" \t\n\r")
            negate = rest.startswith("!")
            if negate:
                rest = rest[1:] if is_path else rest[1:].lstrip(" \t\n\r")
            rest = self.spec(a, rest)
            if rest is None:
                return True
            if is_path:
                if not rest.startswith("/"):
                    self.warn(a, "%s= path is not absolute, ignoring: %s" % (k, rest))
                    return True
                rest = execline._path_simplify(rest)
            self.v.setdefault(field, []).append((kind, negate, trigger, rest))
        elif k in _ACCEPTED_UNIT:
            pass
        else:
            return False
        return True

    # --- [Install] ---
    def s_Install(self, a):
        k, v = a.key, a.value
        if k in _INSTALL_LISTS:
            field = _INSTALL_LISTS[k]
            lst = self.list_for(field, v)
            if lst is None:
                return True
            for word in v.split():
                name = self.spec(a, word)
                if name and name not in lst:
                    lst.append(name)
        elif k == "DefaultInstance":
            r = self.spec(a, v)
            if r is not None:
                self.v["default_instance"] = r
        else:
            return False
        return True

    # --- value helpers ---
    def boolean(self, a, field):
        try:
            self.v[field] = parse_boolean(a.value)
        except ValueError:
            self.warn(a, "Failed to parse boolean value, ignoring: %s" % a.value)

    def timespan(self, a, field, zero_infinity=False):
        """config_parse_sec(); zero_infinity: the Timeout*Sec= parsers (parse_sec_fix_0)."""
        try:
            usec = parse_timespan(a.value)
        except ValueError:
            if zero_infinity:
                self.warn(a, "Failed to parse %s= parameter, ignoring: %s" % (a.key, a.value))
            else:
                self.warn(a, "Failed to parse sec value, ignoring: %s" % a.value)
            return False
        if zero_infinity and usec == 0:
            usec = INFINITY
        self.v[field] = usec
        return True

    def unsigned(self, a, field):
        try:
            n = int(a.value)
            if n < 0:
                raise ValueError
            self.v[field] = n
        except ValueError:
            self.warn(a, "Failed to parse number, ignoring: %s" % a.value)

    def enum(self, a, field, choices, what):
        if a.value in choices:
            self.v[field] = a.value
            return True
        self.warn(a, "Failed to parse %s, ignoring: %s" % (what, a.value))
        return False

    def signal(self, a, field):
        try:
            self.v[field] = parse_signal(a.value)
        except ValueError:
            self.warn(a, "Failed to parse signal number, ignoring: %s" % a.value)

    # --- [Service] ---
    def s_Service(self, a):
        if self.type != "service":
            return False
        k, v = a.key, a.value
        if k in _EXEC_KEYS:
            self.exec_line(a, _EXEC_KEYS[k])
        elif k == "Type":
            if self.enum(a, "type", _SERVICE_TYPES, "service type"):
                self.type_set = True
        elif k == "Restart":
            self.enum(a, "restart", _RESTART, "service restart specifier")
        elif k == "KillMode":
            if self.enum(a, "kill_mode", _KILL_MODES, "kill mode") and v == "none":
                self.warnings.append(
                    "%s: Unit uses KillMode=none. This is unsafe, as it disables systemd's "
                    "process lifecycle management for the service. Please update the service to "
                    "use a safer KillMode=, such as 'mixed' or 'control-group'. Support for "
                    "KillMode=none is deprecated and will eventually be removed." % self.unit.id)
        elif k == "NotifyAccess":
            self.enum(a, "notify_access", _NOTIFY, "notify access specifier")
        elif k == "BusName":
            self.v["bus_name"] = self.spec(a, v) or ""
        elif k == "PIDFile":
            if not v:
                self.v["pid_file"] = ""
                return True
            p = self.spec(a, v)
            if p is None:
                return True
            if not p.startswith("/"):
                p = "/run/" + p
            self.v["pid_file"] = os.path.normpath(p)
        elif k in ("RemainAfterExit", "GuessMainPID", "SendSIGKILL", "SendSIGHUP", "IgnoreSIGPIPE",
                   "DynamicUser"):
            self.boolean(a, {"RemainAfterExit": "remain_after_exit", "GuessMainPID": "guess_main_pid",
                             "SendSIGKILL": "send_sigkill", "SendSIGHUP": "send_sighup",
                             "IgnoreSIGPIPE": "ignore_sigpipe", "DynamicUser": "dynamic_user"}[k])
        elif k == "RestartSec":
            self.timespan(a, "restart_usec")
        elif k == "TimeoutSec":
            if self.timespan(a, "timeout_start_usec", True):
                self.v["timeout_stop_usec"] = self.v["timeout_start_usec"]
                self.start_timeout_set = self.stop_timeout_set = True
        elif k == "TimeoutStartSec":
            if self.timespan(a, "timeout_start_usec", True):
                self.start_timeout_set = True
        elif k == "TimeoutStopSec":
            if self.timespan(a, "timeout_stop_usec", True):
                self.stop_timeout_set = True
        elif k == "TimeoutAbortSec":
            if not v:
                self.v["timeout_abort_usec"] = None
            else:
                self.timespan(a, "timeout_abort_usec", True)
        elif k == "WatchdogSec":
            self.timespan(a, "watchdog_usec")
        elif k in ("KillSignal", "FinalKillSignal", "RestartKillSignal"):
            self.signal(a, {"KillSignal": "kill_signal", "FinalKillSignal": "final_kill_signal",
                            "RestartKillSignal": "restart_kill_signal"}[k])
        elif k in ("SuccessExitStatus", "RestartPreventExitStatus", "RestartForceExitStatus"):
            base = {"SuccessExitStatus": "success_exit", "RestartPreventExitStatus":
                    "restart_prevent_exit", "RestartForceExitStatus": "restart_force_exit"}[k]
            if not v:
                self.v[base + "_status"] = []
                self.v[base + "_signals"] = []
                return True
            codes, signals, bad = _exit_status_words(v)
            for word in bad:
                self.warn(a, "Failed to parse value, ignoring: %s" % word)
            lst = self.v.setdefault(base + "_status", [])
            lst += [c for c in codes if c not in lst]
            sl = self.v.setdefault(base + "_signals", [])
            sl += [s for s in signals if s not in sl]
        elif k in ("StartLimitInterval", "StartLimitBurst"):
            if k == "StartLimitBurst":
                self.unsigned(a, "start_limit_burst")
            else:
                self.timespan(a, "start_limit_interval_usec")
        elif k in ("User", "Group"):
            r = self.spec(a, v)
            if r is None:
                return True
            if r and not _valid_user(r):
                self.warn(a, "Invalid user/group name or numeric ID, ignoring: %s" % r)
                return True
            self.v[k.lower()] = r
        elif k == "SupplementaryGroups":
            lst = self.list_for("supplementary_groups", v)
            if lst is None:
                return True
            for word in v.split():
                r = self.spec(a, word)
                if r and _valid_user(r):
                    lst.append(r)
                elif r:
                    self.warn(a, "Invalid user/group name or numeric ID, ignoring: %s" % r)
        elif k == "WorkingDirectory":
            self.working_directory(a)
        elif k == "RootDirectory":
            self.v["root_directory"] = self.spec(a, v) or ""
        elif k == "UMask":
            try:
                mode = int(v, 8)
                if not 0 <= mode <= 0o7777:
                    raise ValueError
                self.v["umask"] = mode
            except ValueError:
                self.warn(a, "Failed to parse access mode '%s', ignoring: Invalid argument" % v)
        elif k == "RuntimeDirectoryMode":
            try:
                self.v["runtime_directory_mode"] = int(v, 8)
            except ValueError:
                self.warn(a, "Failed to parse access mode '%s', ignoring: Invalid argument" % v)
        elif k == "RuntimeDirectoryPreserve":
            if v in ("restart",):
                self.v["runtime_directory_preserve"] = v
            else:
                try:
                    self.v["runtime_directory_preserve"] = "yes" if parse_boolean(v) else "no"
                except ValueError:
                    self.warn(a, "Failed to parse RuntimeDirectoryPreserve=, ignoring: %s" % v)
        elif k in _DIR_KEYS:
            field = _DIR_KEYS[k]
            lst = self.list_for(field, v)
            if lst is None:
                return True
            for word in v.split():
                r = self.spec(a, word)
                if r is None:
                    continue
                name = r.split(":", 1)[0]
                if name.startswith("/") or ".." in name.split("/") or not name:
                    self.warn(a, "%s= path is not valid, ignoring assignment: %s" % (k, r))
                    continue
                lst.append(r)
        elif k == "Environment":
            self.environment(a)
        elif k == "EnvironmentFile":
            if not v:
                self.v["environment_files"] = []
                return True
            r = self.spec(a, v)
            if r is None:
                return True
            path, ignore = envfile.split_prefix(r)
            if not path.startswith("/"):
                self.warn(a, "Path '%s' is not absolute, ignoring." % path)
                return True
            self.v.setdefault("environment_files", []).append((path, ignore))
        elif k in ("PassEnvironment", "UnsetEnvironment"):
            field = "pass_environment" if k == "PassEnvironment" else "unset_environment"
            lst = self.list_for(field, v)
            if lst is None:
                return True
            pos = 0
            while True:
                try:
                    word, pos = extract_word(v, pos, cunescape=(k == "UnsetEnvironment"))
                except WordError:
                    self.warn(a, "Trailing garbage in %s, ignoring: %s" % (k, v))
                    break
                if word is None:
                    break
                try:
                    word = self.specifiers.expand(word)
                except SpecifierError as e:
                    self.warn(a, "Failed to resolve specifiers in %s, ignoring: %s" % (word, e))
                    continue
                if k == "PassEnvironment" and not envfile.name_is_valid(word):
                    self.warn(a, "Invalid environment name for %s, ignoring: %s" % (k, word))
                    continue
                if k == "UnsetEnvironment" and not envfile.name_is_valid(word.split("=", 1)[0]):
                    self.warn(a, "Invalid environment name or assignment %s, ignoring: %s" % (k, word))
                    continue
                if word not in lst:
                    lst.append(word)
        elif k.startswith("Limit") and k[5:].rstrip() in _LIMITS:
            kind = k[5:]
            try:
                if ":" in v:
                    soft, hard = v.split(":", 1)
                    pair = (_parse_limit_value(kind, soft), _parse_limit_value(kind, hard))
                    if pair[0] != INFINITY and pair[1] != INFINITY and pair[0] > pair[1]:
                        raise ValueError
                else:
                    n = _parse_limit_value(kind, v)
                    pair = (n, n)
            except ValueError:
                self.warn(a, "Failed to parse resource value, ignoring: %s" % v)
                return True
            limits = self.v.setdefault("limits", {})
            limits[kind] = pair
        elif k == "Nice":
            try:
                n = int(v)
                if not -20 <= n <= 19:
                    raise ValueError
                self.v["nice"] = n
            except ValueError:
                self.warn(a, "Failed to parse nice priority '%s', ignoring: Invalid argument" % v)
        elif k in ("StandardInput", "StandardOutput", "StandardError"):
            r = self.spec(a, v)
            if r is not None:
                r = self.standard_stream(a, k, r)
            if r is not None:
                self.v["standard_" + k[8:].lower()] = r
        elif k == "ExitType":
            self.enum(a, "exit_type", ("main", "cgroup"), "service exit type")
        elif k in _ACCEPTED_SERVICE:
            self.v.setdefault("sandboxing", []).append((k, v))
        else:
            return False
        return True

    def exec_line(self, a, field):
        if not a.value:
            self.v[field] = []
            return
        try:
            commands = execline.parse(a.value, lambda word, is_path: self.specifiers.expand(word))
        except execline.ExecError as e:
            if e.fatal:
                self.fail(a, e.message)
            else:
                self.warn(a, e.message)
            return
        self.v.setdefault(field, []).extend(commands)

    def working_directory(self, a):
        v = a.value
        if not v:
            self.v["working_directory"] = ""
            self.v["working_directory_optional"] = False
            self.v["working_directory_home"] = False
            return
        optional = v.startswith("-")
        if optional:
            v = v[1:]
        if v == "~":
            self.v.update(working_directory="~", working_directory_home=True,
                          working_directory_optional=optional)
            return
        r = self.spec(a, v)
        if r is None:
            return
        if not r.startswith("/"):
            self.fail(a, "WorkingDirectory= path is not absolute: %s" % r)
            return
        self.v.update(working_directory=os.path.normpath(r), working_directory_home=False,
                      working_directory_optional=optional)

    def environment(self, a):
        """config_parse_environ(): words unquoted and unescaped, then specifiers per word; a
        syntax error drops the rest of the line."""
        if not a.value:
            self.env = {}
            return
        pos = 0
        while True:
            try:
                word, pos = extract_word(a.value, pos)
            except WordError:
                self.warn(a, "Invalid syntax, ignoring: %s" % a.value)
                return
            if word is None:
                return
            try:
                word = self.specifiers.expand(word)
            except SpecifierError as e:
                self.warn(a, "Failed to resolve specifiers in %s, ignoring: %s" % (word, e))
                continue
            key, eq, value = word.partition("=")
            if not eq or not envfile.name_is_valid(key):
                self.warn(a, "Invalid environment assignment, ignoring: %s" % word)
                continue
            self.env.pop(key, None)
            self.env[key] = value

    # --- verification and the result ---
    def finish(self) -> UnitConfig:
        unit, v = self.unit, self.v
        values = {}
        for key, value in v.items():
            values[key] = tuple(value) if isinstance(value, list) else value
        values["environment"] = tuple("%s=%s" % kv for kv in self.env.items())
        c = UnitConfig(id=unit.id, names=unit.names, fragment_path=unit.fragment_path,
                       dropin_paths=unit.dropin_paths, template=unit.template,
                       instance=unit.instance, **values)
        if self.type == "service":
            c = self.fix_service(c)
        warnings = list(self.warnings)
        if self.fatal is not None:
            warnings.append("%s: Unit configuration has fatal error, unit will not be started."
                            % unit.id)
            c = c.replace(load_state="error" if self.parse_error else "bad-setting",
                          load_error=self.fatal)
        return c.replace(warnings=tuple(warnings))

    def fix_service(self, c):
        changes = {}
        if not self.type_set:
            if c.bus_name:
                changes["type"] = "dbus"
            elif c.exec_start:
                changes["type"] = "simple"
            else:
                changes["type"] = "oneshot"
        typ = changes.get("type", c.type)
        if typ == "oneshot" and not self.start_timeout_set:
            changes["timeout_start_usec"] = INFINITY
        if not c.notify_access:
            changes["notify_access"] = "main" if typ == "notify" or c.watchdog_usec else "none"
        if c.timeout_abort_usec is None:
            changes["timeout_abort_usec"] = changes.get("timeout_stop_usec", c.timeout_stop_usec)
        if c.restart_kill_signal is None:
            changes["restart_kill_signal"] = c.kill_signal
        c = c.replace(**changes)
        msg = None
        pam = any(k == "PAMName" and v for k, v in c.sandboxing)
        if not c.exec_start and not c.exec_stop and not self.success_action_set:
            msg = "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing."
        elif typ != "oneshot" and not c.exec_start:
            msg = "Service has no ExecStart= setting, which is only allowed for Type=oneshot " \
                  "services. Refusing."
        elif not c.remain_after_exit and not c.exec_start and not self.success_action_set:
            msg = "Service has no ExecStart= and no SuccessAction= settings and does not have " \
                  "RemainAfterExit=yes set. Refusing."
        elif typ != "oneshot" and len(c.exec_start) > 1:
            msg = "Service has more than one ExecStart= setting, which is only allowed for " \
                  "Type=oneshot services. Refusing."
        elif typ == "oneshot" and c.restart in ("always", "on-success"):
            msg = "Service has Restart= set to either always or on-success, which isn't allowed " \
                  "for Type=oneshot services. Refusing."
        elif typ == "oneshot" and (c.restart_force_exit_status or c.restart_force_exit_signals):
            msg = "Service has RestartForceExitStatus= set, which isn't allowed for Type=oneshot " \
                  "services. Refusing."
        elif typ == "oneshot" and c.exit_type == "cgroup":
            msg = "Service has ExitType=cgroup set, which isn't allowed for Type=oneshot " \
                  "services. Refusing."
        elif typ == "dbus" and not c.bus_name:
            msg = "Service is of type D-Bus but no D-Bus service name has been specified. Refusing."
        elif pam and c.kill_mode not in ("control-group", "mixed"):
            msg = "Service has PAM enabled. Kill mode must be set to 'control-group' or 'mixed'. " \
                  "Refusing."
        if not msg and c.bus_name and typ != "dbus":
            self.warnings.append("%s: Service has a D-Bus service name specified, but is not of "
                                 "type dbus. Ignoring." % self.unit.id)
        if msg and self.fatal is None:
            self.warnings.append("%s: %s" % (self.unit.id, msg))
            self.fatal = msg
        if c.user == "nobody":
            self.warnings.append("%s: Special user nobody configured, this is not safe!"
                                 % self.unit.id)
        return c
