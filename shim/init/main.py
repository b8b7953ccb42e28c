"""PID 1's loop: boot, reap, wait for a signal, shut down, exit with a useful status.

One thread, every signal blocked and taken with sigtimedwait() (signalfd style: the sender's pid
comes with it, nothing is polled, nothing is lost to the kernel's rule that PID 1 ignores signals
it has no handler for). Jobs run in children (`shim/init/boot.py`).

Signals, as systemd's manager reads them [man systemd § SIGNALS], except SIGTERM:

    SIGTERM            stop every unit, exit 0 (docker stop). systemd re-executes instead; in a
                       container people expect SIGTERM to stop, so `STOPSIGNAL` needs no change.
    SIGINT             ctrl-alt-del.target, i.e. reboot: stop every unit, exit 129 (what a
                       reboot(2) inside a PID namespace gives); more than 7 within 2 s: at once.
    SIGRTMIN+3/+4/+5   halt / poweroff (exit 0) / reboot (exit 129), after stopping every unit.
    SIGRTMIN+13/14/15  the same, immediately: no stop jobs, straight to SIGTERM/SIGKILL.
    SIGHUP             daemon-reload: nothing to reload (every command reads unit files afresh).
    SIGCHLD            reap.
    anything else      "Got unhandled signal <SIGUSR1> from PID n (comm)." on stderr.

`systemctl exit CODE` leaves CODE in the state directory and sends SIGTERM: the exit status.
"""

import os
try:
    import _signal as signal    # the C module: `signal` wraps it in enum (PID 1 stays small)
except ImportError:             # pragma: no cover - another Python implementation
    import signal
import sys
import time

from shim.init import leftovers, spawn, status
from shim.init.reaper import Reaper
from shim.proc.identity import ProcessRef, read_stat, split_stat

RTMIN = signal.SIGRTMIN
SHUTDOWN = {signal.SIGTERM: "exit", signal.SIGINT: "reboot",
            RTMIN + 3: "halt", RTMIN + 4: "poweroff", RTMIN + 5: "reboot"}
IMMEDIATE = {RTMIN + 13: "halt", RTMIN + 14: "poweroff", RTMIN + 15: "reboot"}
EXIT_STATUS = {"exit": 0, "halt": 0, "poweroff": 0, "reboot": 129}
LINGER = 0.5                 # after the stop jobs: what is left may still be leaving by itself
FINAL_TERM_GRACE = 3.0       # after the stop jobs: SIGTERM to what is left, then SIGKILL
FINAL_KILL_GRACE = 2.0       # after SIGKILL: how long to wait for the last zombies
SIGINT_BURST = (7, 2.0)      # systemd: more than 7 ctrl-alt-del within 2 s reboots at once


def _comm(pid: int, proc_root: str) -> str:
    raw = read_stat(pid, proc_root) if pid > 0 else None
    return split_stat(raw)[0].decode("utf-8", "replace") if raw else "n/a"


