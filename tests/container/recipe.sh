#!/bin/sh
# Build the Debian 12 image the container tests run: real packages that bring unit files and
# init scripts (cron, rsyslog, nginx), python3 for the shim, and no init at all.
# usage: recipe.sh OUT.tar.zst DEB_CACHE_DIR
# The shim and the test's own units are not in here: tests add them as an overlay layer, so a
# change of the project never rebuilds the image (the cache key is this file's hash).
set -eu
out=$1 debs=$2
mirror=${SHIM_BOX_MIRROR:-http://deb.debian.org/debian}
packages=cron,rsyslog,nginx-light,python3,procps

mkdir -p "$debs"
# Written to a temporary name first: a half-written tarball must never look cached.
mmdebstrap --mode=root --variant=minbase --format=tar \
  --include="$packages" \
  --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in '$debs' /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives '$debs'" \
  --customize-hook='echo shimbox > "$1"/etc/hostname' \
  --customize-hook='printf "127.0.0.1\tlocalhost shimbox\n" > "$1"/etc/hosts' \
  --customize-hook='rm -f "$1"/usr/sbin/policy-rc.d "$1"/var/cache/apt/archives/*.deb' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm - "$mirror" | zstd -T0 -3 -q -f -o "$out.partial"
mv "$out.partial" "$out"
