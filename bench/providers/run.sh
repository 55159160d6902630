#!/usr/bin/env bash
# Many providers on one machine (bench/providers/README.md): PROVIDERS providers on '* * * * *',
# each with its own feed on one marquee-provider-mock (/providers/<name>/api/events), sizes spread
# log-uniformly from 50 events x 1 zone to 5,000 events x 50 zones, two versions per provider (base
# and 1% changed, served in turn, so every minute brings a small change). WORKERS marquee-worker
# processes and SCHEDULERS marquee-scheduler replicas run for MINUTES whole minutes; then the
# database says, per minute slot, how many slots were published and how late, how many were
# ingested and how late, the throughput, the slowest provider, the failures, and the most
# PostgreSQL sessions seen at once (pg_stat_activity sampled every second).
#
#   bench/providers/run.sh [BIN_DIR]     (default: build/bin)
#   env: PROVIDERS=200 MINUTES=5 WORKERS=2 WORKER_CONCURRENCY=4 (consumers per worker process)
#        WORKER_THREADS=<cores> SCHEDULERS=2 (the 2nd starts with the 1st: each slot must still go out once)
#        DRAIN_SECONDS=120 (after the last minute, how long to wait for its ingestions)
#        BENCH_WORK=bench/out/providers (services, feeds, logs, samples)
# Prints RESULT lines and a summary; stops everything it started on exit. Loopback only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
bin=$(cd "${1:-$root/build/bin}" && pwd -P)
work=${BENCH_WORK:-$root/bench/out/providers}
providers=${PROVIDERS:-200}
minutes=${MINUTES:-5}
workers=${WORKERS:-2}
concurrency=${WORKER_CONCURRENCY:-4}
threads=${WORKER_THREADS:-$(nproc)}
schedulers=${SCHEDULERS:-2}
drain_seconds=${DRAIN_SECONDS:-120}
db=marquee_bench_providers
((providers >= 1 && minutes >= 1 && workers >= 1 && schedulers >= 1)) || {
    echo "PROVIDERS, MINUTES, WORKERS and SCHEDULERS must be at least 1" >&2
    exit 2
}
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
[[ $work =~ ^/[A-Za-z0-9._/+@=,-]+$ ]] || {
    echo "BENCH_WORK '$work' has characters this script does not quote; pick a plain path" >&2
    exit 2
}
logs=$work/logs
feeds=$work/feeds
rm -rf "$logs"
mkdir -p "$logs"

# ---- processes, stopped in reverse order on exit
pids=()
names=()
sampler_pid=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local i pid deadline
    trap '' INT TERM
    if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        # A worker finishes the job in hand first.
        deadline=$((SECONDS + 60))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "${names[i]} ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    bash "$root/scripts/services.sh" stop "$work/services" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() {  # NAME COMMAND...: COMMAND in the background, stderr and stdout to logs/NAME.log
    local name=$1
    shift
    "$@" </dev/null >"$logs/$name.log" 2>&1 &
    pids+=("$!")
    names+=("$name")
}
running() {  # NAME: whether the process started as NAME still runs
    local i
    for i in "${!names[@]}"; do [[ ${names[i]} == "$1" ]] && kill -0 "${pids[i]}" 2>/dev/null && return 0; done
    return 1
}
wait_for() {  # NAME SECONDS COMMAND...: until COMMAND succeeds, NAME exits, or SECONDS pass
    local name=$1 deadline=$((SECONDS + $2))
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ! running "$name" || ((SECONDS >= deadline)); then
            echo "$name did not come up; last lines of $logs/$name.log:" >&2
            tail -n 20 "$logs/$name.log" >&2
            exit 1
        fi
        sleep 0.2
    done
}
now() { date +%s.%N; }
sleep_until() {  # EPOCH (fractional)
    sleep "$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
}
utc() { date -u -d "@$1" +%FT%TZ; }
# CPU seconds (user + system, with reaped children) of the given processes and their live children.
cpu_seconds() {
    local pid children=()
    for pid in "$@"; do mapfile -t -O "${#children[@]}" children < <(pgrep -P "$pid" || true); done
    for pid in "$@" "${children[@]}"; do
        # Fields after the command's closing parenthesis: utime is the 12th, then stime, cutime, cstime.
        sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null || true
    done | awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13 + $14 + $15 } END { printf "%.1f", t / hz }'
}

