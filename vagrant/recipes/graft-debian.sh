#!/bin/sh
# Graft Debian packages (their files plus the glibc library closure of their ELF
# files) from the Debian rootfs at $1 into the Alpine rootfs at $2, the way
# tests/boxes/recipes/graft-python.sh grafts python3: glibc's loader
# (/lib64/ld-linux-x86-64.so.2) searches /usr/lib/x86_64-linux-gnu, where nothing
# of musl lives. Alpine's own files always win: nothing existing is overwritten.
# usage: graft-debian.sh DEBIAN_TREE ALPINE_TREE PACKAGE...
set -eu
debian=$1 alpine=$2
shift 2

list=$(mktemp)
trap 'rm -f "$list" "$list.libs" "$list.copy"' EXIT
chroot "$debian" dpkg-query -L "$@" | sort -u > "$list"

chroot "$debian" /bin/sh -c '
  while read -r f; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    case $(head -c 4 "$f" | od -An -c | tr -d " ") in
      177ELF) ldd "$f" 2>/dev/null ;;
    esac
  done' < "$list" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' \
  | sort -u > "$list.libs"
while read -r lib; do
  echo "$lib"
  chroot "$debian" readlink -f "$lib"
done < "$list.libs" >> "$list"

mkdir -p "$alpine/usr/lib/x86_64-linux-gnu"
[ -e "$alpine/lib/x86_64-linux-gnu" ] || ln -s ../usr/lib/x86_64-linux-gnu "$alpine/lib/x86_64-linux-gnu"

sort -u "$list" | while read -r f; do
  [ -n "$f" ] && [ ! -d "$debian$f" ] || continue
  if [ -L "$debian$f" ] || [ -f "$debian$f" ]; then echo ".$f"; fi
done > "$list.copy"
tar -C "$debian" --no-recursion -T "$list.copy" -cf - \
  | tar -C "$alpine" --skip-old-files --keep-directory-symlink -xf -
