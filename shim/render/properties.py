"""`systemctl show`: the properties of a unit, in D-Bus order, formatted as systemd formats them.

Order is systemd ≤257's: the type-specific interface (Service) first, then kill settings, then
org.freedesktop.systemd1.Unit. Values are strings; '' means empty (hidden unless -a or -p).
"""

from shim.render.timefmt import timespan, timestamp

def _exec(commands, verb, rt) -> str:
    """ExecStart= and friends as `show` prints them: one { ... } per command, with the last run's
    pid and status for the command we ran."""
    out = []
    last = rt.record.last_exec if rt.record.last_exec.get("verb") == verb else {}
    for command in commands:
        argv = " ".join(command.argv)
        ignore = "yes" if command.ignore_errors else "no"
        if last:
            code = last.get("code", "(null)")
            when = timestamp(last.get("time", 0)) or "n/a"
            out.append("{ path=%s ; argv[]=%s ; ignore_errors=%s ; start_time=[%s] ; stop_time=[%s] ; "
                       "pid=%s ; code=%s ; status=%s }" % (command.path, argv, ignore, when, when,
                                                          last.get("pid", 0), code, last.get("status", 0)))
        else:
            out.append("{ path=%s ; argv[]=%s ; ignore_errors=%s ; start_time=[n/a] ; stop_time=[n/a] ; "
                       "pid=0 ; code=(null) ; status=0/0 }" % (command.path, argv, ignore))
    return " ".join(out)


def _yes(flag) -> str:
    return "yes" if flag else "no"


def _current(value) -> str:
    """A *Current / *NSec counter as show prints it: the number, or [not set] when unknown."""
    return "[not set]" if value is None or value >= 2 ** 64 - 1 else str(value)