echo "== $(utc "$(date +%s)") machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $providers providers, $minutes minutes, $workers worker process(es) x $concurrency consumers" \
    "x $threads threads, $schedulers scheduler(s); binaries $bin"

# ---- services and database
bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$work/services/env"
set +a
# Jobs a previous run left in the queues would ingest into this run's providers.
for queue in marquee.fetch.jobs marquee.fetch.retry marquee.fetch.dead; do
    "$RABBITMQ_CTL" purge_queue "$queue" >/dev/null 2>&1 || true
done
psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER marquee_migrate"
# Each process as its own least-privilege role (docs/adr/0015), as in production.
"$bin/marquee-migrate" --database-url "${MIGRATE_DATABASE_URL%/*}/$db" --log-level warn
worker_url=${WORKER_DATABASE_URL%/*}/$db
scheduler_url=${SCHEDULER_DATABASE_URL%/*}/$db

# ---- feeds: provider NAME's rotation is $feeds/NAME/{a-base,b-1pct}.xml
rm -rf "$feeds"
mkdir -p "$feeds"
"$bin/bench-generate-feed" --events 1 --zones 1 --seed 1 >"$feeds/top.xml"  # the mock wants a top-level sample
# Sizes by rank, log-uniform in both events and zones; ranks dealt to names in a fixed shuffled
# order, so that the schedulers (which go by name) do not publish the small feeds first.
sizes=$work/sizes.tsv
seq 0 $((providers - 1)) | shuf --random-source=<(yes) |
    awk -v n="$providers" '{
        t = n > 1 ? $1 / (n - 1) : 0
        printf "p%03d\t%d\t%d\n", NR - 1, int(50 * 100 ^ t + 0.5), int(50 ^ t + 0.5)
    }' >"$sizes.tmp"
generated=$(date +%s)
while IFS=$'\t' read -r name events zones; do
    mkdir -p "$feeds/$name"
    seed=$((10#${name#p} + 1))
    "$bin/bench-generate-feed" --events "$events" --zones "$zones" --seed "$seed" >"$feeds/$name/a-base.xml"
    "$bin/bench-generate-feed" --events "$events" --zones "$zones" --seed "$seed" --change-percent 1 \
        >"$feeds/$name/b-1pct.xml"
    printf '%s\t%s\t%s\t%s\n' "$name" "$events" "$zones" "$(stat -c %s "$feeds/$name/a-base.xml")"
done <"$sizes.tmp" >"$sizes"
rm -f "$sizes.tmp"
awk -F'\t' -v s=$(($(date +%s) - generated)) '{ e += $2; z += $2 * $3; b += $4 }
    END { printf "feeds: %d providers, %d events, %d zones, %.1f MB per version (generated in %d s)\n", NR, e, z, b / 1e6, s }' "$sizes"
sort -t$'\t' -k2,2n -k3,3n "$sizes" | awk -F'\t' 'NR == 1 { s = $0 } { l = $0 } END {
    split(s, a, "\t"); split(l, b, "\t")
    printf "smallest %s: %d x %d (%d bytes); largest %s: %d x %d (%.1f MB)\n", a[1], a[2], a[3], a[4], b[1], b[2], b[3], b[4] / 1e6 }'

# ---- provider mock, providers
mock_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start mock "$bin/marquee-provider-mock" --listen "127.0.0.1:$mock_port" --dir "$feeds" --log-level warn
wait_for mock 30 curl -fsS "http://127.0.0.1:$mock_port/_control/stats"
awk -F'\t' -v base="http://127.0.0.1:$mock_port/providers" -v q="'" '
    BEGIN { print "INSERT INTO providers (name, url, schedule) VALUES" }
    { printf "%s(%s%s%s, %s%s/%s/api/events%s, %s* * * * *%s)\n", (NR > 1 ? "," : ""), q, $1, q, q, base, $1, q, q, q }
    END { print ";" }' "$sizes" | psql -q -v ON_ERROR_STOP=1 -d "$db"

# ---- workers, and pg_stat_activity sampled every second from now on
for ((w = 1; w <= workers; w++)); do
    start "worker-$w" "$bin/marquee-worker" --database-url "$worker_url" --amqp-url "$WORKER_AMQP_URL" \
        --concurrency "$concurrency" --threads "$threads" --log-level info
done
for ((w = 1; w <= workers; w++)); do wait_for "worker-$w" 60 grep -q 'consuming fetch jobs' "$logs/worker-$w.log"; done
sessions=$work/sessions.tsv
: >"$sessions"
(
    while :; do
        psql -X -q -At -F$'\t' -d "$db" -c "SELECT extract(epoch FROM now())::bigint, coalesce(application_name, ''),
            usename, count(*) FROM pg_stat_activity WHERE datname = current_database()
            AND backend_type = 'client backend' AND application_name <> 'psql' GROUP BY 2, 3" >>"$sessions" || true
        sleep 1
    done
) &
sampler_pid=$!

# ---- schedulers: a scheduler fires the minute in progress at once, so that minute is marked
# published beforehand (like a slot another replica took) and the first measured minute is the
# next one, whose publication is measured from its first second. Start between :01 and :45.
second=$(($(date +%s) % 60))
if ((second < 1 || second > 45)); then sleep_until "$(($(date +%s) - second + 61))"; fi
current=$(($(date +%s) / 60 * 60))
slot0=$((current + 60))
slot_last=$((slot0 + (minutes - 1) * 60))
psql -q -v ON_ERROR_STOP=1 -d "$db" -c "INSERT INTO schedule_slots (provider, slot, claimed_at, published_at)
    SELECT name, to_timestamp($current), now(), now() FROM providers"
for ((s = 1; s <= schedulers; s++)); do
    start "scheduler-$s" "$bin/marquee-scheduler" --database-url "$scheduler_url" --amqp-url "$SCHEDULER_AMQP_URL" \
        --log-level info
done
for ((s = 1; s <= schedulers; s++)); do wait_for "scheduler-$s" 30 grep -q 'scheduling providers' "$logs/scheduler-$s.log"; done
echo "== measuring the minutes $(utc "$slot0") .. $(utc "$slot_last") (the first is the initial load)"

# CPU over the measured minutes: ours, PostgreSQL's (the postmaster and its backends), RabbitMQ's
# (this services directory's node) and the whole machine's (other people's work included).
postmaster=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
rabbitmq=$(pgrep -f -- "-home $work/services/rabbitmq-home .*-s rabbit boot" | head -n1 || true)
cpu_probe() {  # prints "workers schedulers mock postgres rabbitmq machine_busy machine_total" in seconds
    local worker_pids=() scheduler_pids=() mock_pids=() i
    for i in "${!names[@]}"; do
        case ${names[i]} in
            worker-*) worker_pids+=("${pids[i]}") ;;
            scheduler-*) scheduler_pids+=("${pids[i]}") ;;
            mock) mock_pids+=("${pids[i]}") ;;
        esac
    done
    echo "$(cpu_seconds "${worker_pids[@]}") $(cpu_seconds "${scheduler_pids[@]}") $(cpu_seconds "${mock_pids[@]}")" \
        "$(if [[ -n $postmaster ]]; then cpu_seconds "$postmaster"; else echo 0; fi)" \
        "$(if [[ -n $rabbitmq ]]; then cpu_seconds "$rabbitmq"; else echo 0; fi)" \
        "$(awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.1f %.1f", ($2 + $3 + $4 + $7 + $8) / hz, ($2 + $3 + $4 + $5 + $6 + $7 + $8) / hz }' /proc/stat)"
}
sleep_until "$slot0"
read -r cpu0_workers cpu0_schedulers cpu0_mock cpu0_pg cpu0_mq cpu0_busy cpu0_total < <(cpu_probe)
load0=$(cut -d' ' -f1 /proc/loadavg)
# No scheduler may fire the minute after the last: stop them 50 s into the last minute.
sleep_until $((slot_last + 50))
read -r _ cpu1_schedulers _ < <(cpu_probe)
for ((i = ${#names[@]} - 1; i >= 0; i--)); do
    if [[ ${names[i]} == scheduler-* ]]; then
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    fi
done
sleep_until $((slot_last + 60))
read -r cpu1_workers _ cpu1_mock cpu1_pg cpu1_mq cpu1_busy cpu1_total < <(cpu_probe)
load1=$(cut -d' ' -f1 /proc/loadavg)

# ---- drain: until every measured slot of every provider has a finished run, or DRAIN_SECONDS
expected=$((providers * minutes))
pending() {
    psql -X -At -d "$db" -c "SELECT $expected - count(DISTINCT (provider, scheduled_for)) FROM ingestion_runs
        WHERE status = 'succeeded' AND scheduled_for BETWEEN to_timestamp($slot0) AND to_timestamp($slot_last)"
}
deadline=$((SECONDS + drain_seconds))
while (($(pending) > 0 && SECONDS < deadline)); do sleep 1; done
echo "== $(utc "$(date +%s)") drained ($(pending) measured slots without a successful run); stopping the sampler"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=

# ---- report
window=60
awk -v w=$((minutes * window)) -v c="$(nproc)" \
    -v a="$cpu0_workers" -v b="$cpu1_workers" -v s0="$cpu0_schedulers" -v s1="$cpu1_schedulers" \
    -v m0="$cpu0_mock" -v m1="$cpu1_mock" -v p0="$cpu0_pg" -v p1="$cpu1_pg" -v q0="$cpu0_mq" -v q1="$cpu1_mq" \
    -v u0="$cpu0_busy" -v u1="$cpu1_busy" -v t0="$cpu0_total" -v t1="$cpu1_total" -v l0="$load0" -v l1="$load1" 'BEGIN {
    ours = (b - a) + (s1 - s0) + (m1 - m0) + (p1 - p0) + (q1 - q0)
    printf "RESULT cpu window_s=%d workers_s=%.1f schedulers_s=%.1f mock_s=%.1f postgres_s=%.1f rabbitmq_s=%.1f" \
        " everything_else_s=%.1f machine_busy=%.0f%% of %d cores load=%s..%s\n", w, b - a, s1 - s0, m1 - m0,
        p1 - p0, q1 - q0, (u1 - u0) - ours, 100 * (u1 - u0) / (t1 - t0), c, l0, l1 }'

published_by_logs=$work/published.tsv
# "provider NAME: published job ID for slot SLOT", from every scheduler: a pair twice is a duplicate.
cat "$logs"/scheduler-*.log | sed -n 's/.*provider \([^:]*\): published job [^ ]* for slot \([^ ]*\).*/\1\t\2/p' |
    sort | uniq -c | awk '{ printf "%s\t%s\t%d\n", $2, $3, $1 }' >"$published_by_logs"
# "job ID for provider NAME (slot SLOT, attempt 1)" without "redelivered": each job as first received.
received=$work/received.tsv
cat "$logs"/worker-*.log | grep -v 'redelivered' |
    sed -n 's/.*job [^ ]* for provider \([^ ]*\) (slot \([^,]*\), attempt 1).*/\1\t\2/p' |
    sort | uniq -c | awk '{ printf "%s\t%s\t%d\n", $2, $3, $1 }' >"$received"

psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TEMP TABLE feed_sizes (provider text PRIMARY KEY, events int, zones int, bytes bigint);
\copy feed_sizes FROM '$sizes'
CREATE TEMP TABLE published_logged (provider text, slot timestamptz, jobs int);
\copy published_logged FROM '$published_by_logs'
CREATE TEMP TABLE received_logged (provider text, slot timestamptz, jobs int);
\copy received_logged FROM '$received'
CREATE TEMP VIEW measured AS
    SELECT slot, slot = to_timestamp($slot0) AS initial
    FROM generate_series(to_timestamp($slot0), to_timestamp($slot_last), interval '1 minute') AS slot;
CREATE TEMP VIEW runs AS
    SELECT r.*, f.events * f.zones AS feed_zones, f.events AS feed_events, f.zones AS zones_per_event, f.bytes,
           extract(epoch FROM r.finished_at - r.scheduled_for) AS done_s,
           extract(epoch FROM r.started_at - r.scheduled_for) AS wait_s,
           extract(epoch FROM r.finished_at - r.started_at) AS run_s
    FROM ingestion_runs r JOIN feed_sizes f USING (provider) JOIN measured m ON m.slot = r.scheduled_for;

-- Per minute: publication, ingestion, throughput.
WITH pub AS (
    SELECT s.slot, count(*) FILTER (WHERE published_at IS NOT NULL) AS published,
           max(extract(epoch FROM published_at - s.slot) * 1000) AS max_ms,
           percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - s.slot) * 1000) AS p99_ms,
           count(*) FILTER (WHERE published_at - s.slot > interval '1 second') AS late
    FROM schedule_slots s JOIN measured USING (slot) GROUP BY s.slot),
