"""The receiving end of sd_notify(3), one socket per unit, held by the unit's keeper.

systemd has one socket for every unit and tells units apart by the sender's cgroup; we have no
cgroup to ask, so each keeper binds its own datagram socket (`<state>/notify/<keeper pid>`) and
exports it as NOTIFY_SOCKET to the unit's main process. The sender is known from
SCM_CREDENTIALS, never from the process tree: `systemd-notify` running as root sends with its
parent's PID, which the kernel allows (reference/unit-files.md §15), and NotifyAccess= is
checked against that PID as systemd does.

What the unit said is kept in a small JSON file (`units/X.notify`) that `status` and `show`
read: STATUS= (StatusText), ERRNO= (StatusErrno), MAINPID=, and the RELOADING/STOPPING flags.
Imported by the keeper only for units that use the protocol (socket costs memory).
"""

import os
import socket
import struct

_CRED = struct.Struct("3i")             # struct ucred: pid, uid, gid
NOTIFY_BUFFER_MAX = 4096                # systemd's NOTIFY_BUFFER_MAX (PIPE_BUF)


class NotifySocket:
    def __init__(self, directory: str, access: str, state_path: str):
        os.makedirs(directory, mode=0o755, exist_ok=True)
        self.path = os.path.join(directory, str(os.getpid()))
        try:
            os.unlink(self.path)            # a keeper that died with this pid left it
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC |
                                  socket.SOCK_NONBLOCK)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)          # services running as other users send too
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.access = access or "main"
        self.state_path = state_path
        self.state = {"status": "", "errno": 0, "mainpid": 0, "ready": False,
                      "reloading": False, "stopping": False, "watchdog": False}
        write_state(state_path, self.state)     # nothing of an earlier run's stays

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def receive(self, main_pid: int, permitted_extra=lambda pid: False, log=None) -> list:
        """Every datagram waiting now, as {KEY: value} dicts, from senders NotifyAccess= lets
        through (`permitted_extra(pid)` answers for NotifyAccess=all). Rejections are logged
        in systemd's words."""
        accepted = []
        while True:
            try:
                data, ancillary, flags, _ = self.sock.recvmsg(NOTIFY_BUFFER_MAX,
                                                               socket.CMSG_SPACE(_CRED.size))
            except (BlockingIOError, InterruptedError):
                return accepted
            except OSError:
                return accepted
            pid = uid = -1
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS \
                        and len(payload) >= _CRED.size:
                    pid, uid, _ = _CRED.unpack(payload[:_CRED.size])
            # systemd's manager_dispatch_notify_fd(): whole datagrams of clean text only
            if flags & socket.MSG_TRUNC:
                self._say(log, "Received notify message exceeded maximum size. Ignoring.")
                continue
            if b"\0" in data:
                self._say(log, "Received notify message with embedded NUL bytes. Ignoring.")
                continue
            reason = self._refusal(pid, main_pid, permitted_extra)
            if reason:
                self._say(log, reason)
                continue
            fields = {}
            for line in data.decode("utf-8", "surrogateescape").split("\n"):
                key, sep, value = line.partition("=")
                if not (sep and key):
                    continue
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    self._say(log, "Got notification message with %s= that is not UTF-8 clean, "
                                   "ignoring." % key)
                    continue
                fields[key] = value
            if fields:
                fields[""] = pid            # who sent it
                fields["\0uid"] = uid
                accepted.append(fields)

    @staticmethod
    def _say(log, text) -> None:
        if log is not None:
            log(text)

    def _refusal(self, pid: int, main_pid: int, permitted_extra) -> str:
        if self.access == "none":
            return "Got notification message from PID %d, but reception is disabled." % pid
        if pid and pid == main_pid:
            return ""
        if self.access in ("all", "exec") and pid and permitted_extra(pid):
            return ""       # exec: the unit's control processes too (this invocation's)
        if self.access in ("main", "exec"):
            if not main_pid:
                return "Got notification message from PID %d, but reception only permitted " \
                       "for main PID which is currently not known" % pid
            return "Got notification message from PID %d, but reception only permitted for " \
                   "main PID %d" % (pid, main_pid)
        return "Got notification message from PID %d, but reception only permitted for " \
               "processes of the unit" % pid

    def apply(self, fields: dict) -> None:
        """Fold one message into the unit's notify state and write it down."""
        state = self.state
        if fields.get("READY") == "1":
            state["ready"], state["reloading"] = True, False
        if fields.get("RELOADING") == "1":
            state["reloading"] = True
        if fields.get("STOPPING") == "1":
            state["stopping"] = True
        if "STATUS" in fields:
            state["status"] = fields["STATUS"][:4096]
        if fields.get("ERRNO", "").strip().isdigit():
            state["errno"] = int(fields["ERRNO"].strip())
        write_state(self.state_path, state)         # MAINPID=: the keeper checks it first

    def watchdog_fired(self) -> None:
        self.state["watchdog"] = True
        write_state(self.state_path, self.state)


def _json_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def write_state(path: str, state: dict) -> None:
    """Atomically; JSON written by hand (the keeper does not import json)."""
    if not path:
        return
    parts = []
    for key in sorted(state):
        value = state[key]
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            text = _json_string(str(value))
        parts.append("%s: %s" % (_json_string(key), text))
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("{" + ", ".join(parts) + "}")
        os.rename(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def extend_usec(fields: dict) -> int:
    """EXTEND_TIMEOUT_USEC=, or 0."""
    value = fields.get("EXTEND_TIMEOUT_USEC", "").strip()
    return int(value) if value.isdigit() else 0
