"""systemctl [OPTIONS...] COMMAND [UNIT...]

Query or send control commands to the services of a machine that does not run systemd:
its SysV init scripts (/etc/init.d) and OpenRC services, with systemctl's output and exit codes.

Usage:
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...]
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] list-units [--] [<pattern>...]
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] list-unit-files [--] [<pattern>...]
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (start | stop | reload | restart | try-restart | reload-or-restart | try-reload-or-restart | force-reload | condrestart | condstop | condreload | reload-or-try-restart) [--] <unit>...
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (is-active | is-failed | check | kill | cat) [--] <unit>...
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (status | show | reset-failed | list-dependencies) [--] [<unit>...]
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (is-enabled | enable | disable | reenable | mask | unmask | preset) [--] <unit>...
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (daemon-reload | daemon-reexec | is-system-running | get-default | show-environment)
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (init) [--] [<unit>...]
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (poweroff | halt)
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (reboot | exit) [--] [<arg>...]
  systemctl [options] [--property=NAME...] [--type=TYPE...] [--state=STATE...] (-h | --help | --version)

Options:
  -h --help               Show this help
  --version               Show package version
  --system                Connect to the system service manager (the default)
  --user                  Connect to a user service manager (not supported)
  -t TYPE --type=TYPE     List units of a particular type (comma-separated)
  --state=STATE           List units with particular LOAD or SUB or ACTIVE state
  --failed                Shortcut for --state=failed
  -p NAME --property=NAME  Show only properties by this name (repeatable, comma-separated)
  -P NAME                 Equivalent to --value --property=NAME
  --value                 When showing properties, only print the value
  -a --all                Show all properties/all units currently in memory,
                          including dead/empty ones
  -l --full               Don't ellipsize unit names on output
  -q --quiet              Suppress output
  --no-pager              Do not pipe output into a pager
  --no-legend             Do not print the legend (column headers and hints)
  --legend=BOOL           Enable/disable the legend
  --plain                 Print unit lists without the status glyph column
  --no-block              Do not wait until operation finished
  --reverse               Show reverse dependencies with 'list-dependencies'
  --after                 Show units ordered after with 'list-dependencies'
  --before                Show units ordered before with 'list-dependencies'
  --wait                  For (re)start, wait until service stopped again (not supported)
  --no-ask-password       Do not ask for system passwords
  --no-reload             Don't reload daemon after en-/dis-abling unit files
  --no-warn               Don't generate warnings
  --now                   Start or stop unit after enabling or disabling it
  --root=PATH             Operate on the init scripts and links below PATH
  --runtime               Make changes only temporarily (accepted, changes are permanent)
  --force                 When enabling unit files, override existing symlinks
  --job-mode=MODE         Specify how to deal with already queued jobs
  --fail                  Shortcut for --job-mode=fail
  --ignore-dependencies   Shortcut for --job-mode=ignore-dependencies
  --preset-mode=MODE      Apply only enable, only disable, or all presets [default: full]
  -s SIGNAL --signal=SIGNAL  Which signal to send (number, TERM or SIGTERM; help, list)
  --kill-whom=WHOM        Whom to send signal to: main, control or all
  --kill-value=INT        Signal value to enqueue (realtime signals only)
  -n INTEGER --lines=INTEGER  Number of log lines to show in status [default: 10]
  -o STRING --output=STRING   Change log output mode (accepted, ignored)
  -i --ignore-inhibitors  Accepted for compatibility
  --firmware-setup        Accepted for compatibility
"""

import os
import sys

from shim import SYSTEMD_VERSION, __version__
from shim.errors import ShimError

# verb -> (module under shim.verbs, function, online). Modules are imported on demand: start-up
# time is a feature. `online` is systemd's VERB_ONLINE_ONLY: the verb needs the running machine
# (its processes, its /run), so with --root it is refused before anything is read or run.
VERBS = {
    "list-units": ("listing", "list_units", True),
    "list-unit-files": ("listing", "list_unit_files", False),
    "is-active": ("query", "is_active", True),
    "check": ("query", "is_active", True),
    "is-failed": ("query", "is_failed", True),
    "is-enabled": ("query", "is_enabled", False),
    "status": ("show", "status", True),
    "list-dependencies": ("dependencies", "list_dependencies", True),
    "show": ("show", "show", True),
    "cat": ("show", "cat", True),
    "kill": ("kill", "kill", True),
    "enable": ("install", "enable", False),
    "disable": ("install", "disable", False),
    "reenable": ("install", "reenable", False),
    "mask": ("install", "mask", False),
    "unmask": ("install", "unmask", False),
    "preset": ("install", "preset", False),
    "daemon-reload": ("system", "daemon_reload", True),
    "daemon-reexec": ("system", "daemon_reload", True),
    "is-system-running": ("power", "is_system_running", False),
    "get-default": ("system", "get_default", False),
    "show-environment": ("system", "show_environment", True),
    "reset-failed": ("lifecycle", "reset_failed", True),
    # The container's init (shim/init/): PID-1 mode, and the verbs that ask it to end.
    "init": ("power", "init", True),
    "poweroff": ("power", "request", True),
    "halt": ("power", "request", True),
    "reboot": ("power", "request", True),
    "exit": ("power", "request", True),
}
JOB_VERBS = ("start", "stop", "reload", "restart", "try-restart", "reload-or-restart",
             "try-reload-or-restart", "force-reload", "condrestart", "condstop", "condreload",
             "reload-or-try-restart")