dup AS (
    SELECT m.slot, (SELECT coalesce(sum(jobs - 1), 0) FROM published_logged p WHERE p.slot = m.slot) AS published_twice,
           (SELECT coalesce(sum(jobs - 1), 0) FROM received_logged r WHERE r.slot = m.slot) AS received_twice
    FROM measured m),
ing AS (
    SELECT scheduled_for AS slot,
           count(DISTINCT provider) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'succeeded') - count(DISTINCT provider) FILTER (WHERE status = 'succeeded')
               AS succeeded_twice,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'succeeded' AND done_s <= 60) AS within,
           max(done_s) FILTER (WHERE status = 'succeeded') AS max_s,
           percentile_disc(0.99) WITHIN GROUP (ORDER BY done_s) FILTER (WHERE status = 'succeeded') AS p99_s,
           max(wait_s) AS max_wait_s,
           sum(run_s) AS busy_s,
           sum(events_seen) FILTER (WHERE status = 'succeeded') AS events,
           sum(events_changed) FILTER (WHERE status = 'succeeded') AS changed,
           sum(feed_zones) FILTER (WHERE status = 'succeeded') AS zones,
           sum(bytes) FILTER (WHERE status = 'succeeded') AS bytes
    FROM runs GROUP BY scheduled_for)
