#!/usr/bin/env bash
# Ingestion benchmarks (bench/README.md): parse throughput, first ingest vs the COPY floor,
# unchanged and 1%-changed re-ingests, peak RSS. Uses its own services under bench/out/services.
#   bench/ingest/run.sh [EVENTS] [ZONES]      (default 5000 × 300, a ≈150 MB feed)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MARQUEE_BIN:-$root/build/bin}
out=$root/bench/out/ingest
events=${1:-5000}
zones=${2:-300}
threads=${THREADS:-$(nproc)}
mkdir -p "$out"

bash "$root/scripts/services.sh" start "$root/bench/out/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$root/bench/out/services/env"
set +a

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p')"
echo "== feed: $events events x $zones zones"
"$bin/bench-generate-feed" --events "$events" --zones "$zones" --seed 1 > "$out/feed.xml"
"$bin/bench-generate-feed" --events "$events" --zones "$zones" --seed 1 --change-percent 1 > "$out/feed-1pct.xml"
awk -v bytes="$(stat -c %s "$out/feed.xml")" 'BEGIN { printf "feed size: %.1f MB\n", bytes / 1e6 }'

echo "== parse throughput ($threads threads)"
"$bin/bench-parse" "$out/feed.xml" --threads "$threads" --repeat 3

fresh_db() {
    psql -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
    "$bin/marquee-migrate" --database-url "${DATABASE_URL%/*}/$1" --log-level warn
}
seconds() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null || { echo "failed: $*" >&2; return 1; }
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }'
}

echo "== COPY floor: the same rows piped into COPY with psql, one transaction"
"$bin/bench-dump-rows" "$out/feed.xml" "$out/events.copy" "$out/zones.copy"
fresh_db bench_floor
psql -q "${DATABASE_URL%/*}/bench_floor" -c "
  CREATE TABLE floor_events (seq bigint, id uuid PRIMARY KEY, kind \"char\", base_event_id text, event_id text,
    title text, sell_mode text, organizer_company_id text, start_local timestamp, end_local timestamp,
    starts_at timestamptz, ends_at timestamptz, sell_from timestamp, sell_to timestamp, sold_out boolean,
    min_price numeric, max_price numeric, zone_count integer, content_hash bigint);
  CREATE TABLE floor_zones (LIKE zones INCLUDING ALL);"
floor=$(seconds psql -q -v ON_ERROR_STOP=1 "${DATABASE_URL%/*}/bench_floor" \
    -c "BEGIN" -c "\\copy floor_events FROM '$out/events.copy'" -c "\\copy floor_zones FROM '$out/zones.copy'" -c "COMMIT") || exit 1
echo "copy floor: ${floor} s"

ingest() {
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$bin/marquee-worker" ingest "$1" --threads "$threads" \
        --database-url "${DATABASE_URL%/*}/bench_ingest" --log-level warn
    read -r elapsed rss < "$out/time.txt"
    echo "$2: ${elapsed} s, peak RSS $((rss / 1024)) MB"
}
echo "== worker ingest (marquee-worker ingest, $threads threads)"
fresh_db bench_ingest
ingest "$out/feed.xml" "first ingest (empty database)"
ingest "$out/feed.xml" "re-ingest, unchanged"
ingest "$out/feed-1pct.xml" "re-ingest, 1% of events changed"
