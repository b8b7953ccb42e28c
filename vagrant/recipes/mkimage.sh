#!/bin/sh
# A tree to a bootable root disk: a bare ext4 filesystem (no partition table,
# root=/dev/vda), made with mke2fs -d (no loop device, no mount), as qcow2.
# usage: mkimage.sh TREE SIZE OUT.qcow2
set -eu
tree=$1 size=$2 out=$3
raw=$out.raw
rm -f "$raw"
truncate -s "$size" "$raw"
mkfs.ext4 -q -F -L root -d "$tree" "$raw"
qemu-img convert -f raw -O qcow2 "$raw" "$out.partial"
rm -f "$raw"
mv "$out.partial" "$out"
