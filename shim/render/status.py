"""The `systemctl status` block (print_status_info in src/systemctl/systemctl-show.c, v244+ layout)."""

import time

from shim.render.timefmt import relative, timestamp

_GLYPHS_UTF8 = {"active": "●", "reloading": "↻", "inactive": "○", "maintenance": "○",
                "failed": "×", "activating": "●", "deactivating": "●"}
_GLYPHS_ASCII = {"failed": "x"}


def glyph(active_state: str, utf8: bool) -> str:
    if utf8:
        return _GLYPHS_UTF8.get(active_state, "●")
    return _GLYPHS_ASCII.get(active_state, "*")


def format_bytes(size: int) -> str:
    """systemd's FORMAT_BYTES (IEC, one digit below the point, truncated as its integer arithmetic
    truncates): 1.2M, 532.0K, 512B."""
    suffixes = ("E", "P", "T", "G", "M", "K")
    factors = [1024 ** (6 - i) for i in range(6)]
    for i, factor in enumerate(factors):
        if size >= factor:
            if i != len(factors) - 1:
                digit = (size // factors[i + 1] * 10 // factors[-1]) % 10
            else:
                digit = (size * 10 // factor) % 10
            return "%d.%d%s" % (size // factor, digit, suffixes[i])
    return "%dB" % size


_SPANS = (("y", 31557600 * 10 ** 6), ("month", 2629800 * 10 ** 6), ("w", 604800 * 10 ** 6),
          ("d", 86400 * 10 ** 6), ("h", 3600 * 10 ** 6), ("min", 60 * 10 ** 6), ("s", 10 ** 6),
          ("ms", 1000), ("us", 1))


def format_timespan(usec: int, accuracy: int = 1000) -> str:
    """systemd's format_timespan(): `12ms`, `1.500s`, `2min 3.250s` at msec accuracy (CPU:)."""
    if usec >= 2 ** 64 - 1:
        return "infinity"
    if usec <= 0:
        return "0"
    parts, something, t = [], False, usec
    for suffix, size in _SPANS:
        if t <= 0 or (t < accuracy and something):
            break
        if t < size:
            continue
        a, b = divmod(t, size)
        done = False
        if t < 60 * 10 ** 6 and b > 0:
            j, cc = 0, size
            while cc > 1:
                cc //= 10
                j += 1
            cc = accuracy
            while cc > 1:
                cc //= 10
                b //= 10
                j -= 1
            if j > 0:
                parts.append("%d.%0*d%s" % (a, j, b, suffix))
                t, done = 0, True
        if not done:
            parts.append("%d%s" % (a, suffix))
            t = b
        something = True
    return " ".join(parts)


def usage_lines(usage, processes) -> list:
    """Tasks:, Memory:, CPU: (print_status_info: each only when its figure is known)."""
    lines = []
    tasks = usage.tasks if usage is not None and usage.tasks is not None else len(processes)
    limit = " (limit: %d)" % usage.tasks_limit if usage is not None and usage.tasks_limit else ""
    lines.append("      Tasks: %d%s" % (tasks, limit))
    if usage is not None and usage.memory is not None:
        lines.append("     Memory: " + format_bytes(usage.memory))
    if usage is not None and usage.cpu_nsec is not None:
        lines.append("        CPU: " + format_timespan(usage.cpu_nsec // 1000))
    return lines


# systemd's exit_status_table (src/basic/exit-status.c): libc's, then systemd's own 200-243.
_SYSTEMD_EXIT_NAMES = dict(zip(range(200, 244), (
    "CHDIR NICE FDS EXEC MEMORY LIMITS OOM_ADJUST SIGNAL_MASK STDIN STDOUT CHROOT IOPRIO "
    "TIMERSLACK SECUREBITS SETSCHEDULER CPUAFFINITY GROUP USER CAPABILITIES CGROUP SETSID "
    "CONFIRM STDERR - PAM NETWORK NAMESPACE NO_NEW_PRIVILEGES SECCOMP SELINUX_CONTEXT "
    "PERSONALITY APPARMOR_PROFILE ADDRESS_FAMILIES RUNTIME_DIRECTORY CHOWN SMACK_PROCESS_LABEL "
    "KEYRING STATE_DIRECTORY CACHE_DIRECTORY LOGS_DIRECTORY CONFIGURATION_DIRECTORY NUMA_POLICY "
    "CREDENTIALS BPF").split()))
_SYSTEMD_EXIT_NAMES.update({0: "SUCCESS", 1: "FAILURE", 255: "EXCEPTION"})
del _SYSTEMD_EXIT_NAMES[223]
_LSB_EXIT_NAMES = {2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED", 4: "NOPERMISSION",
                   5: "NOTINSTALLED", 6: "NOTCONFIGURED", 7: "NOTRUNNING"}


def exit_status_text(code, lsb: bool = False) -> str:
    """`3`, `0/SUCCESS`, `233/RUNTIME_DIRECTORY`: status's Process: and Main PID: lines name
    libc's and systemd's codes only; the journal's lines (lsb=True) name the LSB ones too
    (reference/unit-files.md 14.1)."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        return str(code)
    name = _SYSTEMD_EXIT_NAMES.get(code) or (_LSB_EXIT_NAMES.get(code) if lsb else None)
    return "%d/%s" % (code, name) if name else str(code)


def check_lines(record, utf8: bool, now: float) -> list:
    """The Condition: and Assert: lines of a failed last check (print_status_info)."""
    lines = []
    branch, last_branch = ("├─", "└─") if utf8 else ("|-", "`-")
    cond, assertion = record.condition, record.assertion
    if cond and not cond["result"] and cond["time"]:
        lines.append("  Condition: start condition failed at %s; %s"
                     % (timestamp(cond["time"]), relative(cond["time"], now)))
        for index, (name, trigger, negate, param) in enumerate(cond["failed"]):
            mark = last_branch if index == len(cond["failed"]) - 1 else branch
            lines.append("             %s %s=%s%s%s was not met" % (
                mark, name, "|" if trigger else "", "!" if negate else "", param))
    if assertion and not assertion["result"] and assertion["time"]:
        lines.append("     Assert: start assertion failed at %s; %s"
                     % (timestamp(assertion["time"]), relative(assertion["time"], now)))
        plain = [f for f in assertion["failed"] if not f[1]]
        if plain:
            name, _, negate, param = plain[0]
            lines.append("             %s=%s%s was not met" % (name, "!" if negate else "", param))
        else:
            lines.append("             none of the trigger assertions were met")
    return lines


def dropin_lines(paths, utf8: bool) -> list:
    """The Drop-In: block: each directory, then its files as a tree (systemctl-show.c)."""
    branch, last_branch = ("├─", "└─") if utf8 else ("|-", "`-")
    lines, groups = [], []
    for path in paths:
        directory, name = path.rsplit("/", 1)
        if groups and groups[-1][0] == directory:
            groups[-1][1].append(name)
        else:
            groups.append((directory, [name]))
    for index, (directory, names) in enumerate(groups):
        lines.append(("    Drop-In: " if index == 0 else " " * 13) + directory)
        for position, name in enumerate(names):
            mark = last_branch if position == len(names) - 1 else branch
            lines.append(" " * 13 + mark + name)
    return lines


def block(unit, rt, *, unit_file_state: str, processes, log_lines, utf8: bool, preset: str = "",
          mode_note: str, now: float = None, usage=None) -> list:
    now = time.time() if now is None else now
    lines = []
    title = "%s %s" % (glyph(rt.active_state, utf8), unit.id)
    if unit.description and unit.description != unit.id:
        title += " - " + unit.description
    lines.append(title)

    reasons = {"masked": "Unit %s is masked.", "not-found": "Unit %s not found.",
               "bad-setting": "Unit %s has a bad unit file setting.",
               "error": "Unit %s failed to load properly, please adjust/correct and reload "
                        "service manager."}
    if rt.load_state in reasons:
        lines.append("     Loaded: %s (Reason: %s)" % (rt.load_state, reasons[rt.load_state] % unit.id))
    elif unit.source_path:
        state = unit_file_state
        preset = "; preset: %s" % (preset or "enabled") if state in ("enabled", "disabled") else ""
        lines.append("     Loaded: %s (%s; %s%s)" % (rt.load_state, unit.source_path, state, preset))
    else:
        lines.append("     Loaded: %s" % rt.load_state)
    config = unit.extra.get("config") if unit.backend == "native" else None
    if config is not None and config.dropin_paths:
        lines.extend(dropin_lines(config.dropin_paths, utf8))

    active = rt.active_state
    if rt.sub_state and rt.sub_state != rt.active_state:
        active += " (%s)" % rt.sub_state
    if rt.active_state == "failed" and rt.result != "success":
        active += " (Result: %s)" % rt.result
    if rt.since:
        active += " since %s; %s" % (timestamp(rt.since), relative(rt.since, now))
    lines.append("     Active: " + active)
    lines.extend(check_lines(rt.record, utf8, now))

    if unit.backend in ("sysv", "openrc"):
        lines.append("       Docs: man:systemd-sysv-generator(8)" if unit.backend == "sysv"
                     else "       Docs: man:openrc-run(8)")
    elif config is not None:
        for index, uri in enumerate(config.documentation):   # the label on the first only
            lines.append(("       Docs: " if index == 0 else " " * 13) + uri)
    for last in (rt.record.execs or (rt.record.last_exec,)):
        if not (last and last.get("code") and unit.source_path):
            continue
        if last["code"] == "exited":
            how = "code=exited, status=%s" % exit_status_text(last.get("status", 0))
        else:
            how = "code=killed, signal=%s" % last.get("status", "")
        verb = last.get("verb", "start")
        key = last.get("key") or "Exec" + verb.capitalize()
        command = last.get("cmd") or "%s %s" % (unit.source_path, verb)
        lines.append("    Process: %s %s=%s (%s)" % (last.get("pid", 0), key, command, how))
    comm = {pid: cmd for pid, cmd, _ in processes}
    short = {pid: name for pid, _, name in processes}
    if rt.main_pid:
        text = "   Main PID: %d (%s)" % (rt.main_pid, short.get(rt.main_pid, "?"))
        if rt.control_pid:
            text += "; Control PID: %d (%s)" % (rt.control_pid, short.get(rt.control_pid, "?"))
        lines.append(text)
    elif rt.main_exit and unit.backend == "native":
        from shim.proc.signals import signal_name     # only here: `signal` costs start-up
        ended = rt.main_exit
        how = ("status=%s" % exit_status_text(ended["status"]) if ended["code"] == "exited"
               else "signal=%s" % signal_name(ended["status"]))
        lines.append("   Main PID: %d (code=%s, %s)" % (ended.get("pid", 0), ended["code"], how))
    elif rt.control_pid:
        lines.append("  Cntrl PID: %d (%s)" % (rt.control_pid, short.get(rt.control_pid, "?")))
    if rt.notify and rt.notify.get("status"):
        lines.append('     Status: "%s"' % rt.notify["status"])
    if processes:
        lines.extend(usage_lines(usage, processes))
        lines.append("     CGroup: " + mode_note)
        width = len(str(max(pid for pid, _, _ in processes)))
        branch, last_branch = ("├─", "└─") if utf8 else ("|-", "`-")
        for index, (pid, _, _) in enumerate(processes):
            mark = last_branch if index == len(processes) - 1 else branch
            lines.append("             %s%*d %s" % (mark, width, pid, comm[pid]))
    elif mode_note and rt.active_state == "active":
        lines.append("     CGroup: " + mode_note)
    if log_lines:
        lines.append("")
        lines.extend(log_lines)
    return lines