SELECT format('RESULT minute=%s kind=%s published=%s/%s published_twice=%s received_twice=%s publish_max_ms=%s'
              ' publish_p99_ms=%s published_late=%s succeeded=%s/%s succeeded_twice=%s failed=%s within_60s=%s'
              ' ingest_p99_s=%s ingest_max_s=%s max_queue_wait_s=%s busy_s=%s events=%s changed=%s zones=%s mb=%s',
              to_char(m.slot AT TIME ZONE 'UTC', 'HH24:MI'), CASE WHEN m.initial THEN 'initial' ELSE 'steady' END,
              coalesce(pub.published, 0), $providers, d.published_twice, d.received_twice, round(pub.max_ms),
              round(pub.p99_ms), pub.late, coalesce(ing.succeeded, 0), $providers, coalesce(ing.succeeded_twice, 0),
              coalesce(ing.failed, 0), coalesce(ing.within, 0), round(ing.p99_s::numeric, 1),
              round(ing.max_s::numeric, 1), round(ing.max_wait_s::numeric, 1), round(ing.busy_s::numeric, 1),
              coalesce(ing.events, 0), coalesce(ing.changed, 0), coalesce(ing.zones, 0),
              round(coalesce(ing.bytes, 0) / 1e6, 1))
FROM measured m LEFT JOIN pub USING (slot) LEFT JOIN dup d USING (slot) LEFT JOIN ing USING (slot) ORDER BY m.slot;

