#!/bin/sh
# Make a real Alpine rootfs (unpacked at $1, edited from the host, nothing in it
# is executed) safe and quick to boot with BusyBox init as PID 1 of a box.
set -eu
tree=$1

echo alpinebox > "$tree/etc/hostname"
printf '127.0.0.1\tlocalhost alpinebox\n::1\t\tlocalhost\n' > "$tree/etc/hosts"

# No gettys and no ctrl-alt-del. The marker entry runs after "openrc default"
# has finished (BusyBox init runs ::wait entries in order): boot is complete.
cat > "$tree/etc/inittab" <<'TAB'
::sysinit:/sbin/openrc sysinit
::sysinit:/sbin/openrc boot
::wait:/sbin/openrc default
::wait:/bin/sh -c 'echo up > /run/box-booted'
::shutdown:/sbin/openrc shutdown
TAB

# The image boots a VM: its guest agent, DNS setup, sysctls (kernel-global),
# RTC and module loading have no place in a box.
for entry in boot/quicksand-guest-agent boot/sysctl boot/hwclock boot/modules \
             sysinit/setup-dns; do
  rm -f "$tree/etc/runlevels/$entry"
done
# lo only: the image's eth0 config would put 10.0.2.15 and a default route on
# whatever interface the box can see.
printf 'auto lo\niface lo inet loopback\n' > "$tree/etc/network/interfaces"

ln -sfn /etc/init.d/cgroups "$tree/etc/runlevels/sysinit/cgroups"
ln -sfn /etc/init.d/crond "$tree/etc/runlevels/default/crond"
# OpenRC 0.63 defaults to unified already; say so, a box has only cgroup2.
grep -q '^rc_cgroup_mode=' "$tree/etc/rc.conf" || echo 'rc_cgroup_mode="unified"' >> "$tree/etc/rc.conf"
