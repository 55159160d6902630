#!/usr/bin/env bash
# The API benchmark, reproducible: PostgreSQL from scripts/services.sh, 100,000 seeded events
# (seed.sql), marquee-api on API_THREADS threads, then wrk with the same load against
#   - marquee-api: a mixed workload (mix.lua), a fixed small query, the fixed large (open) query;
#   - the Beast ceiling (ceiling_server.cpp) and nginx, both serving the small query's bytes.
# Prints one RESULT line per run plus marquee-api's RSS.
#
#   bench/api/run.sh [BUILD_DIR]     (default: build)
#   env: DURATION=20s CONNECTIONS=64 WRK_THREADS=1 API_THREADS=1 BASE_PORT=18180
#        BENCH_WORK=BUILD_DIR/bench-api   (services, logs and bodies go here)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
build=$(cd "${1:-$root/build}" && pwd -P)
work=${BENCH_WORK:-$build/bench-api}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-64}
wrk_threads=${WRK_THREADS:-1}
api_threads=${API_THREADS:-1}
base_port=${BASE_PORT:-18180}
api_port=$base_port
ceiling_port=$((base_port + 1))
nginx_port=$((base_port + 2))
export BENCH_API_DIR=$here

mkdir -p "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_http() {  # URL: up to 60 s for a 200
    for _ in $(seq 600); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$1" || true) == 200 ]] && return 0
        sleep 0.1
    done
    echo "no 200 from $1" >&2
    return 1
}

run_wrk() {  # NAME URL SCRIPT
    local out
    out=$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" -s "$here/$3" "$2")
    echo "$out" >"$work/wrk-$1.txt"
    echo "$1: $(grep '^RESULT' <<<"$out")"
}

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(uname -sr); duration $duration, $connections connections, wrk $wrk_threads thread(s)," \
    "marquee-api $api_threads thread(s)"

bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
. "$work/services/env"
set +a
db=marquee_bench_api
psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="${DATABASE_URL%/*}/$db"
for migration in "$root"/migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$migration"; done
psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/seed.sql"

"$build/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$api_port" --threads "$api_threads" \
    --log-level warn 2>"$work/marquee-api.log" &
api_pid=$!
pids+=("$api_pid")
wait_http "http://127.0.0.1:$api_port/readyz"

small="/search?starts_at=2021-06-30T00:00:00Z&ends_at=2021-06-30T06:00:00Z"
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
curl -s "http://127.0.0.1:$api_port$small" >"$work/nginx/www/small.json"
curl -s "http://127.0.0.1:$api_port/search" >"$work/large.json"
echo "bodies: small $(wc -c <"$work/nginx/www/small.json") bytes, large $(wc -c <"$work/large.json") bytes"

run_wrk api-mix "http://127.0.0.1:$api_port/" mix.lua
run_wrk api-small "http://127.0.0.1:$api_port$small" fixed.lua
connections_large=$connections
connections=$((connections < 8 ? connections : 8))
run_wrk api-large "http://127.0.0.1:$api_port/search" fixed.lua
connections=$connections_large
echo "marquee-api RSS: $(ps -o rss= -p "$api_pid" | xargs) KiB"

"$build/bin/marquee-bench-api-ceiling" "$ceiling_port" "$work/nginx/www/small.json" "$api_threads" &
pids+=("$!")
wait_http "http://127.0.0.1:$ceiling_port/"
run_wrk beast-ceiling-small "http://127.0.0.1:$ceiling_port$small" fixed.lua

sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$api_threads|g" \
    "$here/nginx.conf.in" >"$work/nginx/nginx.conf"
nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>"$work/nginx/stderr.log" &
pids+=("$!")
wait_http "http://127.0.0.1:$nginx_port/small.json"
run_wrk nginx-static-small "http://127.0.0.1:$nginx_port/small.json" fixed.lua
