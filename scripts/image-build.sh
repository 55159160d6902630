#!/usr/bin/env bash
# Builds the images and nothing else: the debian:12 base from debootstrap, marquee:local and the
# compose check's stand-ins for the third-party images, with a Docker engine started for the run
# when none answers. image-check.sh and compose-check.sh build the same images from the same work
# dir and find them in Docker's layer cache, so .ci/run runs this early, niced, on the CPU its test
# stages leave idle:
#
#   scripts/image-build.sh [WORK_DIR]        (default build-image/; needs root)
set -euo pipefail
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mkdir -p "${1:-$root/build-image}" && cd "${1:-$root/build-image}" && pwd)
say() { echo "image-build: $*"; }
die() {
    echo "image-build: error: $*" >&2
    exit 1
}

# shellcheck source=lib/docker.sh
. "$root/scripts/lib/docker.sh"
docker_engine_start "$work"
trap docker_engine_stop EXIT
docker_base_image
docker_marquee_image "$root" marquee:local "$work/build.log"
docker_standin_images "$root"
say "built marquee:local and the stand-ins"
