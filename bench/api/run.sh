#!/usr/bin/env bash
# The API benchmark, reproducible: PostgreSQL from scripts/services.sh, 100,000 seeded events
# (seed.sql), marquee-api on API_THREADS threads, then wrk with the same load against
#   - marquee-api: a fixed SMALL query (3 events), a fixed LARGE query (1,000 events) and the mixed
#     workload (mix.lua: narrow, day, week, open-ended and invalid ranges);
#   - the ceilings, in the same run and with the same bytes: the minimal Beast server
#     (ceiling_server.cpp) and nginx serving each body as a static file.
# Prints one RESULT line per run, marquee-api's RSS and the RSS budget (3 x rendered JSON + 50 MB).
#
#   bench/api/run.sh [BUILD_DIR]     (default: build)
#   env: DURATION=15s CONNECTIONS=64 WRK_THREADS=1 API_THREADS=2 BASE_PORT=18180
#        RUNS="small large mix"  BENCH_WORK=BUILD_DIR/bench-api (services, logs and bodies)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
build=$(cd "${1:-$root/build}" && pwd -P)
work=${BENCH_WORK:-$build/bench-api}
duration=${DURATION:-15s}
connections=${CONNECTIONS:-64}
wrk_threads=${WRK_THREADS:-1}
api_threads=${API_THREADS:-2}
base_port=${BASE_PORT:-18180}
runs=${RUNS:-small large mix}
api_port=$base_port
ceiling_small_port=$((base_port + 1))
ceiling_large_port=$((base_port + 2))
nginx_port=$((base_port + 3))
export BENCH_API_DIR=$here

# The fixed queries (the seed is deterministic, so are their answers).
small="/search?starts_at=2021-06-30T00:00:00Z&ends_at=2021-06-30T02:15:00Z"  # 3 events
large="/search?starts_at=2021-06-30T00:00:00Z&ends_at=2021-07-03T19:15:00Z"  # 1,000 events

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
    out=$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$here/$3" "$2")
    echo "$out" >"$work/wrk-$1.txt"
    printf '%-14s %s  load %s\n' "$1:" "$(grep '^RESULT' <<<"$out" | cut -d' ' -f2-)" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "== $(date -u +%FT%TZ) machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(uname -sr); duration $duration, $connections connections, wrk $wrk_threads thread(s)," \
    "marquee-api $api_threads thread(s); load $(cut -d' ' -f1-3 /proc/loadavg)"

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

# The ceilings serve exactly the bodies marquee-api answers the fixed queries with.
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
curl -sf "http://127.0.0.1:$api_port$small" >"$work/nginx/www/small.json"
curl -sf "http://127.0.0.1:$api_port$large" >"$work/nginx/www/large.json"
count() { grep -o '"id":' "$1" | wc -l; }
echo "bodies: small $(count "$work/nginx/www/small.json") events, $(wc -c <"$work/nginx/www/small.json") bytes;" \
    "large $(count "$work/nginx/www/large.json") events, $(wc -c <"$work/nginx/www/large.json") bytes"

"$build/bin/marquee-bench-api-ceiling" "$ceiling_small_port" "$work/nginx/www/small.json" "$api_threads" &
pids+=("$!")
"$build/bin/marquee-bench-api-ceiling" "$ceiling_large_port" "$work/nginx/www/large.json" "$api_threads" &
pids+=("$!")
sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$api_threads|g" \
    "$here/nginx.conf.in" >"$work/nginx/nginx.conf"
nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' \
    2>"$work/nginx/stderr.log" &
pids+=("$!")
wait_http "http://127.0.0.1:$ceiling_small_port/"
wait_http "http://127.0.0.1:$ceiling_large_port/"
wait_http "http://127.0.0.1:$nginx_port/small.json"

for run in $runs; do
    case $run in
        small | large)
            port_var=ceiling_${run}_port
            query_var=$run
            run_wrk "beast-$run" "http://127.0.0.1:${!port_var}${!query_var}" fixed.lua
            run_wrk "api-$run" "http://127.0.0.1:$api_port${!query_var}" fixed.lua
            run_wrk "nginx-$run" "http://127.0.0.1:$nginx_port/$run.json" fixed.lua
            ;;
        mix) run_wrk api-mix "http://127.0.0.1:$api_port/" mix.lua ;;
        *) echo "unknown run $run" >&2 ;;
    esac
done

rss_kib=$(ps -o rss= -p "$api_pid" | xargs)
json_bytes=$(curl -s "http://127.0.0.1:$api_port/metrics" | awk '/^marquee_api_snapshot_bytes /{printf "%d", $2}')
echo "marquee-api RSS: $((rss_kib / 1024)) MiB; budget 3 x $((json_bytes / 1048576)) MiB rendered JSON + 50 MiB =" \
    "$(((3 * json_bytes + 50 * 1048576) / 1048576)) MiB"