-- The slowest providers: longest run, and latest to finish after its minute; initial and steady apart.
SELECT format('RESULT slowest kind=%s by=%s provider=%s size=%sx%s mb=%s run_s=%s queue_wait_s=%s done_after_slot_s=%s minute=%s',
              kind, by, provider, feed_events, zones_per_event, round(bytes / 1e6, 1), round(run_s::numeric, 2),
              round(wait_s::numeric, 1), round(done_s::numeric, 1), to_char(scheduled_for AT TIME ZONE 'UTC', 'HH24:MI'))
FROM (
    SELECT DISTINCT ON (kind, by) *
    FROM (SELECT r.*, CASE WHEN m.initial THEN 'initial' ELSE 'steady' END AS kind, b.by
          FROM runs r JOIN measured m ON m.slot = r.scheduled_for CROSS JOIN (VALUES ('run'), ('finish')) AS b (by)
          WHERE r.status = 'succeeded') x
    ORDER BY kind, by, CASE WHEN by = 'run' THEN run_s ELSE done_s END DESC) y
ORDER BY kind, by DESC;

-- Runs per size band (steady minutes): where the time goes.
SELECT format('RESULT band kind=%s zones=%s..%s providers=%s runs=%s run_avg_s=%s run_max_s=%s share_of_busy=%s%%',
              kind, min(feed_zones), max(feed_zones), count(DISTINCT provider), count(*),
              round(avg(run_s)::numeric, 2), round(max(run_s)::numeric, 2),
              round(100 * sum(run_s) / sum(sum(run_s)) OVER (PARTITION BY kind)))
FROM (SELECT r.*, CASE WHEN m.initial THEN 'initial' ELSE 'steady' END AS kind,
             ntile(4) OVER (PARTITION BY m.initial ORDER BY feed_zones) AS band
      FROM runs r JOIN measured m ON m.slot = r.scheduled_for WHERE r.status = 'succeeded') x
GROUP BY kind, band ORDER BY kind, band;

