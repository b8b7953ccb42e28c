"""Writing real shell init scripts into a temporary root for the host suite.

Scripts run on the live system (the shim does not chroot), so every path *inside* a script is a
literal absolute path: pidfiles and marker files live in the test's own temporary directory.
Every daemon a script starts carries `SHIM_TEST_TAG=<tag>` in its environment, so a test can find
(and clean up) exactly the processes it started itself, never matching anything by name.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass

LSB_TEMPLATE = """\
### BEGIN INIT INFO
# Provides:          {provides}
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     {default_start}
# Default-Stop:      {default_stop}
# Short-Description: {description}
### END INIT INFO
"""

DAEMON_TEMPLATE = """\
#!/bin/sh
{lsb}
PIDFILE={pidfile}
MARKS={marks}
case "$1" in
  start)
    echo start >> "$MARKS/{name}.calls"
    {start_delay}
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then exit 0; fi
    {start_body}
    ;;
  stop)
    echo stop >> "$MARKS/{name}.calls"
    if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null; rm -f "$PIDFILE"; fi
    exit {stop_exit}
    ;;
  reload)
    echo reload >> "$MARKS/{name}.calls"
    exit {reload_exit}
    ;;
  restart|force-reload)
    "$0" stop; "$0" start
    ;;
  status)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "{name} is running"; exit 0
    fi
    echo "{name} is not running"; exit 3
    ;;
  *)
    echo "Usage: $0 {usage}" >&2
    exit 3
    ;;
esac
exit 0
"""

RUN_DAEMON = ('SHIM_TEST_TAG={tag} sleep 100000 </dev/null >/dev/null 2>&1 &\n'
              '    echo $! > "$PIDFILE"\n'
              '    exit {start_exit}')


def write_script(path, text, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def daemon_script(init_d, name, *, tag, pidfile, marks, provides=(), lsb=True, reload=True,
                  description=None, start_exit=0, stop_exit=0, reload_exit=0, start_delay=0.0,
                  daemon=True, default_start="2 3 4 5", default_stop="0 1 6", filename=None):
    """A SysV init script for `name` whose `start` forks a real daemon (a tagged `sleep`) and
    writes its pid to `pidfile`. `daemon=False`: start leaves nothing running (a oneshot)."""
    lsb_block = LSB_TEMPLATE.format(
        provides=" ".join((name,) + tuple(provides)), description=description or "%s test daemon" % name,
        default_start=default_start, default_stop=default_stop) if lsb else \
        "# %s: a script without an LSB header\n" % name
    usage = "{start|stop|restart|reload|force-reload|status}" if reload else \
        "{start|stop|restart|status}"
    if daemon:
        body = RUN_DAEMON.format(tag=tag, start_exit=start_exit)
    else:
        body = 'touch "$MARKS/%s.done"\n    exit %d' % (name, start_exit)
    text = DAEMON_TEMPLATE.format(
        lsb=lsb_block.rstrip("\n"), pidfile=pidfile, marks=marks, name=name,
        start_delay=("sleep %s" % start_delay) if start_delay else ":",
        start_body=body, stop_exit=stop_exit, reload_exit=reload_exit, usage=usage)
    return write_script(os.path.join(init_d, filename or name), text)


def raw_script(init_d, name, body, mode=0o755):
    """A script with exactly this text (dedented)."""
    return write_script(os.path.join(init_d, name), textwrap.dedent(body), mode)


# --- running the CLI against a temporary root ---------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.path.join(REPO, "bin", "systemctl")
IN_PIDNS = False
try:
    with open("/proc/1/cmdline", "rb") as _handle:
        IN_PIDNS = b"pidns.py" in _handle.read()
except OSError:
    pass

_DROP_ENV = ("LANG", "LANGUAGE", "SYSTEMD_UTF8", "SYSTEMCTL_SKIP_SYSV", "_SKIP_SYSTEMD_NATIVE",
             "SYSTEMCTL_SHIM_STATE_DIR", "SYSTEMCTL_SHIM_CGROUP", "SYSTEMCTL_SHIM_STOP_TIMEOUT",
             "SYSTEMD_OFFLINE", "SYSTEMCTL_SHIM_DEBUG", "SYSTEMCTL_SHIM_ROOT")


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV and not k.startswith("LC_")}
    env["LANG"] = "C.UTF-8"
    env["SYSTEMCTL_SHIM_CGROUP"] = "none"
    env["SYSTEMCTL_SHIM_STOP_TIMEOUT"] = "5"
    env["PYTHONPATH"] = REPO
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str

    @property
    def lines(self):
        return self.out.splitlines()

    def __str__(self):
        return "argv=%r rc=%d\n--- stdout\n%s--- stderr\n%s" % (self.argv, self.rc, self.out, self.err)


def assert_clean(result: Result) -> Result:
    """Never a traceback, never the shim's catch-all, whatever the command."""
    assert "Traceback" not in result.err, str(result)
    assert "internal error" not in result.err, str(result)
    return result


