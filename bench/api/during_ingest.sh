#!/usr/bin/env bash
# The API holding 10,000 req/s for 60 s with zero errors while a big ingestion runs: marquee-api over
# the seeded 100,000-event database serves valid mixed searches (valid_mix.lua) while marquee-worker
# ingests a 5,000 x 300 feed (~150 MB) into the same PostgreSQL — a first load, then the same feed
# with 1% of events changed — so snapshots are rebuilt under load.
#   bench/api/during_ingest.sh [BUILD_DIR]        settings: DURATION (60s), CONNECTIONS (32), API_THREADS (2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
build=$(cd "${1:-$root/build}" && pwd -P)
work=${BENCH_WORK:-$build/bench-api-ingest}
duration=${DURATION:-60s}
connections=${CONNECTIONS:-32}
api_threads=${API_THREADS:-2}
port=${BASE_PORT:-18190}
export BENCH_API_DIR=$here
mkdir -p "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$work/services/env"
set +a
db=marquee_bench_ingest
psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="${DATABASE_URL%/*}/$db"
"$build/bin/marquee-migrate" --database-url "$url" --log-level warn
psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/seed.sql"
"$build/bin/bench-generate-feed" --events 5000 --zones 300 --seed 3 >"$work/feed.xml"
"$build/bin/bench-generate-feed" --events 5000 --zones 300 --seed 3 --change-percent 1 >"$work/feed-1pct.xml"

"$build/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$port" --threads "$api_threads" \
    --log-level warn 2>"$work/marquee-api.log" &
pids+=($!)
for _ in $(seq 600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true) == 200 ]] && break
    sleep 0.1
done
version() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^marquee_api_snapshot_data_version/ {print $2}'; }
echo "== $(date -u +%FT%TZ) $(nproc) CPUs; wrk $duration, $connections connections; API $api_threads threads;" \
    "load $(cut -d' ' -f1-3 /proc/loadavg); snapshot version $(version)"

# The ingestions start a few seconds into the run and go on while wrk runs.
(
    sleep 3
    for feed in feed.xml feed-1pct.xml; do
        /usr/bin/time -f "$feed ingested in %e s" "$build/bin/marquee-worker" ingest "$work/$feed" \
            --provider bigfeed --database-url "$url" --log-level warn
    done
) >"$work/ingest.log" 2>&1 &
ingest_pid=$!
wrk -t1 -c"$connections" -d"$duration" --latency -s "$here/valid_mix.lua" "http://127.0.0.1:$port" \
    | tee "$work/wrk.txt" | grep -E "RESULT|Latency|Requests/sec"
wait "$ingest_pid"
cat "$work/ingest.log"
echo "snapshot version after: $(version); marquee-api RSS $(ps -o rss= -p "${pids[0]}" | awk '{printf "%d MiB", $1/1024}')"
