#!/usr/bin/env bash
# Runs docker-compose.yml as an operator would, scaled out, with a real Docker engine:
#
#   docker-compose up --scale api=3 --scale worker=3
#
# then checks that /search through the load balancer serves the sample events ingested by the
# containers, that all three API replicas answer traffic, that every service is logged in to
# PostgreSQL as its own least-privilege role, and that the load balancer keeps answering when an
# API replica is killed. `.ci/run` runs it after scripts/image-check.sh.
#
#   scripts/compose-check.sh [WORK_DIR]      (default build-image/, shared with image-check.sh; root)
#
# No registry is reachable here: the debian:12 base comes from debootstrap (scripts/lib/docker.sh)
# and PostgreSQL, RabbitMQ and HAProxy from stand-in images built from Debian packages
# (tests/compose/), which docker-compose.yml takes through MARQUEE_*_IMAGE.
set -euo pipefail
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mkdir -p "${1:-$root/build-image}" && cd "${1:-$root/build-image}" && pwd)
project=marquee-compose-check
say() { echo "compose-check: $*"; }
die() {
    echo "compose-check: error: $*" >&2
    exit 1
}

# shellcheck source=lib/docker.sh
. "$root/scripts/lib/docker.sh"
docker_engine_start "$work"

compose() { docker-compose --project-name "$project" --file "$root/docker-compose.yml" "$@"; }

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local status=$?
    if ((status != 0)); then
        compose ps >&2 || true
        compose logs --no-color --tail 25 >&2 || true
    fi
    compose down --volumes --remove-orphans >/dev/null 2>&1 || true
    docker_engine_stop
    exit "$status"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- images: marquee's own, and the stand-ins for the official third-party ones
docker_base_image
docker_marquee_image "$root" marquee:local "$work/build.log"
docker_standin_images "$root"

# ---- the stack, as the compose file's header tells an operator to start it
set -a
# shellcheck disable=SC1090  # generated just now
. <("$root/deploy/compose/make-env.sh")
set +a
export MARQUEE_POSTGRES_IMAGE=marquee-standin/postgres:local MARQUEE_RABBITMQ_IMAGE=marquee-standin/rabbitmq:local \
    MARQUEE_HAPROXY_IMAGE=marquee-standin/haproxy:local
# The bundled provider mock is on the compose network's private addresses. A slot every 5 s instead
# of every minute: the check waits seconds, not up to a minute, for the first ingestion.
export FETCH_DENY_PRIVATE_NETWORKS=false LOG_FORMAT=json PROVIDER_SCHEDULE='@every 5s'
MARQUEE_LB_PORT=$(free_port)
MARQUEE_MOCK_PORT=$(free_port)
export MARQUEE_LB_PORT MARQUEE_MOCK_PORT
lb=http://127.0.0.1:$MARQUEE_LB_PORT

compose down --volumes --remove-orphans >/dev/null 2>&1 || true
say "docker-compose up --scale api=3 --scale worker=3"
compose up --detach --no-build --scale api=3 --scale worker=3 >"$work/compose-up.log" 2>&1 ||
    {
        cat "$work/compose-up.log" >&2
        die "docker-compose up failed"
    }

say "waiting for /search through the load balancer to serve the sample events (the first slot)"
count=0
for _ in $(seq 240); do
    body=$(curl -fsS "$lb/search" 2>/dev/null || true)
    if [[ $body == *'"events":[{'* ]]; then
        count=$(grep -o '"id":' <<<"$body" | wc -l)
        break
    fi
    sleep 1
done
((count > 0)) || die "/search through the load balancer did not serve the sample events within 240 s"
say "ok: /search through the load balancer serves $count events ingested by the containers"

# ---- every replica running and healthy, every API replica taking a share of the traffic
mapfile -t apis < <(compose ps --quiet api)
mapfile -t workers < <(compose ps --quiet worker)
((${#apis[@]} == 3)) || die "${#apis[@]} api replicas, expected 3"
((${#workers[@]} == 3)) || die "${#workers[@]} worker replicas, expected 3"
for container in "${apis[@]}" "${workers[@]}"; do
    for _ in $(seq 60); do
        [[ $(docker inspect -f '{{.State.Health.Status}}' "$container") == healthy ]] && break
        sleep 1
    done
    [[ $(docker inspect -f '{{.State.Health.Status}}' "$container") == healthy ]] ||
        die "$(docker inspect -f '{{.Name}}' "$container") is not healthy"
done
for _ in $(seq 60); do curl -fsS -o /dev/null "$lb/search?starts_at=2021-01-01T00:00:00Z" || die "a /search failed"; done
search_requests() { # CONTAINER: the /search requests it answered, from its own /metrics
    docker exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' |
        awk '/^marquee_api_requests_total\{/ && /route="search"/ { n += $NF } END { print n + 0 }'
}
for container in "${apis[@]}"; do
    served=$(search_requests "$container")
    ((served > 0)) || die "api replica $(docker inspect -f '{{.Name}}' "$container") answered no /search"
    say "api replica $(docker inspect -f '{{.Name}}' "$container" | tr -d /): $served /search answered"
done

# ---- least privilege: each service on PostgreSQL as its own role, none as the superuser
sessions=$(compose exec -T postgres psql -U postgres -d marquee -Atc \
    "SELECT usename || ' ' || count(*) FROM pg_stat_activity WHERE datname = 'marquee' AND backend_type = 'client backend'
     AND pid <> pg_backend_pid() GROUP BY usename ORDER BY usename")
say "PostgreSQL sessions by role: $(tr '\n' ',' <<<"$sessions" | sed 's/,$//')"
for role in marquee_api marquee_worker marquee_scheduler; do
    grep -q "^$role " <<<"$sessions" || die "no session of $role"
done
! grep -qv '^marquee_\(api\|worker\|scheduler\) ' <<<"$sessions" || die "a service is logged in as another role"

# ---- an API replica killed: the load balancer answers every request from the others
docker kill "${apis[0]}" >/dev/null
failed=0
for _ in $(seq 100); do curl -fsS -o /dev/null "$lb/search?starts_at=2021-01-01T00:00:00Z" || failed=$((failed + 1)); done
((failed == 0)) || die "$failed of 100 requests failed through the load balancer after an api replica was killed"
say "ok: an api replica killed, 100 of 100 requests through the load balancer answered"
