"""A root with a few hundred realistic unit files, for bench/cli_bench.py (and tests).

    python3 bench/unittree.py ROOT [COUNT]

The unit files are Debian 12's own (cron, ssh, networking, e2scrub_reap, fstrim, apt-daily as
their packages ship them), cloned under numbered names so that a root holds COUNT services the
way a full server does: merged /usr (`lib -> usr/lib`), every tenth unit with a drop-in in
/etc/systemd/system, enable links in multi-user.target.wants, a few masks and alias symlinks,
and `running-N.service` units (a plain `sleep`) that the benchmark starts.
"""

import os
import sys

DEBIAN_UNITS = {
    "cron": """[Unit]
Description=Regular background program processing daemon
Documentation=man:cron(8)
After=remote-fs.target nss-user-lookup.target

[Service]
EnvironmentFile=-/etc/default/cron
ExecStart=/usr/sbin/cron -f $EXTRA_OPTS
IgnoreSIGPIPE=false
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
""",
    "ssh": """[Unit]
Description=OpenBSD Secure Shell server
Documentation=man:sshd(8) man:sshd_config(5)
After=network.target auditd.service
ConditionPathExists=!/etc/ssh/sshd_not_to_be_run

[Service]
EnvironmentFile=-/etc/default/ssh
ExecStartPre=/usr/sbin/sshd -t
ExecStart=/usr/sbin/sshd -D $SSHD_OPTS
ExecReload=/usr/sbin/sshd -t
ExecReload=/bin/kill -HUP $MAINPID
KillMode=process
Restart=on-failure
RestartPreventExitStatus=255
Type=notify
RuntimeDirectory=sshd
RuntimeDirectoryMode=0755

[Install]
WantedBy=multi-user.target
""",
    "networking": """[Unit]
Description=Raise network interfaces
Documentation=man:interfaces(5)
DefaultDependencies=no
Wants=network.target ifupdown-pre.service
After=local-fs.target network-pre.target apparmor.service systemd-sysctl.service systemd-modules-load.service ifupdown-pre.service
Before=network.target shutdown.target network-online.target
Conflicts=shutdown.target

[Install]
WantedBy=multi-user.target
WantedBy=network-online.target

[Service]
Type=oneshot
EnvironmentFile=-/etc/default/networking
ExecStart=/sbin/ifup -a --read-environment
ExecStart=-/bin/sh -c 'if [ -f /run/network/restart-hotplug ]; then /sbin/ifup -a --read-environment --allow=hotplug; fi'
ExecStop=/sbin/ifdown -a --read-environment --exclude=lo
ExecStopPost=/usr/bin/touch /run/network/restart-hotplug
RemainAfterExit=true
TimeoutStartSec=5min
""",  # noqa: E501 (Debian's lines, verbatim)
    "e2scrub_reap": """[Unit]
Description=Remove Stale Online ext4 Metadata Check Snapshots
ConditionCapability=CAP_SYS_ADMIN
ConditionCapability=CAP_SYS_RAWIO
Documentation=man:e2scrub_all(8)

[Service]
Type=oneshot
WorkingDirectory=/
PrivateNetwork=true
ProtectSystem=true
ProtectHome=read-only
PrivateTmp=yes
AmbientCapabilities=CAP_SYS_ADMIN CAP_SYS_RAWIO
NoNewPrivileges=yes
User=root
IOSchedulingClass=idle
CPUSchedulingPolicy=idle
Environment=SERVICE_MODE=1
ExecStart=/sbin/e2scrub_all -A -r
SyslogIdentifier=%N
RemainAfterExit=no

[Install]
WantedBy=multi-user.target
""",
    "fstrim": """[Unit]
Description=Discard unused blocks on filesystems from /etc/fstab
Documentation=man:fstrim(8)
ConditionVirtualization=!container

[Service]
Type=oneshot
ExecStart=/sbin/fstrim --listed-in /etc/fstab:/proc/self/mountinfo --verbose --quiet-unsupported
PrivateDevices=no
PrivateNetwork=yes
PrivateUsers=no
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
MemoryDenyWriteExecute=yes
SystemCallFilter=@default @file-system @basic-io @system-service
""",
    "apt-daily": """[Unit]
Description=Daily apt download activities
Documentation=man:apt(8)
ConditionACPower=true
After=network.target network-online.target systemd-networkd.service NetworkManager.service connman.service

[Service]
Type=oneshot
ExecStartPre=-/usr/lib/apt/apt-helper wait-online
ExecStart=/usr/lib/apt/apt.systemd.daily update
""",
}

DROPIN = """[Service]
Environment=BENCH_OVERRIDE=1
TimeoutStopSec=20s
"""

RUNNING = """[Unit]
Description=benchmark service %d

[Service]
ExecStart=/bin/sleep 100000

[Install]
WantedBy=multi-user.target
"""

ETC = "etc/systemd/system"
USR = "usr/lib/systemd/system"


def _write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def build(root: str, count: int = 300, running: int = 5) -> dict:
    """Write the tree; returns {"units": [names], "running": [names], "dropins": n}."""
    os.makedirs(os.path.join(root, USR), exist_ok=True)
    os.makedirs(os.path.join(root, ETC, "multi-user.target.wants"), exist_ok=True)
    if not os.path.lexists(os.path.join(root, "lib")):
        os.symlink("usr/lib", os.path.join(root, "lib"))
    bases = sorted(DEBIAN_UNITS)
    names, dropins = [], 0
    for i in range(count - running):
        base = bases[i % len(bases)]
        name = "%s-%03d.service" % (base, i)
        text = DEBIAN_UNITS[base].replace("Description=", "Description=(%03d) " % i, 1)
        _write(root, "%s/%s" % (USR, name), text)
        names.append(name)
        if i % 10 == 3:
            _write(root, "%s/%s.d/override.conf" % (ETC, name), DROPIN)
            dropins += 1
        if "WantedBy=multi-user.target" in text and i % 3 == 0:
            os.symlink("/lib/systemd/system/" + name,
                       os.path.join(root, ETC, "multi-user.target.wants", name))
        if i % 50 == 7:
            os.symlink("/dev/null", os.path.join(root, ETC, name))         # masked
        if i % 60 == 11:
            os.symlink(name, os.path.join(root, USR, "alias-%03d.service" % i))
    started = []
    for i in range(running):
        name = "running-%d.service" % i
        _write(root, "%s/%s" % (USR, name), RUNNING % i)
        started.append(name)
    return {"units": names + started, "running": started, "dropins": dropins}


if __name__ == "__main__":
    info = build(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300)
    print("%d unit files (%d drop-ins) under %s" % (len(info["units"]), info["dropins"],
                                                    sys.argv[1]))
