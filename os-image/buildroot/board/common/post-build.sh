#!/bin/sh
# Runs after the target tree is assembled (overlays included), before the file
# systems are made. $1: the target folder; $2: the board folder name (rpi4, ...).
set -eu
target=$1
board=${2:?board name expected in BR2_ROOTFS_POST_SCRIPT_ARGS}

# The shared overlay's init scripts replace buildroot's: drop the ones that
# would do the same job twice or want a writable root.
for script in S40network S20seedrng S20urandom S01seedrng S02klogd S10mdev S01logging; do
  rm -f "$target/etc/init.d/$script"
done

# No password logins: root is locked (BR2_TARGET_ENABLE_ROOT_LOGIN is off) and
# no getty or login program is installed; make sure of the first.
sed -i 's/^root:[^:]*:/root:*:/' "$target/etc/shadow"

# fstab for tools that read it; the mounts themselves are made by S00mountfs
# and /usr/libexec/mailnest/data-partition.
cat > "$target/etc/fstab" <<FSTAB
/dev/root  /      ext4   ro,noatime  0 1
proc       /proc  proc   defaults    0 0
sysfs      /sys   sysfs  defaults    0 0
FSTAB

mkdir -p "$target/data"
echo "Mailnest $(cat "$target/opt/mailnest/VERSION" 2>/dev/null || echo unknown) for $board, built $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$target/etc/mailnest/image"
