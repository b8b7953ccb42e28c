"""The unit a script stands for: what systemd-sysv-generator would write for a SysV/LSB script
(systemctl-behaviour.md section 3), and the same shape for an OpenRC script.

A loader of the engine (`shim/core`): it turns a `Unit` found by the backends into a
`UnitConfig`, from which `show`, `status` and `cat` render.
"""

from shim import names
from shim.backends.lsb import parse
from shim.core.config import USEC, ExecCommand, UnitConfig
from shim.units import Unit


GENERATOR_DIR = "/run/systemd/generator.late"
_FACILITIES = {"local_fs": None, "network": "network-online.target", "named": "nss-lookup.target",
               "portmap": "rpcbind.target", "remote_fs": "remote-fs.target", "syslog": None,
               "time": "time-sync.target"}
# rcN.d with an S link -> the target the generator orders the service before (and is wanted by)
_RC_TARGETS = (("1", "rescue.target"), ("2", "multi-user.target"), ("3", "multi-user.target"),
               ("4", "multi-user.target"), ("5", "graphical.target"))


def translate(word: str, own_name: str):
    """sysv_translate_facility(): `$network` -> network-online.target, `foo` -> foo.service,
    dropped (None) for local_fs, syslog and the script's own name."""
    if word.startswith("$"):
        return _FACILITIES.get(word[1:], word[1:] + ".target")
    if word == own_name or word.endswith(".sh") and word[:-3] == own_name:
        return None
    return names.mangle((word[:-3] if word.endswith(".sh") else word) + ".service",
                        allow_globs=False)


def sysv_config(unit: Unit, text: str, started_in: tuple) -> UnitConfig:
    """The unit systemd-sysv-generator generates for this script. `started_in`: the runlevels
    (of 1-5) whose rcN.d has an S link to it, which give Before= and WantedBy=."""
    info = parse(text)
    before, after, wants, wanted_by = [], [], [], []
    for word in info.provides:
        target = translate(word, unit.name) if word.startswith("$") else None
        if target:
            before.append(target)
            wants.append(target)
            if target == "network-online.target":
                before.append("network.target")
    for level, target in _RC_TARGETS:
        if level in started_in:
            before.append(target)
            wanted_by.append(target)
    for word in info.start_after:
        target = translate(word, unit.name)
        if target:
            after.append(target)
            if target == "network-online.target":
                wants.append(target)
    for word in info.start_before:
        target = translate(word, unit.name)
        if target:
            before.append(target)
    start = ExecCommand(path=unit.source_path, argv=(unit.source_path, "start"))
    stop = ExecCommand(path=unit.source_path, argv=(unit.source_path, "stop"))
    reload = ExecCommand(path=unit.source_path, argv=(unit.source_path, "reload"))
    return UnitConfig(
        id=unit.id, names=unit.names, description=unit.description,
        documentation=("man:systemd-sysv-generator(8)",), source_path=unit.source_path,
        fragment_path=GENERATOR_DIR + "/" + unit.id, generator="systemd-sysv-generator",
        before=tuple(before), after=tuple(dict.fromkeys(after)), wants=tuple(dict.fromkeys(wants)),
        type="forking", restart="no", timeout_start_usec=300 * USEC, timeout_stop_usec=300 * USEC,
        ignore_sigpipe=False, guess_main_pid=False,
        # systemd's generator says KillMode=process (the script's stop verb owns its processes).
        # We stop the whole unit (control-group), minus interactive logins that left it: a stop
        # that leaves a SysV daemon's children behind is the defect this tool exists to fix
        # (docs/USAGE.md, "Stopping").
        kill_mode="control-group",
        remain_after_exit=not unit.pidfile, pid_file=unit.pidfile,
        success_exit_status=(5, 6) if info.has_lsb else (),
        exec_start=(start,), exec_stop=(stop,), exec_reload=(reload,) if unit.can_reload else (),
        wanted_by=tuple(dict.fromkeys(wanted_by)))


def openrc_config(unit: Unit, started_in: tuple) -> UnitConfig:
    """An OpenRC service in the same terms: openrc-run's start/stop verbs as a forking service.
    systemd never read OpenRC scripts, so the text names us as its generator."""
    config = sysv_config(unit, "", started_in)
    return config.replace(
        documentation=("man:openrc-run(8)",), generator="systemctl-shim from an OpenRC script",
        success_exit_status=(), fragment_path=GENERATOR_DIR + "/" + unit.id)
