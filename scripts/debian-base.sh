#!/usr/bin/env bash
# The debian:12 root filesystem the image checks import as their base image, since no registry is
# reachable here: debootstrap (minbase) from the mirror apt already uses, packed as
# WORK_DIR/debian-12.tar. Does nothing when the tarball exists. Needs root.
#
#   scripts/debian-base.sh [WORK_DIR]        (default build-image/)
#
# .ci/run starts it in the background at the beginning (it mostly waits on the network and the
# disk) so that the image checks find it ready.
set -euo pipefail
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mkdir -p "${1:-$root/build-image}" && cd "${1:-$root/build-image}" && pwd)
tarball=$work/debian-12.tar
[[ -f $tarball ]] && exit 0

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
echo "debian-base: debootstrap bookworm from $mirror into $tarball"
rootfs=$(mktemp -d "$work/rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
# mktemp makes it 0700, and it becomes the image's "/": a non-root user could then run nothing.
chmod 0755 "$rootfs"
if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    echo "debian-base: debootstrap failed (log: $work/debootstrap.log)" >&2
    exit 1
fi
rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*
# Written under another name first: a run interrupted half-way leaves no tarball that looks done.
tar -C "$rootfs" -cf "$tarball.partial" .
mv "$tarball.partial" "$tarball"
