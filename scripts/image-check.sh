#!/usr/bin/env bash
# Builds the marquee image with a real Docker engine and runs it: marquee-migrate, the provider mock,
# the scheduler, the worker and the API as containers (--network host) against PostgreSQL and
# RabbitMQ run natively by scripts/services.sh, each service under its own least-privilege role,
# until /search serves the sample events. The way to test the image offline (.ci/run runs it):
#
#   scripts/image-check.sh [WORK_DIR]        (default build-image/; needs root)
#
# No registry is reachable here, so the debian:12 base is made with debootstrap from the Debian
# mirror apt uses and `docker import`ed (kept in WORK_DIR for the next run). When no Docker engine
# answers, one is started for the run: dockerd --storage-driver=vfs --iptables=false --bridge=none,
# with its own socket and data under WORK_DIR, stopped at the end.
set -euo pipefail
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mkdir -p "${1:-$root/build-image}" && cd "${1:-$root/build-image}" && pwd)
image=marquee:local
say() { echo "image-check: $*"; }
die() {
    echo "image-check: error: $*" >&2
    exit 1
}

# shellcheck source=lib/docker.sh
. "$root/scripts/lib/docker.sh"
docker_engine_start "$work"

containers=()
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local status=$?
    for container in "${containers[@]}"; do
        if ((status != 0)); then
            echo "---- logs of $container" >&2
            docker logs --tail 30 "$container" >&2 2>&1 || true
        fi
        docker rm -f "$container" >/dev/null 2>&1 || true
    done
    bash "$root/scripts/services.sh" stop "$work/services" >/dev/null 2>&1 || true
    docker_engine_stop
    exit "$status"
}
trap cleanup EXIT

docker_base_image
docker_marquee_image "$root" "$image" "$work/build.log"
say "built $(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
# Every library every binary loads resolves inside the image (the runtime package set is complete).
missing=$(docker run --rm --network host --entrypoint sh "$image" -c 'ldd /usr/local/bin/marquee-* | grep "not found" || true')
[[ -z $missing ]] || die "libraries missing in the image: $missing"
[[ $(docker run --rm --entrypoint id "$image" -u) != 0 ]] || die "the image runs as root"

# ---- services, natively, with the least-privilege roles (docs/adr/0015)
bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
# shellcheck disable=SC1091  # written by services.sh start
. "$work/services/env"
set +a
pg=postgresql://127.0.0.1:$PGPORT/marquee
role_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
psql -q -v ON_ERROR_STOP=1 <<SQL
DROP DATABASE IF EXISTS marquee_image WITH (FORCE);
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'marquee_migrate') THEN CREATE ROLE marquee_migrate; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'marquee_api') THEN CREATE ROLE marquee_api; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'marquee_worker') THEN CREATE ROLE marquee_worker; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'marquee_scheduler') THEN CREATE ROLE marquee_scheduler; END IF;
END \$\$;
ALTER ROLE marquee_migrate LOGIN NOSUPERUSER PASSWORD '$role_password';
ALTER ROLE marquee_api LOGIN PASSWORD '$role_password';
ALTER ROLE marquee_worker LOGIN PASSWORD '$role_password';
ALTER ROLE marquee_scheduler LOGIN PASSWORD '$role_password';
CREATE DATABASE marquee_image OWNER marquee_migrate;
SQL
url_of() { echo "postgresql://$1:$role_password@127.0.0.1:$PGPORT/marquee_image"; }
: "$pg"

run() {  # NAME ARGS...: a detached container on the host network
    local name=marquee-image-check-$1
    shift
    docker rm -f "$name" >/dev/null 2>&1 || true
    containers+=("$name")
    docker run -d --name "$name" --network host --read-only "$@" >/dev/null
}

say "marquee-migrate as marquee_migrate (the schema owner)"
docker run --rm --network host --read-only -e DATABASE_URL="$(url_of marquee_migrate)" "$image" marquee-migrate

mock_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run mock -e MOCK_LISTEN="127.0.0.1:$mock_port" "$image" marquee-provider-mock
docker run --rm --network host --read-only -e DATABASE_URL="$(url_of marquee_scheduler)" "$image" \
    marquee-scheduler provider add --name samples --url "http://127.0.0.1:$mock_port/api/events" --time-zone Europe/Madrid
run worker -e DATABASE_URL="$(url_of marquee_worker)" -e AMQP_URL="$AMQP_URL" -e LOG_FORMAT=json "$image" marquee-worker
run scheduler -e DATABASE_URL="$(url_of marquee_scheduler)" -e AMQP_URL="$AMQP_URL" "$image" marquee-scheduler
run api -e DATABASE_URL="$(url_of marquee_api)" -e API_LISTEN="127.0.0.1:$api_port" "$image" marquee-api

say "waiting for /search to serve the sample events (the scheduler publishes on the next minute)"
for _ in $(seq 180); do
    body=$(curl -fsS "http://127.0.0.1:$api_port/search" 2>/dev/null || true)
    if [[ $body == *'"events":[{'* ]]; then
        count=$(grep -o '"id":' <<<"$body" | wc -l)
        say "ok: /search serves $count events ingested through the containers"
        exit 0
    fi
    for container in "${containers[@]}"; do
        [[ $(docker inspect -f '{{.State.Running}}' "$container") == true ]] || die "$container exited"
    done
    sleep 1
done
die "/search did not serve the sample events within 180 s"