for _verb in JOB_VERBS:
    VERBS[_verb] = ("lifecycle", "job", True)
del _verb


def _split_list(values) -> tuple:
    """Repeatable, comma-separated option values, de-duplicated in order."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        for item in value.split(","):
            if item and item not in out:
                out.append(item)
    return tuple(out)


def _long_options() -> list:
    words = __doc__.split("Options:", 1)[1].replace(",", " ").replace("=", " ").split()
    return [w for w in words if w.startswith("--")]


def _diagnose(argv) -> ShimError:
    """docopt said no: say what systemctl would say about the same command line."""
    for arg in argv:
        if arg == "--":
            break
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if not any(option.startswith(name) for option in _long_options()):
                return ShimError("systemctl: unrecognized option '%s'" % name)
    verb = _verb_of(argv)
    if verb is not None and verb not in VERBS:
        return ShimError("Unknown command verb %s." % verb)
    if verb is not None:
        takes, skip, positional = _options_with_values(), False, 0
        for arg in argv:
            if skip:
                skip = False
            elif arg.startswith("-") and arg not in ("-", "--"):
                skip = arg in takes
            elif arg != "--":
                positional += 1
        return ShimError("Too few arguments." if positional == 1 else "Too many arguments.")
    return ShimError("Invalid command line. See 'systemctl --help'.")


def _options_with_values() -> set:
    """Option spellings that take a value (`-p NAME`, `--root=PATH`), read from the Options text."""
    takes = set()
    for line in __doc__.split("Options:", 1)[1].splitlines():
        words = line.strip().split("  ")[0].replace(",", " ").split()
        if any(w.isupper() or "=" in w for w in words):
            takes.update(w.split("=")[0] for w in words if w.startswith("-"))
    return takes


def _verb_of(argv):
    """The first positional argument, skipping option values, as getopt would see it."""
    takes = _options_with_values()
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--":
            return None
        elif arg.startswith("-") and arg != "-":
            if arg in takes or (len(arg) == 2 and arg in takes):
                skip = True
        else:
            return arg
    return None


def _grammar_for(verb) -> str:
    """The usage text narrowed to the one verb being run.

    The grouped usage lines stay the grammar; we specialise `(start | stop | ...)` to the verb at
    hand before handing it to docopt, whose matching cost grows steeply with alternatives (100+ ms
    for the whole text, a few ms for one line: `is-active` must start as fast as Python does).
    """
    head, rest = __doc__.split("Usage:", 1)
    usage, options = rest.split("\n\n", 1)
    lines = usage.strip().splitlines()
    chosen = [lines[0]] if verb is None else []
    for line in lines[1:-1]:
        words = line.replace("(", " ").replace(")", " ").replace("|", " ").split()
        if verb in words:
            group = line[line.index("]", line.index("--state")) + 1:].split("[--]")[0]
            chosen.append(line.replace(group, " %s " % verb).replace("  ", " "))
    chosen.append(lines[-1])
    return head + "Usage:\n" + "\n".join("  " + l.strip() for l in chosen) + "\n\n" + options


# The command lines scripts, package hooks and Ansible run on every call have one shape:
# `VERB [FLAG | -p NAME | --property=NAME | ...]... [UNIT...]`. Those are matched below without
# importing docopt: docopt's import alone (re, typing, enum) costs more than Python's own start-up
# (+11 ms over a 9.5 ms `python3 -c pass` in a Debian 12 box), and `is-active` must stay within 2x
# of it. The usage text stays the grammar: the flags, the option keys and defaults and the verb's
# positional are read from it, every other shape (abbreviations, bundled short flags, `--`,
# attached values, --help, ...) goes to docopt, and tests/test_cli_fastpath.py checks the result
# against docopt's on a corpus of command lines.
_FAST_FLAGS = ("--quiet", "--all", "--full", "--value", "--no-pager", "--no-legend", "--plain",
               "--system", "--no-ask-password", "--no-warn", "--failed", "--no-block",
               "--no-reload", "--now", "--force", "--runtime")
_FAST_LISTS = ("--property", "--type", "--state")


def _option_table():
    """[(names, key, takes_value, default)] from the Options text, docopt's way: the key is the
    long name if there is one; a value-taking option defaults to its [default: X] or None."""
    table = []
    for line in __doc__.split("Options:", 1)[1].splitlines():
        spec = line.strip().split("  ")[0]
        words = spec.replace(",", " ").split()
        names = [w.split("=")[0] for w in words if w.startswith("-")]
        if not names:
            continue
        longs = [n for n in names if n.startswith("--")]
        takes = any(w.isupper() or "=" in w for w in words)
        default = None
        if "[default: " in line:
            default = line.split("[default: ", 1)[1].split("]", 1)[0]
        table.append((names, longs[0] if longs else names[0], takes, default if takes else False))
    return table


def _fast_parse(argv, verb):
    """docopt's answer for a command line of the simple shape, or None to ask docopt."""
    head, rest = __doc__.split("Usage:", 1)
    line = None
    for candidate in rest.split("\n\n", 1)[0].strip().splitlines()[1:-1]:
        words = candidate.replace("(", " ").replace(")", " ").replace("|", " ").split()
        if verb in words:
            line = candidate
            break
    if line is None:
        return None
    tail = line[line.index("]", line.index("--state")) + 1:]
    tail = tail[tail.index(")") + 1:] if ")" in tail else tail.split(verb, 1)[1]
    tail = tail.replace("[--]", "").strip()          # "<unit>...", "[<unit>...]", "[<pattern>...]", ""
    positional = tail.strip("[]").replace("...", "") or None
    args, spelled = {}, {}
    for names, key, _takes, default in _option_table():
        args[key] = [] if key in _FAST_LISTS else default
        for name in names:
            spelled[name] = key
    items = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == verb and verb not in args:
            args[verb] = True
            continue
        if not arg.startswith("-"):
            if positional is None or arg == verb:
                return None
            items.append(arg)
            continue
        name, eq, value = arg.partition("=")
        key = spelled.get(name)
        if key is None or (eq and not name.startswith("--")):
            return None
        if key in _FAST_FLAGS:
            if eq or args[key]:
                return None
            args[key] = True
        elif key in _FAST_LISTS or key == "-P":
            if not eq:
                if index >= len(argv):
                    return None
                value = argv[index]
                index += 1
            if not value or value.startswith("-") or args[key]:
                return None     # repeated: docopt-ng 0.9 repeats the last value; let it answer
            if key == "-P":
                args[key] = value
            else:
                args[key].append(value)
        else:
            return None
    if verb not in args or (tail.startswith("<") and not items):
        return None
    if "[--]" in line:
        args["--"] = False
    if positional:
        args[positional] = items
    return args