-- Failures, by error.
SELECT format('RESULT failure count=%s error=%s', count(*), left(coalesce(error, '(none)'), 160))
FROM runs WHERE status <> 'succeeded' GROUP BY error ORDER BY count(*) DESC;
SQL

line="RESULT publishers"
for log in "$logs"/scheduler-*.log; do
    line+=" $(basename "$log" .log)=$(grep -c ': published job ' "$log" || true)"
done
echo "$line (jobs published by each scheduler replica, measured minutes and the 50 s after)"
echo "RESULT worker_log skipped=$(cat "$logs"/worker-*.log | grep -c ' skipped: ' || true)" \
    "deferred=$(cat "$logs"/worker-*.log | grep -c ' deferred for ' || true)" \
    "retrying=$(cat "$logs"/worker-*.log | grep -c ' retrying in ' || true)" \
    "failed_for_good=$(cat "$logs"/worker-*.log | grep -c 'failed for good' || true)" \
    "dead_lettered=$(cat "$logs"/worker-*.log | grep -c 'dead-lettered' || true)"

# Sessions: the most at once (all of the bench database's client sessions), and per application and role.
bound=$((workers * concurrency * 2 + schedulers))
awk -F'\t' -v bound="$bound" '
    { total[$1] += $4; key = ($2 == "" ? "-" : $2) "/" $3; if ($4 > most[key]) most[key] = $4; at[$1, key] = $4 }
    END {
        for (t in total) if (total[t] > peak) { peak = total[t]; when = t }
        line = ""
        for (k in most) line = line sprintf(" %s=%d", k, most[k])
        printf "RESULT sessions max=%d bound=%d samples=%d max_by_application/role:%s\n", peak, bound, length(total), line
        line = ""
        for (k in most) if ((when, k) in at) line = line sprintf(" %s=%d", k, at[when, k])
        printf "sessions at the peak (%s):%s\n", strftime("%H:%M:%S", when, 1), line
    }' "$sessions"

# ---- summary against the targets
awk -F'\t' -v bound="$bound" '{ total[$1] += $4 } END {
    for (t in total) if (total[t] > peak) peak = total[t]
    printf "summary: at most %d PostgreSQL sessions at once; bound %d (%s)\n", peak, bound, peak <= bound ? "met" : "EXCEEDED" }' \
    "$sessions"
psql -X -q -At -d "$db" <<SQL
WITH m AS (SELECT slot, slot = to_timestamp($slot0) AS initial
           FROM generate_series(to_timestamp($slot0), to_timestamp($slot_last), interval '1 minute') AS slot),
pub AS (SELECT count(*) FILTER (WHERE published_at IS NOT NULL) AS published,
               max(extract(epoch FROM published_at - s.slot) * 1000) AS max_ms
        FROM schedule_slots s JOIN m USING (slot)),
ing AS (SELECT m.initial, count(DISTINCT r.provider || r.scheduled_for::text) AS ok,
               count(*) FILTER (WHERE r.finished_at - r.scheduled_for <= interval '60 s') AS within,
               max(extract(epoch FROM r.finished_at - r.scheduled_for)) AS max_s,
               count(DISTINCT r.scheduled_for) AS minutes
        FROM ingestion_runs r JOIN m ON m.slot = r.scheduled_for WHERE r.status = 'succeeded' GROUP BY m.initial)
SELECT line FROM (
SELECT 0 AS position, format('summary: published %s of %s slots (%s providers x %s minutes), the latest %s ms after its minute (target 1000 ms: %s)',
              pub.published, $expected, $providers, $minutes, round(pub.max_ms),
              CASE WHEN pub.published = $expected AND pub.max_ms <= 1000 THEN 'met' ELSE 'MISSED' END) AS line
FROM pub
UNION ALL
SELECT CASE WHEN initial THEN 1 ELSE 2 END, format('summary: %s minutes: %s of %s provider slots ingested, %s within the minute, the latest %s s after its minute%s',
              CASE WHEN initial THEN 'initial' ELSE 'steady' END, ok,
              $providers * CASE WHEN initial THEN 1 ELSE $minutes - 1 END, within, round(max_s::numeric, 1),
              CASE WHEN initial THEN ' (no target: every feed loaded from scratch)'
                   ELSE format(' (target all within 60 s: %s)',
                               CASE WHEN within = $providers * ($minutes - 1) THEN 'met' ELSE 'MISSED' END) END)
FROM ing) lines ORDER BY position;
SQL
echo "logs: $logs; samples: $sessions; feed sizes: $sizes"
