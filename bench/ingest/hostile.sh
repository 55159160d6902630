#!/usr/bin/env bash
# Memory under a hostile feed (bench/README.md, issue 8): one <event> with millions of <zone>s beside
# a normal one, against an ordinary feed of about the same size, both through `marquee-worker
# ingest` (default caps: 10,000 zones per event). The huge event must end as a rejection and the
# worker's peak RSS must stay at what an ordinary feed of that size costs.
#   bench/ingest/hostile.sh [ZONES]      (default 5,000,000 zones, a ≈150 MB feed)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MARQUEE_BIN:-$root/build/bin}
out=$root/bench/out/hostile
zones=${1:-5000000}
mkdir -p "$out"

bash "$root/scripts/services.sh" start "$root/bench/out/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$root/bench/out/services/env"
set +a

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p')"
awk -v zones="$zones" 'BEGIN {
    print "<eventList><output>"
    print "<base_event base_event_id=\"huge\" sell_mode=\"online\" title=\"Huge\"><event event_id=\"1\" " \
          "event_start_date=\"2021-06-30T21:00:00\" event_end_date=\"2021-06-30T22:00:00\">"
    for (i = 0; i < zones; i++) printf "<zone zone_id=\"%d\" price=\"1\"/>\n", i
    print "</event></base_event>"
    print "<base_event base_event_id=\"ok\" sell_mode=\"online\" title=\"Fine\"><event event_id=\"1\" " \
          "event_start_date=\"2021-06-30T21:00:00\" event_end_date=\"2021-06-30T22:00:00\">" \
          "<zone zone_id=\"1\" price=\"10\"/></event></base_event>"
    print "</output></eventList>"
}' > "$out/huge.xml"
size=$(stat -c %s "$out/huge.xml")
"$bin/bench-generate-feed" --events 5000 --zones $((size / 5000 / 100)) --seed 1 > "$out/ordinary.xml"
awk -v zones="$zones" -v huge="$size" -v ordinary="$(stat -c %s "$out/ordinary.xml")" \
    'BEGIN { printf "feeds: one event with %d zones (%.1f MB); ordinary (%.1f MB)\n", zones, huge / 1e6, ordinary / 1e6 }'

ingest() {
    local db=$1 feed=$2
    psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    "$bin/marquee-migrate" --database-url "${DATABASE_URL%/*}/$db" --log-level warn
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$bin/marquee-worker" ingest "$feed" \
        --database-url "${DATABASE_URL%/*}/$db" --log-level error
    read -r elapsed rss < "$out/time.txt"
    echo "$3: ${elapsed} s, peak RSS $((rss / 1024)) MB, runs: $(psql -qAt "${DATABASE_URL%/*}/$db" -c \
        "SELECT events_seen || ' seen, ' || events_changed || ' stored, ' || events_rejected || ' rejected' FROM ingestion_runs")"
}
ingest bench_hostile "$out/huge.xml" "one event with $zones zones"
ingest bench_ordinary "$out/ordinary.xml" "ordinary feed of the same size"