class Init:
    def __init__(self, ctx, units=()):
        self.ctx = ctx
        self.units = list(units)
        self.proc = ctx.proc
        self.state_dir = ctx.state_dir
        self.me = ProcessRef.of(os.getpid(), self.proc)
        self.is_pid1 = os.getpid() == 1
        self.env = dict(os.environ)
        self.reaper = Reaper(self.state_dir, self.proc, self.log)
        self.phase = "starting"
        self.started_at = time.monotonic()
        self.boot_worker = self.stopper = None
        self.request = None              # "exit" | "halt" | "poweroff" | "reboot"
        self.immediate = False
        self.final = None                # None, "linger", "term" (SIGTERM sent), "kill" (SIGKILL sent)
        self.deadline = None
        self.sigints = []
        self.done = False
        self.stop_began = None
        self.stop_spawned = False
        self.debug = bool(self.env.get("SYSTEMCTL_SHIM_DEBUG"))

    # --- output --------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        try:
            sys.stderr.write("systemctl-shim[%d]: %s\n" % (os.getpid(), text))
            sys.stderr.flush()
        except (OSError, ValueError):
            pass                                  # no console: nobody to tell

    # --- setup ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        if not self.is_pid1:
            # Not the container's init (a test, `systemctl init` under another init): orphans of
            # our units must still come to us, not to the machine's PID 1.
            from shim.proc import prctl
            prctl.set_child_subreaper(1)
        os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
        if self.is_pid1:
            self._forget_earlier_runs()
        try:
            os.fstat(1)
            console = "%s/%d/fd/1" % (self.proc, os.getpid())
        except OSError:
            console = ""
        self._write_file("console", console + "\n")
        self._write_state()

    def _forget_earlier_runs(self) -> None:
        """A new PID 1 is a new boot of this PID namespace: nothing an earlier run recorded can
        still be alive (everything in a PID namespace dies with its init), but /run may be the
        container's own disk (docker restart): drop the records, keep the logs."""
        units = os.path.join(self.state_dir, "units")
        try:
            entries = os.listdir(units)
        except OSError:
            return
        for entry in entries:
            try:
                os.unlink(os.path.join(units, entry))
            except OSError:
                pass

    def _write_file(self, name: str, text: str) -> None:
        target = os.path.join(self.state_dir, name)
        tmp = "%s.%d.tmp" % (target, os.getpid())
        with open(tmp, "w") as handle:
            handle.write(text)
        os.rename(tmp, target)

    def _write_state(self) -> None:
        try:
            status.write(self.state_dir, self.me, self.phase)
        except OSError as error:
            self.log("Failed to write %s: %s" % (status.path(self.state_dir), error.strerror))

    def cleanup(self) -> None:
        for name in ("console", "init.json"):
            try:
                os.unlink(os.path.join(self.state_dir, name))
            except OSError:
                pass

    # --- children ------------------------------------------------------------------------------
    def spawn_module(self, module: str, *args) -> int:
        return spawn.python_module(module, *args, env=self.env)

    def on_child(self, pid: int, ref, wait_status: int) -> None:
        code = os.waitstatus_to_exitcode(wait_status)
        if self.debug:
            self.log("reaped %d (%s), status %d" % (pid, "boot" if pid == self.boot_worker else
                                                    "stop" if pid == self.stopper else "orphan", code))
        if pid == self.boot_worker:
            self.boot_worker = None
            if self.phase == "starting":
                self.phase = "running"
                self._write_state()
                self.log("Startup finished in %.3fs%s." % (time.monotonic() - self.started_at,
                                                            "" if code == 0 else " (a unit failed)"))
            return
        if pid == self.stopper:
            self.stopper = None
            self.log("Stopped all units in %.3fs%s." % (time.monotonic() - self.stop_began,
                                                         "" if code == 0 else " (a stop failed)"))
            return
        unit_id = self.reaper.unit_of(ref)
        if unit_id is not None and self.phase != "stopping":
            self.reaper.main_process_ended(unit_id, ref, wait_status, self.spawn_module)

    # --- signals -------------------------------------------------------------------------------
    def on_signal(self, info) -> None:
        signo = info.si_signo
        if signo == signal.SIGCHLD:
            for pid, ref, wait_status in self.reaper.reap():
                self.on_child(pid, ref, wait_status)
            return
        from shim.proc.signals import signal_name     # imports enum: only when there is news
        sender = "from PID %d (%s)" % (info.si_pid, _comm(info.si_pid, self.proc))
        name = "SIG" + signal_name(signo)
        if signo == signal.SIGINT:
            now = time.monotonic()
            self.sigints = [t for t in self.sigints if now - t < SIGINT_BURST[1]] + [now]
            if len(self.sigints) > SIGINT_BURST[0]:
                self.log("Ctrl-Alt-Del was pressed more than %d times within %gs, rebooting immediately."
                         % SIGINT_BURST)
                self.shutdown("reboot", immediate=True)
                return
        if signo in SHUTDOWN or signo in IMMEDIATE:
            self.log("Received %s %s." % (name, sender))
            kind = SHUTDOWN.get(signo) or IMMEDIATE[signo]
            self.shutdown(kind, immediate=signo in IMMEDIATE)
        elif signo == signal.SIGHUP:
            self.log("Received %s %s: nothing to reload." % (name, sender))
        else:
            self.log("Got unhandled signal <%s> %s." % (name, sender))

    def shutdown(self, kind: str, immediate: bool) -> None:
        if self.request is not None and not immediate:
            return                               # already on the way down
        self.request = self.request or kind
        self.immediate = self.immediate or immediate
        if self.phase != "stopping":
            self.phase = "stopping"
            self.stop_began = time.monotonic()
            self._write_state()
        if self.boot_worker is not None:
            os.kill(self.boot_worker, signal.SIGTERM)   # cancel the start jobs still queued
        if self.immediate and self.stopper is not None:
            os.kill(self.stopper, signal.SIGKILL)

    # --- the way down --------------------------------------------------------------------------
    def advance(self) -> None:
        """Move the shutdown on: stop jobs, then SIGTERM, then SIGKILL, then exit."""
        if self.request is None or self.boot_worker is not None:
            return
        now = time.monotonic()
        if self.final is None:
            if not self.immediate and self.stopper is None and not self.stop_spawned:
                self.stop_spawned = True
                self.stopper = self.spawn_module("shim.init.boot", "stop")
                return
            if self.stopper is not None:
                return
            # Keepers leave on their own once their unit's processes are gone: a moment first.
            self.final, self.deadline = "linger", now + (0 if self.immediate else LINGER)
        if not self._has_children():
            self.done = True
        elif self.final == "linger" and now >= self.deadline:
            self.final, self.deadline = "term", now + FINAL_TERM_GRACE
            self._signal_rest(signal.SIGTERM)
        elif self.final == "term" and now >= self.deadline:
            self.final, self.deadline = "kill", now + FINAL_KILL_GRACE
            self._signal_rest(signal.SIGKILL)
        elif self.final == "kill" and now >= self.deadline:
            self.log("Processes that did not die on SIGKILL: giving up on them.")
            self.done = True

    def _has_children(self) -> bool:
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return True

    def _signal_rest(self, signo: int) -> None:
        """Every descendant left (never PID 1, never ourselves), each by pidfd after checking
        it is still the process we looked at."""
        from shim.proc.signals import signal_name
        victims = leftovers.descendants(os.getpid(), self.proc)
        if victims:
            self.log("Sending SIG%s to %d remaining process%s." % (signal_name(signo), len(victims),
                                                                   "" if len(victims) == 1 else "es"))
        for ref in victims:
            leftovers.signal_ref(ref, signo, self.proc)
            if signo == signal.SIGTERM:
                leftovers.signal_ref(ref, signal.SIGCONT, self.proc)

    def timeout(self):
        if self.deadline is None or self.final is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def exit_status(self) -> int:
        requested = status.take_exit_code(self.state_dir)
        if requested is not None:
            return requested
        return EXIT_STATUS.get(self.request or "exit", 0)

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, spawn.ALL_SIGNALS)
        self.prepare()
        self.boot_worker = self.spawn_module("shim.init.boot", "start", *self.units)
        while not self.done:
            timeout = self.timeout()
            info = signal.sigwaitinfo(spawn.ALL_SIGNALS) if timeout is None else \
                signal.sigtimedwait(spawn.ALL_SIGNALS, timeout)
            if info is not None:
                self.on_signal(info)
            self.advance()
        code = self.exit_status()
        self.log("Exiting with status %d after %.3fs of shutdown." % (code, time.monotonic() - self.stop_began))
        self.cleanup()
        return code


def run(ctx, units=()) -> int:
    return Init(ctx, units).run()