def parse(argv):
    verb = _verb_of(argv)
    if verb is not None and verb not in VERBS:
        raise ShimError("Unknown command verb %s." % verb)
    fast = _fast_parse(argv, verb) if verb is not None else None
    if fast is not None:
        return fast
    from docopt import DocoptExit, docopt
    try:
        return docopt(_grammar_for(verb), argv, default_help=False)
    except DocoptExit:
        raise _diagnose(argv) from None


def build_context(args):
    from shim.context import Context, Options
    options = Options(
        all=bool(args["--all"]),
        types=_split_list(args["--type"]),
        states=_split_list(args["--state"]) + (("failed",) if args["--failed"] else ()),
        properties=_split_list(args["--property"]) + _split_list(args["-P"]),
        value=bool(args["--value"] or args["-P"]),
        quiet=bool(args["--quiet"]),
        no_legend=bool(args["--no-legend"] or args["--quiet"]) or
        (args["--legend"] or "").lower() in ("no", "false", "0", "off"),
        plain=bool(args["--plain"]),
        full=bool(args["--full"]),
        no_block=bool(args["--no-block"]),
        now=bool(args["--now"]),
        force=bool(args["--force"]),
        runtime=bool(args["--runtime"]),
        job_mode="fail" if args["--fail"] else ("ignore-dependencies" if args["--ignore-dependencies"]
                                                 else args["--job-mode"] or "replace"),
        signal=args["--signal"],
        kill_whom=args["--kill-whom"],
        kill_value=args["--kill-value"],
        preset_mode=args["--preset-mode"] or "full",
        reverse=bool(args.get("--reverse")),
        after=bool(args.get("--after")),
        before=bool(args.get("--before")),
    )
    try:
        options.lines = int(args["--lines"])
    except (TypeError, ValueError):
        raise ShimError("Failed to parse lines '%s'" % args["--lines"]) from None
    env = os.environ
    offline = bool(args["--root"]) and os.path.realpath(args["--root"]) != "/"
    # SYSTEMCTL_SHIM_ROOT: the running machine, with its init scripts, rc links and state read
    # below DIR (how the test suite points real processes at a temporary tree). --root wins.
    ctx = Context(root=args["--root"] or env.get("SYSTEMCTL_SHIM_ROOT") or "/", offline=offline,
                  options=options, state_dir=env.get("SYSTEMCTL_SHIM_STATE_DIR", ""))
    if env.get("SYSTEMCTL_SHIM_STOP_TIMEOUT"):
        try:
            ctx.stop_timeout = float(env["SYSTEMCTL_SHIM_STOP_TIMEOUT"])
        except ValueError:
            raise ShimError("Invalid SYSTEMCTL_SHIM_STOP_TIMEOUT: %s" % env["SYSTEMCTL_SHIM_STOP_TIMEOUT"]) from None
    return ctx


