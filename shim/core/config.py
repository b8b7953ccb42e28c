"""`UnitConfig`: one normalised description of a service, whatever defined it.

Field names follow systemd's unit-file directives (snake_case); times are microseconds as in
systemd's D-Bus properties; command lines are `ExecCommand`s. A loader fills what its source
says and leaves systemd's defaults for the rest, so that `show`, `status` and `cat` render from
this object alone.
"""

from shim.plain import Plain

USEC = 1000000
INFINITY = 2 ** 64 - 1          # USEC_INFINITY


class ExecCommand(Plain):
    """One Exec*= line: the program, its argv (argv[0] included) and its prefixes."""

    path = ""
    argv = ()
    ignore_errors = False        # "-": a failure does not fail the unit
    no_env_expand = False        # ":": no $VAR/${VAR} expansion at run time
    full_privileges = False      # "+": no User=/Group=, no sandboxing
    no_setuid = False            # "!": no User=/Group= change
    ambient = False              # "!!": like "!" only without ambient capabilities
    # argv0 via "@" is path != argv[0]; argv keeps $VAR/${VAR} unexpanded (shim.backends.execline.expand)

    def flags(self) -> tuple:
        """The ExecXxxEx flags= words systemd's show prints."""
        words = []
        if self.ignore_errors:
            words.append("ignore-failure")
        if self.full_privileges:
            words.append("privileged")
        if self.no_setuid:
            words.append("no-setuid")
        if self.ambient:
            words.append("ambient")
        if self.no_env_expand:
            words.append("no-env-expand")
        return tuple(words)

    def line(self) -> str:
        """The command as written in a unit file."""
        words = [_quote(word) for word in self.argv]
        if words and self.argv[0] != self.path:
            words[0] = "@%s %s" % (_quote(self.path), words[0])
        prefix = ("-" if self.ignore_errors else "") + (":" if self.no_env_expand else "") + \
            ("+" if self.full_privileges else "") + ("!" if self.no_setuid else "") + \
            ("!!" if self.ambient else "")
        return prefix + " ".join(words)


def _quote(word: str) -> str:
    """systemd's command-line quoting: as-is unless it needs quotes; % doubled (specifiers)."""
    word = word.replace("%", "%%")
    if word and not any(c in word for c in " \t\"'\\;$"):
        return word
    return '"%s"' % word.replace("\\", "\\\\").replace('"', '\\"')


class UnitConfig(Plain):
    # [Unit]
    id = ""
    names = ()
    description = ""
    documentation = ()
    source_path = ""             # SourcePath=: what the unit was generated from
    fragment_path = ""           # the unit file (for generated units, the generator's output)
    dropin_paths = ()
    requires = ()
    wants = ()
    requisite = ()
    binds_to = ()
    part_of = ()
    conflicts = ()
    before = ()
    after = ()
    # [Service]
    type = "simple"
    exec_condition = ()
    exec_start_pre = ()
    exec_start = ()
    exec_start_post = ()
    exec_reload = ()
    exec_stop = ()
    exec_stop_post = ()
    pid_file = ""
    remain_after_exit = False
    guess_main_pid = True
    restart = "no"
    restart_usec = USEC // 10    # RestartSec= default 100ms
    timeout_start_usec = 90 * USEC
    timeout_stop_usec = 90 * USEC
    ignore_sigpipe = True
    kill_mode = "control-group"
    kill_signal = 15
    final_kill_signal = 9
    send_sigkill = True
    send_sighup = False
    success_exit_status = ()     # extra exit codes that count as success
    user = ""
    group = ""
    working_directory = ""
    environment = ()             # "KEY=value" strings, in order, a later key replacing
    # --- added by the native unit-file loader (shim/backends/native.py) ---
    notify_access = ""           # "" = the type's default (none; main for notify/watchdog)
    bus_name = ""
    restart_prevent_exit_status = ()   # exit codes and signal numbers
    restart_force_exit_status = ()
    success_exit_signals = ()    # SuccessExitStatus= signal numbers
    restart_prevent_exit_signals = ()
    restart_force_exit_signals = ()
    timeout_abort_usec = None    # None: the stop timeout
    restart_kill_signal = None   # None: kill_signal
    watchdog_usec = 0
    start_limit_interval_usec = 10 * USEC
    start_limit_burst = 5
    start_limit_action = "none"
    environment_files = ()       # (path, ignore_errors) pairs, path without "-"
    unset_environment = ()
    pass_environment = ()
    supplementary_groups = ()
    dynamic_user = False
    working_directory_optional = False   # "-path": a missing directory is ignored
    working_directory_home = False       # "~": the user's home
    root_directory = ""
    umask = 0o022
    runtime_directory = ()
    state_directory = ()
    cache_directory = ()
    logs_directory = ()
    configuration_directory = ()
    runtime_directory_mode = 0o755
    runtime_directory_preserve = "no"
    limits = None                # {"NOFILE": (soft, hard)}, INFINITY for infinity
    nice = None
    standard_input = "null"
    standard_output = "journal"
    standard_error = "inherit"
    conditions = ()              # (name, negate, trigger, value), name e.g. "PathExists"
    asserts = ()
    on_failure = ()
    on_success = ()
    requires_mounts_for = ()
    default_dependencies = True
    refuse_manual_start = False
    refuse_manual_stop = False
    success_action = "none"
    failure_action = "none"
    exit_type = "main"
    pid_file_set = False
    sandboxing = ()              # (key, value) of accepted but not applied settings
    load_state = "loaded"        # loaded | bad-setting | error | masked | not-found
    load_error = ""              # systemd's message, e.g. "Service has no ExecStart=, ..."
    warnings = ()                # what systemd would log while loading
    template = ""                # foo@.service for an instance/template
    instance = ""
    # [Install]
    wanted_by = ()
    upheld_by = ()
    required_by = ()
    also = ()
    alias = ()
    default_instance = ""
    # Where it came from: "" for a unit file, else the generator that wrote fragment_path
    generator = ""

    def is_success(self, code: int) -> bool:
        return code == 0 or code in self.success_exit_status
