#!/bin/sh
# Make the quicksand Alpine image (unpacked at $1; edited from the host, nothing
# in it is executed) a plain Alpine VM with a way in: Debian's sshd grafted in
# (graft-debian.sh) under an OpenRC service, a vagrant user, the build's key.
# usage: alpine-vm-configure.sh TREE AUTHORIZED_KEYS
set -eu
tree=$1 keys=$2

echo alpine > "$tree/etc/hostname"
printf '127.0.0.1\tlocalhost alpine\n::1\t\tlocalhost\n' > "$tree/etc/hosts"
printf '/dev/vda\t/\text4\trw,relatime\t0\t1\n' > "$tree/etc/fstab"

# Stock Alpine inittab, with the getty on the serial console (the VM has no VGA).
sed -i -e 's/^tty\([0-9]\)::/#tty\1::/' -e 's/^#ttyS0::/ttyS0::/' "$tree/etc/inittab"

# The image is made for the quicksand harness (an LXC-flavoured rc.conf, its guest
# agent, a canned resolv.conf, services kept out of cgroups): back to Alpine's
# defaults for a VM, so OpenRC sets up cgroups and detects the VM itself.
sed -i -e '/^rc_sys=/d' -e '/^rc_controller_cgroups=/d' "$tree/etc/rc.conf"
# /.dockerenv (left by the image's build) makes OpenRC think it runs in Docker and
# skip networking, hostname and the remount of / read-write.
rm -f "$tree/.dockerenv"
rm -f "$tree/etc/runlevels/boot/quicksand-guest-agent" "$tree/etc/runlevels/sysinit/setup-dns"
ln -sfn /etc/init.d/cgroups "$tree/etc/runlevels/sysinit/cgroups"
ln -sfn /etc/init.d/crond "$tree/etc/runlevels/default/crond"
ln -sfn /etc/init.d/sshd "$tree/etc/runlevels/default/sshd"
grep -qx virtio_net "$tree/etc/modules" || echo virtio_net >> "$tree/etc/modules"

# DHCP on eth0 (qemu's user network, libvirt's default network).
printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' > "$tree/etc/network/interfaces"

# sshd: Debian's binaries (grafted), own config, host keys made at build time.
mkdir -p "$tree/etc/ssh"
cat > "$tree/etc/ssh/sshd_config" <<'CFG'
# Debian's OpenSSH 9.2 grafted into Alpine (systemctl-shim vagrant/). No PAM.
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PidFile /run/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
for type in ed25519 rsa ecdsa; do
  rm -f "$tree/etc/ssh/ssh_host_${type}_key" "$tree/etc/ssh/ssh_host_${type}_key.pub"
  ssh-keygen -q -t $type -N '' -C root@alpine -f "$tree/etc/ssh/ssh_host_${type}_key"
done
cat > "$tree/etc/init.d/sshd" <<'RC'
#!/sbin/openrc-run
# Debian's OpenSSH server, grafted (glibc next to musl).
description="OpenSSH server (Debian's, grafted)"
command=/usr/sbin/sshd
pidfile=/run/sshd.pid
depend() {
	need net
	after firewall
}
start_pre() {
	mkdir -p /run/sshd && chmod 0755 /run/sshd
	/usr/sbin/sshd -t
}
RC
chmod 755 "$tree/etc/init.d/sshd"

# Users: root (key only, password "*" = no password but not locked) and vagrant
# with passwordless sudo (the image has sudo).
sed -i 's/^root:[^:]*:/root:*:/' "$tree/etc/shadow"
if ! grep -q '^vagrant:' "$tree/etc/passwd"; then
  echo 'vagrant:x:1000:1000:vagrant:/home/vagrant:/bin/sh' >> "$tree/etc/passwd"
  echo 'vagrant:x:1000:' >> "$tree/etc/group"
  echo 'vagrant:*::0:::::' >> "$tree/etc/shadow"
fi
mkdir -p "$tree/etc/sudoers.d"
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$tree/etc/sudoers.d/vagrant"
chmod 440 "$tree/etc/sudoers.d/vagrant"
for home in /root /home/vagrant; do
  mkdir -p "$tree$home/.ssh"
  chmod 700 "$tree$home/.ssh"
  cp "$keys" "$tree$home/.ssh/authorized_keys"
  chmod 600 "$tree$home/.ssh/authorized_keys"
done
rm -f "$tree/root/.ssh/id_ed25519" "$tree/root/.ssh/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C root@alpine -f "$tree/root/.ssh/id_ed25519"
cat "$tree/root/.ssh/id_ed25519.pub" >> "$tree/root/.ssh/authorized_keys"
printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' > "$tree/root/.ssh/config"
chmod 600 "$tree/root/.ssh/config"
chown -R 1000:1000 "$tree/home/vagrant"
