#!/bin/sh
# Runs chrooted after provision-debian.sh for the "openrc" flavour (Debian's
# OpenRC 0.45 under sysvinit as PID 1).
set -eu

# Only cgroup2 works inside a cgroup namespace; cleanup makes stop kill leftovers.
sed -i -e '/^#*rc_cgroup_mode=/d' -e '/^#*rc_cgroup_cleanup=/d' /etc/rc.conf
printf 'rc_cgroup_mode="unified"\nrc_cgroup_cleanup="YES"\n' >> /etc/rc.conf

# The same host-global scripts as for sysv, from whichever runlevel imported them.
for s in checkroot.sh checkfs.sh checkroot-bootclean.sh hwclock.sh mountall.sh \
         mountall-bootclean.sh mountnfs.sh mountnfs-bootclean.sh brightness procps \
         mount-configfs umountnfs.sh umountfs umountroot hwclock sysctl swap \
         root fsck localmount netmount; do
  for rl in /etc/runlevels/*; do
    [ -e "$rl/$s" ] || [ -L "$rl/$s" ] || continue
    rc-update del "$s" "$(basename "$rl")" >/dev/null 2>&1 || rm -f "$rl/$s"
  done
done
