#!/bin/sh
# Graft Debian's python3 (with psutil and pip) and its glibc closure from the
# Debian rootfs at $1 into the Alpine rootfs at $2, so the shim (a Python program)
# runs on Alpine. glibc's loader (/lib64/ld-linux-x86-64.so.2) searches
# /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu, where nothing of musl lives.
# Alpine's own files always win: nothing existing is overwritten.
set -eu
debian=$1 alpine=$2
packages="python3 python3.11 python3-minimal python3.11-minimal libpython3-stdlib
  libpython3.11-minimal libpython3.11-stdlib media-types python3-psutil python3-pip
  python3-setuptools python3-pkg-resources python3-wheel python3-distutils
  python3-lib2to3 libc6"

list=$(mktemp)
trap 'rm -f "$list" "$list.libs" "$list.copy"' EXIT
# shellcheck disable=SC2086
chroot "$debian" dpkg-query -L $packages | sort -u > "$list"

# Shared libraries the ELF files of those packages need (ldd resolves symlinks to
# the real files; keep both the link names and their targets).
chroot "$debian" /bin/sh -c '
  while read -r f; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    case $f in *.so|*.so.*|/usr/bin/python3.11) ldd "$f" 2>/dev/null ;; esac
  done' < "$list" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' \
  | sort -u > "$list.libs"
while read -r lib; do
  echo "$lib"
  chroot "$debian" readlink -f "$lib"
done < "$list.libs" >> "$list"

# Debian merged /lib into /usr/lib and its library symlinks rely on it; give the
# glibc multiarch directory the same shape in Alpine (no Alpine file lives there).
mkdir -p "$alpine/usr/lib/x86_64-linux-gnu"
[ -e "$alpine/lib/x86_64-linux-gnu" ] || ln -s ../usr/lib/x86_64-linux-gnu "$alpine/lib/x86_64-linux-gnu"

# Copy regular files and symlinks only (directories, including Debian's merged-/usr
# links such as /lib64 -> usr/lib64, come into being as parents); existing Alpine
# paths are left alone (--skip-old-files).
sort -u "$list" | while read -r f; do
  [ -n "$f" ] && [ ! -d "$debian$f" ] || continue
  if [ -L "$debian$f" ] || [ -f "$debian$f" ]; then echo ".$f"; fi
done > "$list.copy"
tar -C "$debian" --no-recursion -T "$list.copy" -cf - \
  | tar -C "$alpine" --skip-old-files --keep-directory-symlink -xf -

# Prove it works before the tarball is written: the box is useless without it.
# (psutil proper needs /proc, so only its C extension is loaded here; the booted
# box imports psutil for real in the smoke tests.)
chroot "$alpine" /usr/bin/python3 -c '
import ctypes, glob, hashlib, importlib.util, sqlite3, ssl, sys, pip
so = glob.glob("/usr/lib/python3/dist-packages/psutil/_psutil_linux*.so")[0]
importlib.util.module_from_spec(importlib.util.spec_from_file_location("_psutil_linux", so))
print("grafted python", sys.version.split()[0], "pip", pip.__version__)'