def cli(args, *, env=None, user=None, python=None, timeout=120, use_bin=False, cwd=None):
    """Run the real CLI; return Result. `user`: run as that user through setpriv."""
    if use_bin:
        argv = [BIN]
    else:
        argv = [python or sys.executable, "-m", "shim"]
    argv += list(args)
    if user:
        argv = ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--init-groups"] + argv
    done = subprocess.run(argv, env=env or base_env(), cwd=cwd or "/", stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    result = Result(argv, done.returncode, done.stdout.decode("utf-8", "replace"),
                    done.stderr.decode("utf-8", "replace"))
    return assert_clean(result)


def environ_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read()
        return data[data.rindex(b")") + 2:].split()[0] == b"Z"
    except (OSError, ValueError, IndexError):
        return True


def pids_tagged(tag):
    """Live (non-zombie) processes carrying SHIM_TEST_TAG=tag: ours by construction."""
    marker = ("SHIM_TEST_TAG=%s" % tag).encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and marker in environ_of(int(entry)) and not is_zombie(int(entry)):
            found.append(int(entry))
    return sorted(found)


def pid_alive(pid):
    return os.path.exists("/proc/%d" % pid) and not is_zombie(pid)


def gone(pid):
    """Dead and reaped (a zombie still answers `kill -0`, which init scripts use)."""
    return not os.path.exists("/proc/%d" % pid)


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def impostor_with_pid(root, pid):
    """A bystander of this test that gets exactly `pid` (ns_last_pid; nothing else forks here)."""
    for _ in range(20):
        with open(NS_LAST_PID, "w") as handle:
            handle.write(str(pid - 1))
        impostor = root.spawn_tagged_sleep()
        if impostor.pid == pid:
            return impostor
        impostor.kill()
        impostor.wait()
    raise AssertionError("could not get PID %d back through %s" % (pid, NS_LAST_PID))


class Root:
    """A temporary machine root: etc/init.d, etc/rcN.d, etc/inittab, and a tag for its daemons."""

    def __init__(self, path):
        self.path = path
        self.tag = "shimtest-" + uuid.uuid4().hex[:12]
        self.marks = os.path.join(path, "marks")     # where scripts leave traces (live path)
        self.pids = os.path.join(path, "pids")       # pidfiles (live paths, under the temp dir)
        self.init_d = os.path.join(path, "etc", "init.d")
        for directory in (self.marks, self.pids, self.init_d, os.path.join(path, "run")):
            os.makedirs(directory, exist_ok=True)
        for level in "0123456S":
            os.makedirs(os.path.join(path, "etc", "rc%s.d" % level), exist_ok=True)
        with open(os.path.join(path, "etc", "inittab"), "w") as handle:
            handle.write("# test inittab\nid:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n")
        self.env_extra = {}
        self.extra_pids = []

    # --- scripts -------------------------------------------------------------------------------
    def pidfile(self, name):
        return os.path.join(self.pids, name + ".pid")

    def daemon(self, name, **kwargs):
        """Write /etc/init.d/<name> that starts a real tagged daemon; returns its pidfile."""
        kwargs.setdefault("pidfile", self.pidfile(name))
        daemon_script(self.init_d, name, tag=self.tag, marks=self.marks, **kwargs)
        return kwargs["pidfile"]

    def raw(self, name, body, mode=0o755):
        return raw_script(self.init_d, name, body, mode)

    def calls(self, name):
        try:
            with open(os.path.join(self.marks, name + ".calls")) as handle:
                return handle.read().split()
        except OSError:
            return []

    def daemon_pid(self, name):
        try:
            with open(self.pidfile(name)) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return 0

    def tagged(self):
        return pids_tagged(self.tag)

    def rc_link(self, level, kind_prio_name, target):
        link = os.path.join(self.path, "etc", "rc%s.d" % level, kind_prio_name)
        os.symlink("../init.d/" + target, link)
        return link

    def state_dir(self):
        return os.path.join(self.path, "run", "systemctl-shim")

    # --- the CLI -------------------------------------------------------------------------------
    def env(self, **extra):
        """The CLI's environment: the live machine (real processes, this PID namespace), with its
        init scripts, links and /run state read below this root (SYSTEMCTL_SHIM_ROOT)."""
        merged = {"SYSTEMCTL_SHIM_ROOT": self.path}
        merged.update(self.env_extra)
        merged.update(extra)
        return base_env(**merged)

    def run(self, *args, env=None, user=None, python=None, timeout=120, use_bin=False):
        return cli(list(args), env=env or self.env(), user=user,
                   python=python, timeout=timeout, use_bin=use_bin)

    def run_offline(self, *args, env=None, user=None):
        """systemctl --root=<this root>: the tree as an image, no running machine behind it."""
        return cli(["--root=" + self.path] + list(args), env=env or self.env(SYSTEMCTL_SHIM_ROOT=None),
                   user=user)

    def spawn_tagged_sleep(self):
        """A process of this test that belongs to no unit (for pidfile-hijack tests)."""
        env = dict(os.environ, SHIM_TEST_TAG=self.tag)
        proc = subprocess.Popen(["sleep", "100000"], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.extra_pids.append(proc)
        return proc

    def cleanup(self):
        for proc in self.extra_pids:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for _ in range(50):
            pids = self.tagged()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        left = self.tagged()
        assert not left, "test left processes behind: %r" % left
