#!/bin/sh
# PID 1 of a new box, before it becomes the box's init. Started by boxlib.py under
#   unshare --pid --fork --kill-child --mount --uts --ipc --net --cgroup --propagation private
# so every mount made here lives in the box's private mount namespace and vanishes
# with it. Builds the root (overlayfs) and its kernel filesystems, then execs the
# command (normally /sbin/init) chrooted, with dangerous capabilities dropped.
# Configuration comes from BOX_* environment variables (see boxlib.py).
set -eu
root=$BOX_STATE/root
mkdir -p "$root"

# Root: overlayfs, so a remount or write in the box never reaches the rootfs tree.
if [ "$BOX_UPPER" = tmpfs ]; then
  mkdir -p "$BOX_STATE/layer"
  mount -t tmpfs -o mode=755 box-upper "$BOX_STATE/layer"
  upper=$BOX_STATE/layer/upper work=$BOX_STATE/layer/work
else
  upper=$BOX_UPPER work=$BOX_STATE/overlay-work
fi
mkdir -p "$upper" "$work"
rm -rf "$work/work" "$work/index"   # stale after an unclean stop; overlay needs it empty
mount -t overlay -o "lowerdir=$BOX_LOWER,upperdir=$upper,workdir=$work" box "$root"

# /proc of the box's own PID namespace; the sysctl tree and sysrq stay read-only
# because they are global to the kernel.
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"
[ ! -e "$root/proc/sysrq-trigger" ] || mount --bind /dev/null "$root/proc/sysrq-trigger"

mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
if [ "$BOX_CGROUP" = unified ]; then
  # Inside the cgroup namespace this shows the box's own cgroup directory as /.
  mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
else
  mount -t tmpfs -o mode=755,size=64k,nosuid,nodev,noexec cgroup "$root/sys/fs/cgroup"
fi

# Own /dev with only harmless nodes and a private devpts (ssh -tt needs ptys).
mount -t tmpfs -o mode=755,nosuid,size=1m dev "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/full" c 1 7
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
mknod -m 666 "$root/dev/tty" c 5 0
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
# The console is a null device under the console's name: binding the host's
# /dev/null here would give the box a mount of the host's devtmpfs superblock,
# which a "mount -o remount,ro" in the box could turn read-only for the host.
mknod -m 600 "$root/dev/console" c 1 3

mount -t tmpfs -o mode=755,nosuid,nodev run "$root/run"
mkdir -p "$root/run/lock" && chmod 1777 "$root/run/lock"
mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"

# Extra binds, one per line: HOSTPATH:BOXPATH:ro|rw
printf '%s\n' "${BOX_BINDS:-}" | while IFS=: read -r src dst mode; do
  [ -n "$src" ] || continue
  mkdir -p "$root$dst"
  mount --bind "$src" "$root$dst"
  [ "$mode" = ro ] && mount -o remount,bind,ro "$root$dst"
done

hostname "$BOX_HOSTNAME"

# Host-global capabilities the box must not have: modules, clock, raw I/O, kernel
# log, wake alarms. CAP_SYS_BOOT stays: reboot(2) in a PID namespace only ends it.
exec setpriv --bounding-set -sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm -- \
  env -i container=box TERM=linux \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  chroot "$root" "$@"
