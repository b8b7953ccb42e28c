"""Small helpers for box tests: daemon names per flavour, pids, waiting, and the
cron job / bystander / ssh session fixtures of the kill scenarios. They only use
testinfra's `host`, so they work on every route (nsbox, ssh, local)."""
import time

# Both Debian's cron and BusyBox crond write this pidfile.
CRON_PIDFILE = "/run/crond.pid"
SSHD_PIDFILE = "/run/sshd.pid"
SEED_JOB_PIDFILE = "/run/shim-seed-job.pid"
# "$$" is the job's shell, which then execs sleep: the pidfile names the sleep.
SEED_JOB = "sh -c 'echo $$ > " + SEED_JOB_PIDFILE + "; exec sleep 600'"


def cron_name(flavour):
    """The init script name: Debian's cron is "cron", Alpine's BusyBox one "crond"."""
    return "crond" if flavour == "alpine" else "cron"


def cron_alias(flavour):
    return "cron" if flavour == "alpine" else "crond"


def init_script(flavour, name, action):
    """The daemon's own init tooling, bypassing the shim."""
    if flavour == "sysv":
        return f"/etc/init.d/{name} {action}"
    return f"rc-service {name} {action}"


def wait_until(predicate, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def read_pid(host, path):
    result = host.run("cat %s", path)
    text = result.stdout.strip()
    return int(text) if result.rc == 0 and text.isdigit() else None


def alive(host, pid):
    """Running (not a zombie) in the machine."""
    if pid is None:
        return False
    result = host.run("cat /proc/%s/stat", str(pid))
    return result.rc == 0 and result.stdout.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def proc_state(host, pid):
    result = host.run("cat /proc/%s/stat", str(pid))
    return result.stdout.rsplit(")", 1)[1].split()[0] if result.rc == 0 else None


def cron_pid(host):
    """Cron's main pid from its pidfile, if that process is alive."""
    pid = read_pid(host, CRON_PIDFILE)
    return pid if alive(host, pid) else None


def start_bystander(host):
    """A process of the test's own that no service owns: a sleep in its own session."""
    result = host.run("sh -c 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'")
    assert result.rc == 0, result.stderr
    pid = int(result.stdout.strip())
    assert wait_until(lambda: alive(host, pid), 5)
    return pid


def install_seed_job(host, flavour):
    """An @reboot cron job: it runs as soon as cron starts on a fresh /run (both
    cron implementations run @reboot jobs when /run/crond.reboot is absent). This
    gets a cron-forked job deterministically, without waiting for a minute tick."""
    if flavour == "alpine":
        # BusyBox crond has no /etc/cron.d; root's crontab has no user field.
        line = f"@reboot {SEED_JOB}"
        host.run("printf '%%s\\n' %s >> /etc/crontabs/root", line)
    else:
        line = f"@reboot root {SEED_JOB}"
        host.run("printf '%%s\\n' %s > /etc/cron.d/shimseed && chmod 644 /etc/cron.d/shimseed",
                 line)
    host.run("rm -f /run/crond.reboot %s", SEED_JOB_PIDFILE)


def wait_seed_job(host, timeout=15):
    """pid of the running seed job (the sleep cron forked), or fail."""
    pid = wait_until(lambda: (lambda p: p if alive(host, p) else None)(
        read_pid(host, SEED_JOB_PIDFILE)), timeout)
    assert pid, "cron did not start the @reboot seed job"
    return pid


def systemctl(host, *args):
    return host.run("systemctl " + " ".join(["%s"] * len(args)), *args)
