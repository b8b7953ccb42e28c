"""Cross-distribution service names: the same daemon is `cron` on Debian and `crond` on Alpine/RHEL.

Data, not code: each row is one daemon's family of names. A name resolves to the first member of its
row that has an init script on this machine. Extend freely; keep rows disjoint.
"""

ALIAS_GROUPS = (
    ("cron", "crond", "cronie", "dcron", "fcron", "busybox-crond"),
    ("ssh", "sshd", "openssh", "openssh-server", "dropbear"),
    ("apache2", "httpd", "apache"),
    ("nginx", "nginx-full"),
    ("rsyslog", "syslog", "syslogd", "sysklogd", "syslog-ng", "busybox-syslogd", "inetutils-syslogd"),
    ("mariadb", "mysql", "mysqld"),
    ("redis-server", "redis"),
    ("postgresql", "postgres", "postgresql-server"),
    ("ntp", "ntpd", "openntpd", "chrony", "chronyd"),
    ("dbus", "messagebus", "dbus-daemon"),
    ("named", "bind9", "bind"),
    ("memcached", "memcache"),
    ("docker", "dockerd"),
    ("containerd",),
    ("haproxy",),
    ("postfix",),
    ("exim4", "exim"),
    ("dnsmasq",),
    ("avahi-daemon", "avahi"),
    ("cups", "cupsd"),
    ("nfs-kernel-server", "nfs-server", "nfs"),
    ("smbd", "samba", "smb"),
    ("php-fpm", "php8.2-fpm", "php81-fpm", "php82-fpm", "php83-fpm"),
    ("networking", "network", "net.lo"),
    ("udev", "udevd", "systemd-udevd", "mdev"),
    ("acpid",),
    ("atd", "at"),
    ("snmpd", "net-snmp"),
    ("slapd", "openldap"),
    ("squid",),
    ("vsftpd",),
    ("xinetd",),
)


def alias_family(name: str) -> tuple:
    """The other names `name` is known by (without `name` itself), in table order."""
    for group in ALIAS_GROUPS:
        if name in group:
            return tuple(n for n in group if n != name)
    return ()