def selected_verb(args) -> str:
    for verb in VERBS:
        if args.get(verb):
            return verb
    return "list-units"


def _signal_argument(argv):
    """The value of -s/--signal, found the way getopt finds it (systemd checks it while parsing
    options, so `-s list` and a bad signal are answered whatever the verb)."""
    value = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("-s", "--signal") and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--signal="):
            value = arg[len("--signal="):]
        elif arg.startswith("-s") and not arg.startswith("--") and len(arg) > 2:
            value = arg[2:]
    return value


def _signal_tables(argv):
    """-s help / -s list print systemd's tables and exit 0; a bad signal is exit 1."""
    text = _signal_argument(argv)
    if text is None:
        return None
    from shim.proc import signals
    if text == "help":
        sys.stdout.write(signals.help_text())
        return 0
    if text == "list":
        sys.stdout.write(signals.list_text())
        return 0
    try:
        signals.parse_signal(text)
    except ValueError:
        raise ShimError('Failed to parse signal string "%s".' % text) from None
    return None


def run(argv) -> int:
    if not argv and os.getpid() == 1:
        argv = ["init"]             # ENTRYPOINT ["systemctl"]: PID 1 with no verb is the init
    tables = _signal_tables(argv)
    if tables is not None:
        return tables
    args = parse(argv)
    if args["--help"]:
        sys.stdout.write(__doc__.split("Usage:")[0].rstrip() + "\n\n" + "Usage:" +
                         __doc__.split("Usage:")[1])
        return 0
    if args["--version"]:
        sys.stdout.write("systemd %d (%s)\n" % (SYSTEMD_VERSION, "systemctl-shim " + __version__))
        sys.stdout.write("systemctl-shim %s: systemctl for SysV init and OpenRC; "
                         "-PAM -AUDIT -SELINUX +SYSVINIT +OPENRC\n" % __version__)
        return 0
    if args["--user"]:
        raise ShimError("--user is not supported: this machine has no systemd user manager.")
    if args["--wait"] and args["--no-block"]:
        raise ShimError("--wait may not be combined with --no-block.")
    verb = selected_verb(args)
    module_name, function_name, online = VERBS[verb]
    if online and args["--root"] and os.path.realpath(args["--root"]) != "/":
        # systemctl_main(): checked before the verb runs, so nothing below --root is executed
        # and no process of this machine is read or signalled on the image's behalf.
        raise ShimError("Verb '%s' cannot be used with --root= or --image=." % verb)
    ctx = build_context(args)
    if ctx.options.now and verb not in ("enable", "disable", "reenable", "mask"):
        raise ShimError("--now can only be used with verb enable, disable, reenable, or mask.")
    module = __import__("shim.verbs." + module_name, fromlist=[function_name])
    units = args.get("<unit>") or args.get("<pattern>") or args.get("<arg>") or []
    return getattr(module, function_name)(ctx, verb, units)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except ShimError as error:
        if error.message:
            sys.stderr.write(error.message + "\n")
        return error.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:                     # `systemctl status | head`: not an error
        sys.stdout = None
        return 0
    except OSError as error:
        # The machine said no (read-only /run, a full disk, a permission): one clear line.
        where = " %s:" % error.filename if error.filename else ""
        sys.stderr.write("Failed to %s:%s %s\n" % (" ".join(argv[:1]) or "run", where,
                                                  error.strerror or error))
        return 1
    except Exception as error:  # never a traceback in the user's face; say what broke
        sys.stderr.write("systemctl-shim: internal error: %s: %s\n" % (type(error).__name__, error))
        if os.environ.get("SYSTEMCTL_SHIM_DEBUG"):
            raise
        return 1
