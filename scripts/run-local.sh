#!/usr/bin/env bash
# `make run`: the whole marquee stack on this machine, for trying it out by hand.
#
#   deps and a Release build (SKIP_BUILD=1 skips both), private PostgreSQL + RabbitMQ under
#   .local/services (kept between runs), marquee-migrate, marquee-provider-mock serving
#   fixtures/provider-samples, marquee-worker, one `marquee-scheduler --once`, the scheduler daemon
#   (PROVIDER_SCHEDULE, default '@every 10s', falling back to '* * * * *' when the scheduler rejects
#   it), then marquee-api on API_LISTEN (default 127.0.0.1:8080).
#
# Logs: .local/logs/NAME.log. Ctrl-C stops every process and the services; data stays for next time.
# Settings: API_LISTEN, MOCK_PORT (default 8081, else a free port), PROVIDER_SCHEDULE, LOG_LEVEL,
# BUILD_DIR (default build; only with SKIP_BUILD=1, as `make build` builds build/).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
readonly build_dir=${BUILD_DIR:-build}
readonly bin=$root/$build_dir/bin
readonly services_dir=$root/.local/services
readonly logs=$root/.local/logs
readonly wait_seconds=${RUN_WAIT_SECONDS:-60}

say() { echo "run: $*"; }

declare -a started_pids=() started_names=()
stopping=0

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local status=$?
    ((stopping)) && return
    stopping=1
    trap '' INT TERM
    echo
    say "stopping"
    local i pid deadline
    # Reverse start order: the API first, the provider mock last.
    for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
        pid=${started_pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "${started_names[i]} ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [[ -f $services_dir/env ]]; then scripts/services.sh stop "$services_dir" || true; fi
    say "stopped; data kept in $services_dir, logs in $logs"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "run: error: $*" >&2
    exit 1
}

log_tail() {
    echo "---- last lines of $1" >&2
    tail -n 30 -- "$1" >&2 || true
}

port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        port_busy "$port" || {
            echo "$port"
            return
        }
    done
    fail "no free loopback port found"
}

require_binary() {
    [[ -x $bin/$1 ]] || fail "$bin/$1 does not exist (yet): run 'make build' and check that it built"
}

# start NAME BINARY ARGS...: runs build/bin/BINARY in the background, output to .local/logs/NAME.log.
start() {
    local name=$1 binary=$2
    shift 2
    require_binary "$binary"
    "$bin/$binary" "$@" </dev/null >"$logs/$name.log" 2>&1 &
    started_pids+=("$!")
    started_names+=("$name")
    say "started $name (pid $!, log .local/logs/$name.log)"
}

# wait_http NAME URL: until URL answers 2xx, or the process NAME died, or the wait runs out.
wait_http() {
    local name=$1 url=$2 deadline=$((SECONDS + wait_seconds)) i
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        for i in "${!started_names[@]}"; do
            if [[ ${started_names[i]} == "$name" ]] && ! kill -0 "${started_pids[i]}" 2>/dev/null; then
                log_tail "$logs/$name.log"
                fail "$name exited during start"
            fi
        done
        if ((SECONDS >= deadline)); then
            log_tail "$logs/$name.log"
            fail "$name did not answer $url within ${wait_seconds}s"
        fi
        sleep 0.2
    done
}

# once NAME BINARY ARGS...: runs to completion (bounded), output to .local/logs/NAME.log.
run_once() {
    local name=$1 binary=$2
    shift 2
    require_binary "$binary"
    say "running $name"
    timeout "$wait_seconds" "$bin/$binary" "$@" </dev/null >"$logs/$name.log" 2>&1
}

# ---- build and services
if [[ -z ${SKIP_BUILD:-} ]]; then
    scripts/install-deps.sh
    make --no-print-directory build
fi
mkdir -p "$logs"
scripts/services.sh start "$services_dir"
set -a
# shellcheck disable=SC1091
. "$services_dir/env"
set +a
export LOG_LEVEL=${LOG_LEVEL:-info}

# ---- schema
# Each process as its own least-privilege role (docs/adr/0015), never the superuser.
run_once migrate marquee-migrate --database-url "$MIGRATE_DATABASE_URL" || {
    log_tail "$logs/migrate.log"
    fail "marquee-migrate failed"
}

# ---- provider mock
mock_port=${MOCK_PORT:-8081}
if port_busy "$mock_port"; then
    [[ -n ${MOCK_PORT:-} ]] && fail "MOCK_PORT=$mock_port is in use"
    mock_port=$(free_port)
fi
start provider-mock marquee-provider-mock --listen "127.0.0.1:$mock_port" --dir "$root/fixtures/provider-samples"
wait_http provider-mock "http://127.0.0.1:$mock_port/_control/stats"
export PROVIDER_URL="http://127.0.0.1:$mock_port/api/events"

# ---- worker and scheduler
DATABASE_URL=$WORKER_DATABASE_URL AMQP_URL=$WORKER_AMQP_URL start worker marquee-worker
schedule=${PROVIDER_SCHEDULE:-@every 10s}
as_scheduler() { DATABASE_URL=$SCHEDULER_DATABASE_URL AMQP_URL=$SCHEDULER_AMQP_URL "$@"; }
if ! PROVIDER_SCHEDULE=$schedule as_scheduler run_once scheduler-once marquee-scheduler --once; then
    if [[ -z ${PROVIDER_SCHEDULE:-} ]] && grep -q PROVIDER_SCHEDULE "$logs/scheduler-once.log"; then
        say "the scheduler does not accept '$schedule'; using '* * * * *'"
        schedule='* * * * *'
        PROVIDER_SCHEDULE=$schedule as_scheduler run_once scheduler-once marquee-scheduler --once || {
            log_tail "$logs/scheduler-once.log"
            fail "marquee-scheduler --once failed"
        }
    else
        log_tail "$logs/scheduler-once.log"
        fail "marquee-scheduler --once failed"
    fi
fi
PROVIDER_SCHEDULE=$schedule as_scheduler start scheduler marquee-scheduler

# ---- API
api_listen=${API_LISTEN:-127.0.0.1:8080}
if [[ -z ${API_LISTEN:-} ]] && port_busy "${api_listen##*:}"; then
    api_listen=127.0.0.1:$(free_port)
    say "port 8080 is in use; the API listens on $api_listen"
fi
DATABASE_URL=$API_DATABASE_URL start api marquee-api --api-listen "$api_listen"
wait_http api "http://$api_listen/readyz"

cat <<EOF

marquee is running (schedule '$schedule'; provider mock at $PROVIDER_URL).
Try:
  curl -s 'http://$api_listen/search?starts_at=2021-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z'
Services: set -a; . $services_dir/env; set +a   (then psql, \$RABBITMQ_CTL list_queues)
Ctrl-C stops everything.

EOF

# Stay until Ctrl-C or until one of the processes dies.
set +e
wait -n "${started_pids[@]}"
status=$?
for i in "${!started_pids[@]}"; do
    if ! kill -0 "${started_pids[i]}" 2>/dev/null; then
        say "${started_names[i]} exited (status $status)"
        log_tail "$logs/${started_names[i]}.log"
    fi
done
exit 1
