"""Writing real shell init scripts into a temporary root for the host suite.

Scripts run on the live system (the shim does not chroot), so every path *inside* a script is a
literal absolute path: pidfiles and marker files live in the test's own temporary directory.
Every daemon a script starts carries `SHIM_TEST_TAG=<tag>` in its environment, so a test can find
(and clean up) exactly the processes it started itself, never matching anything by name.
"""

import os
import textwrap

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
