#!/bin/sh
# Build the "devuan" VM: a Devuan-like Debian bookworm (sysvinit-core as PID 1,
# sysv-rc, no systemd, no udev) with Debian's own kernel and initramfs, sshd,
# cron and python3, as a bare ext4 filesystem in a qcow2 (booted by direct kernel
# boot: root=/dev/vda).
# usage: devuan.sh OUTDIR DEB_CACHE_DIR PUBKEY_FILE
# Writes OUTDIR/{disk.qcow2,vmlinuz,initrd.img,rootfs.tar.zst,manifest}.
set -eu
out=$1 debs=$2 pubkey=$3
here=$(cd "$(dirname "$0")" && pwd)
mirror=${SHIM_VM_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
size=${SHIM_VM_DISK_SIZE:-3G}

packages=sysvinit-core,sysv-rc,linux-image-amd64,initramfs-tools,kmod,e2fsprogs,\
openssh-server,openssh-client,cron,procps,psmisc,ifupdown,isc-dhcp-client,iproute2,\
sudo,python3,python3-psutil,python3-pip,ca-certificates,less

tmp=$(mktemp -d /var/tmp/shim-vm-devuan.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$debs" "$tmp/tree"
cp "$pubkey" "$tmp/authorized_keys"

# Root mode, into a directory: the kernel's postinst builds the initramfs in the
# chroot. The deb cache is synced in and out so that a rebuild downloads nothing.
mmdebstrap --mode=root --variant=minbase --format=directory \
  --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in '$debs' /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives '$debs'" \
  --customize-hook="copy-in '$here/provision-devuan.sh' '$tmp/authorized_keys' /tmp" \
  --customize-hook='chroot "$1" /bin/sh /tmp/provision-devuan.sh /tmp/authorized_keys' \
  --customize-hook='rm -f "$1"/tmp/provision-devuan.sh "$1"/tmp/authorized_keys "$1"/var/cache/apt/archives/*.deb' \
  "$suite" "$tmp/tree" "$mirror"

kernel=$(ls "$tmp/tree"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$tmp/tree"/boot/initrd.img-* | sort -V | tail -n1)
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
chroot "$tmp/tree" dpkg-query -W -f '${Package} ${Version}\n' \
  linux-image-amd64 sysvinit-core openssh-server cron python3 python3-psutil > "$out/manifest"

# The Alpine VM grafts python3 and sshd from this tree.
tar -C "$tmp/tree" --numeric-owner --xattrs --xattrs-include='*' -cf - . \
  | zstd -T0 -3 -q -f -o "$out/rootfs.tar.zst.partial"
mv "$out/rootfs.tar.zst.partial" "$out/rootfs.tar.zst"

/bin/sh "$here/mkimage.sh" "$tmp/tree" "$size" "$out/disk.qcow2"
