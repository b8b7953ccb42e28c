#!/bin/sh
# Runs chrooted inside a fresh Debian rootfs (from debian.sh): make it safe and
# quick to boot with sysvinit as PID 1 of a namespace box, and usable by tests.
set -eu
flavour=$1

echo "${flavour}box" > /etc/hostname
# debootstrap-style builds leave no /etc/hosts; sudo, ssh and python want one.
printf '127.0.0.1\tlocalhost %sbox\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$flavour" > /etc/hosts

# No gettys, no sulogin, no ctrl-alt-del/powerfail: the box has no console.
# The last entry runs once rc N has finished (sysvinit processes "wait" entries
# in order), so the box runtime knows when booting is complete.
cat > /etc/inittab <<'TAB'
id:2:initdefault:
si::sysinit:/etc/init.d/rcS
l0:0:wait:/etc/init.d/rc 0
l1:1:wait:/etc/init.d/rc 1
l2:2:wait:/etc/init.d/rc 2
l3:3:wait:/etc/init.d/rc 3
l4:4:wait:/etc/init.d/rc 4
l5:5:wait:/etc/init.d/rc 5
l6:6:wait:/etc/init.d/rc 6
bx:2345:wait:/bin/sh -c 'echo up > /run/box-booted'
TAB
mkdir -p /etc/inittab.d

# These fsck or remount /, touch the RTC, swapon/swapoff, write global sysctls or
# unmount things: all host-global effects a box must not have.
if [ "$flavour" = sysv ]; then
  for s in checkroot.sh checkfs.sh checkroot-bootclean.sh hwclock.sh mountall.sh \
           mountall-bootclean.sh mountnfs.sh mountnfs-bootclean.sh brightness procps \
           mount-configfs umountnfs.sh umountfs umountroot; do
    update-rc.d -f "$s" remove >/dev/null 2>&1 || true
  done
fi

# Loopback only: the box has its own network namespace and nothing else in it
# (ifupdown's "networking" script brings lo up at boot, as on a real machine).
printf 'auto lo\niface lo inet loopback\n' > /etc/network/interfaces
rm -rf /etc/network/interfaces.d/*

# halt -i would down every interface of the box's network namespace; never useful.
sed -i 's/^NETDOWN=.*/NETDOWN=no/' /etc/default/halt
grep -q '^NETDOWN=no' /etc/default/halt || echo NETDOWN=no >> /etc/default/halt

# Root can ssh to 127.0.0.1 inside the box with a key (tests hold a tty session open).
mkdir -p /root/.ssh && chmod 700 /root/.ssh
rm -f /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.pub
ssh-keygen -q -t ed25519 -N '' -C "root@${flavour}box" -f /root/.ssh/id_ed25519
cp /root/.ssh/id_ed25519.pub /root/.ssh/authorized_keys
printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' > /root/.ssh/config
chmod 600 /root/.ssh/authorized_keys /root/.ssh/config

# mmdebstrap removes its own policy-rc.d; make sure none survives into the box.
rm -f /usr/sbin/policy-rc.d
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
