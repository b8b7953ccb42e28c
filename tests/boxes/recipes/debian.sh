#!/bin/sh
# Build a Debian bookworm rootfs tarball for the "sysv" or "openrc" box flavour.
# usage: debian.sh FLAVOUR OUT.tar.zst DEB_CACHE_DIR
# Runs mmdebstrap (root mode) and provisions the tree through customize hooks,
# so the tarball it writes is final. The debs are synced with DEB_CACHE_DIR so a
# rebuild after a recipe change does not download everything again.
set -eu
flavour=$1 out=$2 debs=$3
here=$(cd "$(dirname "$0")" && pwd)
mirror=${SHIM_BOX_MIRROR:-http://deb.debian.org/debian}

packages=sysvinit-core,cron,openssh-server,openssh-client,procps,ifupdown,iproute2,python3,python3-psutil,python3-pip
case $flavour in
  sysv) ;;
  openrc) packages=openrc,$packages ;;
  *) echo "debian.sh: unknown flavour $flavour" >&2; exit 2 ;;
esac

mkdir -p "$debs"
# Written to a temporary name first: a half-written tarball must never look cached.
mmdebstrap --mode=root --variant=minbase --format=tar \
  --include="$packages" \
  --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in '$debs' /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives '$debs'" \
  --customize-hook="copy-in '$here/provision-debian.sh' '$here/provision-openrc.sh' /tmp" \
  --customize-hook="chroot \"\$1\" /bin/sh /tmp/provision-debian.sh $flavour" \
  --customize-hook="if [ $flavour = openrc ]; then chroot \"\$1\" /bin/sh /tmp/provision-openrc.sh; fi" \
  --customize-hook='rm -f "$1"/tmp/provision-*.sh "$1"/var/cache/apt/archives/*.deb' \
  bookworm - "$mirror" | zstd -T0 -3 -q -f -o "$out.partial"
mv "$out.partial" "$out"
