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

    def line(self) -> str:
        """The command as written in a unit file."""
        words = [_quote(word) for word in self.argv]
        if words and self.argv[0] != self.path:
            words[0] = "@%s %s" % (_quote(self.path), words[0])
        return ("-" if self.ignore_errors else "") + " ".join(words)


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
    environment = ()
    # [Install]
    wanted_by = ()
    required_by = ()
    also = ()
    alias = ()
    default_instance = ""
    # Where it came from: "" for a unit file, else the generator that wrote fragment_path
    generator = ""

    def is_success(self, code: int) -> bool:
        return code == 0 or code in self.success_exit_status
