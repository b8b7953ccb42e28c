"""The keeper: what a start's anchor becomes once the unit's command runs (`shim/proc/anchor.py`
spawns it and speaks the protocol with the caller; this module holds the unit's tree).

It reaps whatever of the tree dies (orphans re-parent to it: it is their child subreaper), writes
down how the main process ended, turns the tree's output into journal-like log lines (rate
limited as journald does), listens on the unit's notify socket when it has one, watches
WatchdogSec=, and when the main process ends hands over to the engine's after-exit step by
exec'ing it in this same process. Knows nothing of units beyond what its spec says.
"""

import os
import time

try:
    import _signal as signal    # the C module: `signal` wraps it in enum (and functools, ...)
except ImportError:             # pragma: no cover - another Python implementation
    import signal

from shim.proc.anchor import _reap_ready, exit_record, write_exit
from shim.proc.identity import ProcessRef

RATE_INTERVAL, RATE_BURST = 30.0, 10000    # journald's defaults, per unit's log, and at most
RATE_BYTES = 192 * 1024                    # this much text per interval: less than the log's
                                           # rotation size, so a flood never rotates away what
                                           # the shim itself said about the unit


class Log:
    """The unit's output as journal-like lines ('Dec 01 21:40:00 host name[pid]: text'), appended
    to its log file, which is rotated once (to .1) when it passes `limit` bytes."""

    def __init__(self, path, name, limit=256 * 1024, console="", unit=""):
        self.path, self.name, self.limit = path, name, limit
        self.host = os.uname().nodename.split(".")[0]
        self.partial = b""
        self.pid = 0
        self.unit = unit or name
        self.window, self.count, self.bytes, self.suppressed = time.monotonic(), 0, 0, 0
        self.console = -1
        if console:
            # The container's PID 1 asked for a copy (`docker logs`): never block on it, a full
            # pipe loses lines rather than stalling the unit.
            try:
                self.console = os.open(console, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY |
                                       os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                self.console = -1

    def feed(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > 4096:             # an endless line is cut, as journald does
            lines.append(self.partial)
            self.partial = b""
        self._write(self._rate_limited(lines))

    def _rate_limited(self, lines) -> list:
        """journald's per-service rate limit (RateLimitIntervalSec=30s, RateLimitBurst=10000),
        plus RATE_BYTES: a firehose cannot rotate away what the shim logs about the unit."""
        now = time.monotonic()
        notice = []
        if now - self.window >= RATE_INTERVAL:
            if self.suppressed:
                notice = [b"Suppressed %d messages from %s" % (self.suppressed, self.unit.encode())]
            self.window, self.count, self.bytes, self.suppressed = now, 0, 0, 0
        kept = []
        for line in lines:
            if self.count >= RATE_BURST or self.bytes + len(line) > RATE_BYTES:
                self.suppressed += 1
                continue
            self.count += 1
            self.bytes += len(line) + 1
            kept.append(line)
        return notice + kept

    def close(self) -> None:
        if self.partial:
            self._write([self.partial])
            self.partial = b""

    def _write(self, lines) -> None:
        if not lines or not self.path:
            return
        stamp = time.strftime("%b %d %H:%M:%S")
        head = "%s %s %s[%d]: " % (stamp, self.host, self.name, self.pid)
        texts = [line.decode("utf-8", "replace").rstrip("\r") for line in lines]
        text = "".join(head + line + "\n" for line in texts)
        if self.console >= 0:
            prefix = "%s[%d]: " % (self.unit, self.pid)
            try:
                os.write(self.console, "".join(prefix + line + "\n" for line in texts)
                         .encode("utf-8", "replace"))
            except OSError:
                pass
        try:
            if os.path.getsize(self.path) > self.limit:
                os.replace(self.path, self.path + ".1")
        except OSError:
            pass
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                os.write(fd, text.encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass


class Keeper:
    """A start's anchor once the command runs: holds the tree until nothing of it lives, reaps
    whatever dies (orphans re-parent here), writes down the main process's end, turns the tree's
    output into log lines and, for a unit that speaks sd_notify, listens on its socket. Woken by
    SIGCHLD (through a wakeup descriptor), output and notify messages: there is no polling."""

    def __init__(self, spec, output_r, log, wakeup, notify):
        self.spec = spec
        self.exit_path = spec.get("exit_path")
        self.output_r, self.log, self.notify = output_r, log, notify
        self.wakeup = wakeup or Wakeup()
        self.main = None

    def _watched(self) -> list:
        return [fd for fd in (self.wakeup.r, self.output_r,
                              self.notify.fileno() if self.notify else None) if fd is not None]

    def _service(self, ready) -> list:
        """Handle what woke us: output to the log, notify messages (returned)."""
        if self.wakeup.r in ready:
            self.wakeup.clear()
        if self.output_r is not None and self.output_r in ready:
            data = os.read(self.output_r, 65536)
            if data:
                self.log.feed(data)
            else:
                os.close(self.output_r)
                self.output_r = None
        messages = []
        if self.notify is not None and self.notify.fileno() in ready:
            messages = self.notify.receive(self.main.pid if self.main else 0,
                                           self._is_ours, self._log_line)
            for fields in messages:
                self.notify.apply(fields)
                if "MAINPID" in fields:
                    self._new_main(fields)
        return messages

    def _new_main(self, fields) -> None:
        """MAINPID=, as systemd's service_is_suitable_main_pid(): never PID 1 or this keeper,
        never a dead process, and a process outside the unit only on root's word ("Supervising
        process X which is not our child"); otherwise refused, the main process unchanged."""
        text = fields["MAINPID"].strip()
        pid = int(text) if text.isdigit() else 0
        unit = self.spec.get("unit", "")
        if self.main is not None and pid == self.main.pid:
            return
        if pid <= 1 or pid == os.getpid():
            self._log_line("%s: New main PID %d %s, refusing." % (
                unit, pid, "is the manager" if pid else "is invalid"))
            return
        ref = ProcessRef.of(pid, self.spec.get("proc_root", "/proc"))
        if ref is None:
            self._log_line("%s: New main PID %d does not exist or is a zombie." % (unit, pid))
            return
        if not self._is_ours(pid):
            if fields.get("\0uid") != 0:
                self._log_line("%s: New main PID %d does not belong to service, refusing."
                               % (unit, pid))
                return
            self._log_line("%s: Supervising process %d which is not our child. We'll most "
                           "likely not notice when it exits." % (unit, pid))
        self.main = ref
        self.notify.state["mainpid"], self.notify.state["mainstart"] = pid, ref.starttime
        notify_module().write_state(self.notify.state_path, self.notify.state)

    def _is_ours(self, pid: int) -> bool:
        """A process of the unit: a descendant of this keeper, or one of this invocation's
        control processes (NotifyAccess=exec/all; they run under other anchors and carry the
        unit's INVOCATION_ID)."""
        proc_root = self.spec.get("proc_root", "/proc")
        if self._below_us(pid, proc_root):
            return True
        marker = ("INVOCATION_ID=%s" % self.spec["env"].get("INVOCATION_ID", "")).encode()
        try:
            with open("%s/%d/environ" % (proc_root, pid), "rb") as handle:
                return len(marker) > 14 and marker in handle.read(1 << 20).split(b"\0")
        except OSError:
            return False

    def _below_us(self, pid: int, proc_root: str) -> bool:
        for _ in range(4096):
            try:
                with open("%s/%d/stat" % (proc_root, pid), "rb") as handle:
                    data = handle.read()
                pid = int(data[data.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if pid == os.getpid():
                return True
            if pid <= 1:
                return False
        return False

    def _log_line(self, text: str) -> None:
        if self.log is not None:
            self.log._write([text.encode("utf-8", "replace")])

    def _main_ended(self, reaped) -> bool:
        for pid, status in reaped:
            if self.main is not None and pid == self.main.pid:
                if self.exit_path:
                    write_exit(self.exit_path, exit_record(self.main.pid, self.main.starttime, status))
                self.main = None
                return True
        return False

    def await_ready(self, control, timeout):
        """Type=notify: wait for READY=1 from the main process (or whom NotifyAccess= allows),
        extended by EXTEND_TIMEOUT_USEC=. Returns ("ready", None), ("exit", wait status) when
        the main process ended first, or ("timeout", None)."""
        import select
        self.main = control
        deadline = None if not timeout or timeout <= 0 else time.monotonic() + timeout
        while True:
            watched = self.main
            for pid, status in _reap_ready():
                if watched is not None and pid == watched.pid:
                    if self.exit_path:
                        write_exit(self.exit_path, exit_record(pid, watched.starttime, status))
                    self.main = None
                    return "exit", status
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return "timeout", None
            try:
                ready, _, _ = select.select(self._watched(), [], [], remaining)
            except InterruptedError:
                continue
            for fields in self._service(ready):
                extend = notify_module().extend_usec(fields)
                if extend and deadline is not None:
                    deadline = max(deadline, time.monotonic() + extend / 1e6)
            if self.notify.state["ready"]:
                return "ready", None

    def hold(self, main) -> None:
        import select
        for signo in (signal.SIGHUP, signal.SIGINT):
            signal.signal(signo, signal.SIG_IGN)
        self.main = main
        watchdog = (self.spec.get("watchdog_usec") or 0) / 1e6 if self.notify and main else 0
        deadline = time.monotonic() + watchdog if watchdog else None
        while True:
            if self._main_ended(_reap_ready()) and self.spec.get("on_exit"):
                self._hand_over()               # does not return
            try:
                os.waitpid(-1, os.WNOHANG)          # probe only: raises once no child is left
            except ChildProcessError:
                break
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ready, _, _ = select.select(self._watched(), [], [], timeout)
            except InterruptedError:
                continue
            for fields in self._service(ready):
                if fields.get("WATCHDOG_USEC", "").isdigit():
                    watchdog = int(fields["WATCHDOG_USEC"]) / 1e6
                if fields.get("WATCHDOG") == "1" and watchdog:
                    deadline = time.monotonic() + watchdog
                elif fields.get("WATCHDOG") == "trigger":
                    deadline = time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                deadline = None
                self._watchdog_expired(watchdog)
        self._drain_output()
        if self.notify is not None:
            self.notify.close()

    def _watchdog_expired(self, limit: float) -> None:
        """WatchdogSec= passed without WATCHDOG=1: WatchdogSignal= (SIGABRT) to the main process;
        its end then counts as Result=watchdog."""
        if self.main is None:
            return
        signo = self.spec.get("watchdog_signal") or signal.SIGABRT
        self._log_line("%s: Watchdog timeout (limit %s)!" % (self.spec.get("unit", ""),
                                                          _seconds(limit)))
        self._log_line("%s: Killing process %d with signal %d." % (
            self.spec.get("unit", ""), self.main.pid, signo))
        self.notify.watchdog_fired()
        try:
            os.kill(self.main.pid, signo)        # our child (or re-parented to us): not reused
        except ProcessLookupError:
            pass

    def _drain_output(self) -> None:
        if self.output_r is not None:           # the last writers are gone with the tree
            os.set_blocking(self.output_r, False)
            try:
                while True:
                    data = os.read(self.output_r, 65536)
                    if not data:
                        break
                    self.log.feed(data)
            except BlockingIOError:
                pass
        if self.log is not None:
            self.log.close()

    def _hand_over(self) -> None:
        """The main process ended and the unit wants the engine to decide what follows
        (systemd's service_sigchld_event: ExecStop, the kill step, ExecStopPost, Restart=): become
        that program, in this same process, so that what is left of the tree stays our children
        and the keeper's identity (pid, start time) stays valid while it runs. The log pipe is
        passed on, so the tree's last words still reach the log."""
        if self.log is not None:
            self.log.close()
        if self.notify is not None:
            self.notify.close()
        argv = list(self.spec["on_exit"])
        if self.output_r is not None:
            os.set_inheritable(self.output_r, True)
            argv += ["--log-fd", str(self.output_r)]
            if self.log is not None:
                argv += ["--log-pid", str(self.log.pid)]
        try:
            os.execve(argv[0], argv, self.spec.get("on_exit_env") or {})
        except OSError:
            self.spec["on_exit"] = None          # keep holding, as without a handler
            self.hold(None)
            os._exit(0)


def _seconds(value: float) -> str:
    return ("%g" % value) + "s" if value < 60 else "%gmin" % (value / 60)


def notify_module():
    from shim.proc import notify
    return notify


class Wakeup:
    """A descriptor that becomes readable when SIGCHLD arrives (signal.set_wakeup_fd)."""

    def __init__(self):
        self.r, self.w = os.pipe()
        os.set_blocking(self.w, False)
        os.set_blocking(self.r, False)
        signal.signal(signal.SIGCHLD, lambda signo, frame: None)
        signal.set_wakeup_fd(self.w)

    def clear(self) -> None:
        try:
            while os.read(self.r, 512):
                pass
        except BlockingIOError:
            pass
