"""What a native unit's keeper becomes when the unit's main process has ended on its own.

systemd reacts to a main process's exit at once (service_sigchld_event): a clean exit with
RemainAfterExit= keeps the unit active (exited); otherwise the run is finished as a stop would
(ExecStop= after a clean exit only, the kill step of KillMode=, ExecStopPost=), the unit becomes
inactive or failed with the run's Result, and Restart= may schedule the next start after
RestartSec=, within the start rate limit. No manager process is waiting for that here: the
keeper, which reaped the main process, execs this module in its own process (same pid, same
start time, still child subreaper of whatever the unit left), so the unit's leftovers are still
its children while they are stopped.

`python3 -m shim.engine.afterexit UNIT INVOCATION_ID [--log-fd N]`; the environment carries the
shim's SYSTEMCTL_SHIM_* settings. Never prints; what it has to say goes to the unit's log.
"""

import os
import sys
import threading
import time

from shim.context import machine_context
from shim.engine import restart
from shim.engine.jobs import JobFailed, _log, enter


class _LogWriter:
    """ctx.err for this program: warnings become lines of the unit's log."""

    def __init__(self, path):
        self.path = path

    def write(self, text):
        for line in text.splitlines():
            if line.strip():
                _log(self.path, line)

    def flush(self):
        pass


def _pump(fd, log) -> None:
    """The unit's output pipe, passed on by the keeper: its last lines still reach the log."""
    while True:
        try:
            data = os.read(fd, 65536)
        except InterruptedError:
            continue
        except OSError:
            break
        if not data:
            break
        log.feed(data)
    log.close()


def _exit_words(main_exit) -> str:
    from shim.render.status import exit_status_text
    code, status = main_exit["code"], main_exit["status"]
    if code == "exited":
        return "code=exited, status=%s" % exit_status_text(status, lsb=True)
    from shim.proc.signals import signal_name
    return "code=%s, status=%d/%s" % (code, status, signal_name(status))


def handle(manager, unit, invocation: str) -> None:
    from shim.engine.native import NativeRunner
    store = manager.store
    log = store.log_path(unit.id)
    with store.lock(unit.id):
        record = store.load(unit.id)
        if record.state != "started" or record.invocation_id != invocation:
            return                     # a stop or restart job already dealt with this run
        config = manager.config(unit)
        runner = NativeRunner(manager, unit, config)
        runner.refresh()
        tracking = record.tracking
        main_exit = store.main_exit(unit.id, tracking.main)
        said = store.notify_state(unit.id)
        if not main_exit and said.get("mainpid") and said.get("mainstart"):
            from shim.proc.identity import ProcessRef      # MAINPID= moved the main process
            main_exit = store.main_exit(unit.id, ProcessRef(said["mainpid"], said["mainstart"]))
        if not main_exit:
            return                     # not the main process we know (MAINPID= moved it)
        code, status = main_exit["code"], main_exit["status"]
        result = restart.main_result(config, code, status)
        if said.get("watchdog"):
            result = "watchdog"             # its keeper sent WatchdogSignal= (Result: watchdog)
        _log(log, "%s: Main process exited, %s" % (unit.id, _exit_words(main_exit)))
        if result == "success" and config.remain_after_exit:
            return                     # active (exited)
        runner._invocation = invocation
        expected = restart.shall_restart(config, result, code, status)
        result = runner.finish_run(record, tracking, 0, ran_ok=result == "success",
                                   result=result, main_exit=main_exit, announce=False,
                                   restarting=expected)
        if not restart.shall_restart(config, result, code, status):
            if expected:
                runner.remove_directories()      # kept for a restart that is not coming
            return
        record = store.load(unit.id)
        enter(record, "auto-restart")
        record.invocation_id = invocation
        store.save(unit.id, record)
    time.sleep(config.restart_usec / 1e6)
    with store.lock(unit.id):
        record = store.load(unit.id)
        if record.state != "auto-restart" or record.invocation_id != invocation:
            return                     # `systemctl stop` (or start) came in between
        record.n_restarts += 1
        store.save(unit.id, record)
        _log(log, "%s: Scheduled restart job, restart counter is at %d." % (unit.id, record.n_restarts))
        config = manager.config(unit)
        runner = NativeRunner(manager, unit, config)
        runner.refresh()
        from shim.engine import conditions
        try:
            if conditions.check(manager, unit, config):     # checked at every start
                runner.start(automatic=True)
            else:                                           # skipped: inactive, not restarting
                record = store.load(unit.id)
                enter(record, "stopped")
                store.save(unit.id, record)
        except JobFailed:
            runner.remove_directories()


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = {}
    for name in ("--log-fd", "--log-pid", "--log-name"):
        if name in argv:
            at = argv.index(name)
            options[name] = argv[at + 1] if at + 1 < len(argv) else ""
            del argv[at:at + 2]
    log_fd = int(options["--log-fd"]) if options.get("--log-fd", "").isdigit() else None
    if len(argv) != 2:
        sys.stderr.write("usage: python3 -m shim.engine.afterexit UNIT INVOCATION_ID "
                         "[--log-fd N] [--log-pid PID] [--log-name NAME]\n")
        return 2
    unit_id, invocation = argv
    from shim.manager import Manager
    ctx = machine_context(dict(os.environ), out=open(os.devnull, "w"))
    manager = Manager(ctx)
    store = manager.store
    ctx.err = _LogWriter(store.log_path(unit_id))
    pump = None
    if log_fd is not None:
        from shim.proc.keeper import Log as _Log
        config_log = _Log(store.log_path(unit_id),
                          options.get("--log-name") or unit_id.rsplit(".", 1)[0],
                          console=store.console_path(), unit=unit_id)
        if options.get("--log-pid", "").isdigit():
            config_log.pid = int(options["--log-pid"])   # the lines keep their process's name
        pump = threading.Thread(target=_pump, args=(log_fd, config_log), daemon=True)
        pump.start()
    try:
        units = manager.units([unit_id])
        if units and units[0].found and units[0].backend == "native":
            handle(manager, units[0], invocation)
    except Exception as error:      # noqa: BLE001 - never a traceback; the log says what went wrong
        _log(store.log_path(unit_id), "%s: internal error after the main process ended: %s: %s"
             % (unit_id, type(error).__name__, error))
        return 1
    finally:
        if pump is not None:
            pump.join(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