def unit_properties(unit, rt, config, *, unit_file_state: str, tasks: int, usage=None,
                    preset: str = "enabled") -> list:
    """[(name, value)] for one unit, from its `UnitConfig` (None when it has none: not found,
    a target) and its live `Runtime`."""
    props = []
    add = lambda name, value: props.append((name, "" if value is None else str(value)))
    if config is not None:
        add("Type", config.type)
        add("Restart", config.restart)
        add("PIDFile", config.pid_file)
        add("NotifyAccess", config.notify_access or ("main" if config.type == "notify" else "none"))
        add("RestartUSec", timespan(config.restart_usec))
        add("TimeoutStartUSec", timespan(config.timeout_start_usec))
        add("TimeoutStopUSec", timespan(config.timeout_stop_usec))
        add("RuntimeMaxUSec", "infinity")
        add("WatchdogUSec", "0" if not config.watchdog_usec else
            timespan(config.watchdog_usec) if rt.is_active else "infinity")
        add("RootDirectoryStartOnly", "no")
        add("RemainAfterExit", _yes(config.remain_after_exit))
        add("GuessMainPID", _yes(config.guess_main_pid))
        add("SuccessExitStatus", " ".join(str(c) for c in config.success_exit_status))
        add("MainPID", rt.main_pid)
        add("ControlPID", rt.control_pid)
        add("FileDescriptorStoreMax", 0)
        add("StatusText", rt.notify.get("status", "") if rt.notify else "")
        add("StatusErrno", rt.notify.get("errno", 0) if rt.notify else 0)
        add("Result", rt.result)
        add("ReloadResult", "success")
        add("CleanResult", "success")
        add("NRestarts", rt.record.n_restarts)
        add("ExecMainStartTimestamp", timestamp(rt.record.active_since))
        add("ExecMainPID", rt.main_pid or rt.record.last_exec.get("pid", 0))
        ended = rt.main_exit or {}
        add("ExecMainExitTimestamp", timestamp(ended.get("time", 0)))
        # CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3, as the bus says
        add("ExecMainCode", {"exited": 1, "killed": 2, "dumped": 3}.get(ended.get("code"), 0))
        add("ExecMainStatus", ended.get("status", 0))
        add("ExecStart", _exec(config.exec_start, "start", rt))
        add("ExecStop", _exec(config.exec_stop, "stop", rt))
        add("ExecStopPost", _exec(config.exec_stop_post, "stop", rt))
        add("ExecReload", _exec(config.exec_reload, "reload", rt))
        add("Slice", "system.slice")
        add("ControlGroup", rt.tracking.cgroup or "")
        add("MemoryCurrent", _current(usage.memory if usage is not None else None))
        add("CPUUsageNSec", _current(usage.cpu_nsec if usage is not None else None))
        add("TasksCurrent", usage.tasks if usage is not None and usage.tasks is not None else tasks)
        add("Environment", " ".join(config.environment))
        add("EnvironmentFiles", " ".join("%s (ignore_errors=%s)" % (path, _yes(optional))
                                         for path, optional in config.environment_files))
        add("UMask", "%04o" % config.umask)
        add("WorkingDirectory", ("!" if config.working_directory_optional else "") +
            ("~" if config.working_directory_home else config.working_directory))
        add("User", config.user)
        add("Group", config.group)
        add("IgnoreSIGPIPE", _yes(config.ignore_sigpipe))
        add("KillMode", config.kill_mode)
        add("KillSignal", config.kill_signal)
        add("FinalKillSignal", config.final_kill_signal)
        add("SendSIGKILL", _yes(config.send_sigkill))
        add("SendSIGHUP", _yes(config.send_sighup))
    elif unit.id.endswith(".service"):
        add("Type", "simple")
        add("MainPID", 0)
        add("ControlPID", 0)
        add("Result", "success")
        add("MemoryCurrent", "[not set]")
        add("CPUUsageNSec", "[not set]")
        add("TasksCurrent", "[not set]")
    add("Id", unit.id)
    add("Names", " ".join(unit.names or (unit.id,)))
    if config is not None:
        add("Requires", " ".join(config.requires))
        add("Requisite", " ".join(config.requisite))
        add("Wants", " ".join(dict.fromkeys(config.wants)))
        add("BindsTo", " ".join(config.binds_to))
        add("PartOf", " ".join(config.part_of))
        add("WantedBy", " ".join(config.wanted_by))
        add("Conflicts", " ".join(config.conflicts))
        add("Before", " ".join(dict.fromkeys(config.before)))
        add("After", " ".join(dict.fromkeys(config.after)))
        add("Documentation", " ".join(config.documentation))
    add("Description", unit.description or unit.id)
    add("LoadState", rt.load_state)
    add("ActiveState", rt.active_state)
    add("SubState", rt.sub_state)
    add("FragmentPath", "/dev/null" if rt.load_state == "masked" else
        config.fragment_path if config is not None else "")
    add("SourcePath", unit.source_path if unit.backend != "native" else "")
    if config is not None and config.dropin_paths:
        add("DropInPaths", " ".join(config.dropin_paths))
    add("UnitFileState", unit_file_state if unit.found or rt.load_state == "masked" else "")
    add("UnitFilePreset", preset if unit.found and unit.backend != "target" else "")
    add("StateChangeTimestamp", timestamp(rt.since))
    add("InactiveExitTimestamp", timestamp(rt.record.active_since))
    add("ActiveEnterTimestamp", timestamp(rt.record.active_since if rt.record.state == "started"
                                          else rt.since if rt.active_state == "active" else 0))
    add("ActiveExitTimestamp", timestamp(rt.record.inactive_since))
    add("InactiveEnterTimestamp", timestamp(rt.record.inactive_since))
    add("CanStart", "yes" if unit.found and unit.backend != "target" else "no")
    add("CanStop", "yes" if unit.found and unit.backend != "target" else "no")
    add("CanReload", "yes" if config is not None and config.exec_reload else "no")
    add("CanIsolate", "yes" if unit.backend == "target" else "no")
    cond, assertion = rt.record.condition, rt.record.assertion
    ran = rt.record.active_since if rt.record.state else 0      # started by us, no conditions
    add("ConditionResult", _yes(cond["result"] if cond else ran))
    add("AssertResult", _yes(assertion["result"] if assertion else (ran and not cond)))
    add("ConditionTimestamp", timestamp(cond["time"] if cond else ran))
    add("AssertTimestamp", timestamp(assertion["time"] if assertion else 0 if cond else ran))
    add("Transient", "no")
    add("InvocationID", rt.record.invocation_id if rt.active_state != "inactive" else "")
    if rt.load_state == "not-found":
        add("LoadError", 'org.freedesktop.systemd1.NoSuchUnit "Unit %s not found."' % unit.id)
    elif rt.load_state == "masked":
        add("LoadError", 'org.freedesktop.systemd1.UnitMasked "Unit %s is masked."' % unit.id)
    return props


def render(props, *, wanted: tuple, value_only: bool, show_empty: bool) -> list:
    """Lines of `show` output for one unit: -p filters (Name or Name=value), --value, -a."""
    lines = []
    filters = {}
    for item in wanted:
        name, sep, expected = item.partition("=")
        filters[name] = expected if sep else None
    for name, value in props:
        if wanted:
            if name not in filters:
                continue
            if filters[name] is not None and filters[name] != value:
                continue
        elif not value and not show_empty:
            continue
        if "\n" in value:
            value = "[unprintable]"
        lines.append(value if value_only else "%s=%s" % (name, value))
    return lines
