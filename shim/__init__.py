"""systemctl-shim: a drop-in systemctl for machines that run SysV init or OpenRC."""

__version__ = "0.1.0"

# The systemd release whose command-line behaviour we reproduce (Debian 12, RHEL 9).
SYSTEMD_VERSION = 252
