"""`systemctl show`: the properties of a unit, in D-Bus order, formatted as systemd formats them.

Order is systemd ≤257's: the type-specific interface (Service) first, then kill settings, then
org.freedesktop.systemd1.Unit. Values are strings; '' means empty (hidden unless -a or -p).
"""

import signal

from shim.render.timefmt import timestamp

USEC = 1000000


def _exec(unit, verb, rt) -> str:
    if not unit.script:
        return ""
    last = rt.record.last_exec if rt.record.last_exec.get("verb") == verb else {}
    argv = "%s %s" % (unit.source_path, verb)
    if last:
        code = "exited" if last.get("code") == "exited" else last.get("code", "(null)")
        return ("{ path=%s ; argv[]=%s ; ignore_errors=no ; start_time=[%s] ; stop_time=[%s] ; "
                "pid=%s ; code=%s ; status=%s }" % (unit.source_path, argv,
                                                    timestamp(last.get("time", 0)) or "n/a",
                                                    timestamp(last.get("time", 0)) or "n/a",
                                                    last.get("pid", 0), code, last.get("status", 0)))
    return ("{ path=%s ; argv[]=%s ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; "
            "pid=0 ; code=(null) ; status=0/0 }" % (unit.source_path, argv))


def unit_properties(unit, rt, *, unit_file_state: str, tasks: int) -> list:
    """[(name, value)] for one unit."""
    props = []
    add = lambda name, value: props.append((name, "" if value is None else str(value)))
    is_service = unit.id.endswith(".service")
    if is_service:
        add("Type", "forking")
        add("Restart", "no")
        add("PIDFile", unit.pidfile)
        add("NotifyAccess", "none")
        add("RestartUSec", "100ms")
        add("TimeoutStartUSec", "5min")
        add("TimeoutStopUSec", "5min")
        add("RuntimeMaxUSec", "infinity")
        add("WatchdogUSec", "0")
        add("RootDirectoryStartOnly", "no")
        add("RemainAfterExit", "no" if unit.pidfile else "yes")
        add("GuessMainPID", "no")
        add("MainPID", rt.main_pid)
        add("ControlPID", rt.control_pid)
        add("FileDescriptorStoreMax", 0)
        add("StatusErrno", 0)
        add("Result", rt.result)
        add("ReloadResult", "success")
        add("CleanResult", "success")
        add("NRestarts", rt.record.n_restarts)
        add("ExecMainStartTimestamp", timestamp(rt.record.active_since))
        add("ExecMainPID", rt.main_pid or rt.record.last_exec.get("pid", 0))
        add("ExecMainCode", 0)
        add("ExecMainStatus", 0)
        add("ExecStart", _exec(unit, "start", rt) if unit.found else "")
        add("ExecStop", _exec(unit, "stop", rt) if unit.found else "")
        add("ExecReload", _exec(unit, "reload", rt) if unit.found and unit.can_reload else "")
        add("Slice", "system.slice" if unit.found else "")
        add("ControlGroup", rt.tracking.cgroup or "")
        add("TasksCurrent", tasks if unit.found else "[not set]")
        add("KillMode", "control-group")
        add("KillSignal", int(signal.SIGTERM))
        add("FinalKillSignal", int(signal.SIGKILL))
        add("SendSIGKILL", "yes")
        add("SendSIGHUP", "no")
    add("Id", unit.id)
    add("Names", " ".join(unit.names or (unit.id,)))
    add("After", " ".join(_after(unit)))
    add("Description", unit.description or unit.id)
    add("LoadState", rt.load_state)
    add("ActiveState", rt.active_state)
    add("SubState", rt.sub_state)
    add("FragmentPath", "/dev/null" if rt.load_state == "masked" else "")
    add("SourcePath", unit.source_path)
    add("UnitFileState", unit_file_state if unit.found or rt.load_state == "masked" else "")
    add("UnitFilePreset", "enabled" if unit.found and unit.backend != "target" else "")
    add("StateChangeTimestamp", timestamp(rt.since))
    add("InactiveExitTimestamp", timestamp(rt.record.active_since))
    add("ActiveEnterTimestamp", timestamp(rt.record.active_since if rt.record.state == "started"
                                          else rt.since if rt.active_state == "active" else 0))
    add("ActiveExitTimestamp", timestamp(rt.record.inactive_since))
    add("InactiveEnterTimestamp", timestamp(rt.record.inactive_since))
    add("CanStart", "yes" if unit.found and unit.backend != "target" else "no")
    add("CanStop", "yes" if unit.found and unit.backend != "target" else "no")
    add("CanReload", "yes" if unit.can_reload else "no")
    add("CanIsolate", "yes" if unit.backend == "target" else "no")
    add("Transient", "no")
    add("InvocationID", rt.record.invocation_id if rt.active_state != "inactive" else "")
    if rt.load_state == "not-found":
        add("LoadError", 'org.freedesktop.systemd1.NoSuchUnit "Unit %s not found."' % unit.id)
    elif rt.load_state == "masked":
        add("LoadError", 'org.freedesktop.systemd1.UnitMasked "Unit %s is masked."' % unit.id)
    return props


def _after(unit) -> list:
    """LSB Required-Start/Should-Start translated like systemd-sysv-generator (section 3.3)."""
    facilities = {"local_fs": None, "syslog": None, "network": "network-online.target",
                  "named": "nss-lookup.target", "portmap": "rpcbind.target",
                  "remote_fs": "remote-fs.target", "time": "time-sync.target"}
    out = []
    for word in unit.after:
        if word.startswith("$"):
            name = facilities.get(word[1:], word[1:] + ".target")
        else:
            name = word + ".service" if word != unit.name else None
        if name and name not in out:
            out.append(name)
    return out


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
