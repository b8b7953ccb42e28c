#!/usr/bin/env python3
"""ssh ProxyCommand into a namespace box: `box-proxy.py NAME [PORT]`.

Finds the box NAME of a tests/boxes session (the session in $SHIM_BOX_SESSION, else
the CLI session $SHIM_BOX_WORK/cli, default /var/tmp/systemctl-shim-boxes/cli),
enters the network namespace of the box's PID 1 (setns CLONE_NEWNET: nothing else
of the box, and nothing on the host's network) and connects to the box's own
127.0.0.1:PORT (22). Then it relays stdin/stdout to that socket until either side
closes. Needs root (setns). Use in ssh_config or Ansible:

    ProxyCommand python3 /path/to/box-proxy.py %h
"""
import ctypes
import json
import os
import select
import socket
import sys

CLONE_NEWNET = 0x40000000
DEFAULT_WORK = "/var/tmp/systemctl-shim-boxes"


def session_dir():
    if os.environ.get("SHIM_BOX_SESSION"):
        return os.environ["SHIM_BOX_SESSION"]
    return os.path.join(os.environ.get("SHIM_BOX_WORK", DEFAULT_WORK), "cli")


def starttime(pid):
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[19])


def box_init_pid(name):
    if "/" in name or name in (".", ".."):
        sys.exit(f"box-proxy: bad box name {name!r}")
    path = os.path.join(session_dir(), "boxes", name, "runtime.json")
    try:
        with open(path) as handle:
            runtime = json.load(handle)
        pid = runtime["init_pid"]
        if starttime(pid) != runtime["init_start"]:   # same pid, another process: box gone
            raise ProcessLookupError(pid)
    except (OSError, KeyError, ValueError, ProcessLookupError) as error:
        sys.exit(f"box-proxy: box {name!r} is not running ({path}: {error})")
    return pid


def enter_netns(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            sys.exit(f"box-proxy: setns: {os.strerror(err)}")
    finally:
        os.close(fd)


def relay(sock):
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    inputs = [stdin, sock]
    while inputs:
        readable, _, _ = select.select(inputs, [], [])
        for source in readable:
            if source is sock:
                data = sock.recv(65536)
                if not data:
                    return                      # the box closed: we are done
                view = memoryview(data)
                while view:
                    view = view[os.write(stdout, view):]
            else:
                data = os.read(stdin, 65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)   # ssh closed its side
                    inputs.remove(stdin)
                else:
                    sock.sendall(data)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    port = int(argv[2]) if len(argv) == 3 else 22
    enter_netns(box_init_pid(argv[1]))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(None)
        relay(sock)


if __name__ == "__main__":
    main(sys.argv)
