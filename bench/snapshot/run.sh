#!/usr/bin/env bash
# The incremental snapshot benchmark (issue 10, docs/adr/0017): PostgreSQL from scripts/services.sh,
# EVENTS events seeded once into a fresh database (seed.sql), then, for each API_BIN_DIR in turn, on
# the same data, its bin/marquee-api:
#   1. the full load: seconds from start to /readyz 200, and the "database unreachable" lines logged;
#   2. steady memory once ready: VmRSS, VmHWM, the rendered JSON (marquee_api_snapshot_bytes), RSS/JSON;
#   3. visibility: CHANGES changes of CHANGE_EVENTS random searchable events each, committed by the
#      writer protocol (change.py), and the milliseconds from the commit returning to /search serving
#      the change; the peak RSS over the changes (VmHWM reset before them);
#   4. /search throughput and p99 with wrk (bench/api/mix.lua over the seeded range) for DURATION without changes, then for DURATION
#      while one change a second is committed (ROUNDS times, interleaved; medians compared).
# A binary not ready within READY_TIMEOUT seconds is reported "never ready" and skipped.
# Prints RESULT lines as it goes and a summary against the targets at the end.
#
#   bench/snapshot/run.sh API_BIN_DIR [API_BIN_DIR...]     (each holds bin/marquee-api)
#   env: EVENTS=1000000 CHANGE_EVENTS=50 CHANGES=20 DURATION=20s CONNECTIONS=64 API_THREADS=2
#        BASE_PORT=18280 (binary i listens on BASE_PORT+i)  BENCH_WORK=bench/out/snapshot
#        READY_TIMEOUT=1800  VISIBLE_TIMEOUT=120 (seconds to wait for one change)  ROUNDS=1
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
if (($# == 0)); then
    sed -n '15,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
events=${EVENTS:-1000000}
change_events=${CHANGE_EVENTS:-50}
changes=${CHANGES:-20}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-64}
api_threads=${API_THREADS:-2}
base_port=${BASE_PORT:-18280}
work=${BENCH_WORK:-$root/bench/out/snapshot}
ready_timeout=${READY_TIMEOUT:-1800}
visible_timeout=${VISIBLE_TIMEOUT:-120}
rounds=${ROUNDS:-1}
# The seeded range; bench/api/mix.lua reads it from the environment (MIX_FIRST, MIX_DAYS).
first_day=2025-01-01
export SNAPSHOT_FIRST SNAPSHOT_DAYS=1095 BENCH_API_DIR=$root/bench/api
SNAPSHOT_FIRST=$(date -u -d "$first_day" +%s)
export MIX_FIRST=$SNAPSHOT_FIRST MIX_DAYS=$SNAPSHOT_DAYS

dirs=()
labels=()
for arg in "$@"; do
    dir=$(cd "$arg" && pwd -P)
    [[ -x $dir/bin/marquee-api ]] || { echo "no executable $dir/bin/marquee-api" >&2 && exit 2; }
    label=$(basename "$dir")
    for other in "${labels[@]}"; do [[ $other != "$label" ]] || label=$label-${#labels[@]}; done
    dirs+=("$dir")
    labels+=("$label")
done

mkdir -p "$work"
work=$(cd "$work" && pwd -P)
api_pid=
changer_pid=
cleanup() {
    [[ -z $changer_pid ]] || kill "$changer_pid" 2>/dev/null || true
    [[ -z $api_pid ]] || kill "$api_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    bash "$root/scripts/services.sh" stop "$work/services" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Seconds since START (an $EPOCHREALTIME), one decimal.
since() { awk -v start="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f", now - start }'; }
# A value of /proc/PID/status in MiB (VmRSS, VmHWM: kB there).
proc_mib() { awk -v key="$2:" '$1 == key { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
metric() {
    curl -s "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name { printf "%.0f", $2; found = 1 }
        END { if (!found) printf "n/a" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
percent() { awk -v now="$1" -v was="$2" 'BEGIN { printf "%+.1f", 100 * (now - was) / was }'; }
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 }
    END { printf "%.6g\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }  # LINE NAME: the value of NAME=... in LINE
run_wrk() {  # PORT DURATION OUTPUT: the RESULT of a mix.lua run, without "RESULT "
    wrk -t1 -c"$connections" -d"$2" --latency -s "$root/bench/api/mix.lua" "http://127.0.0.1:$1/" >"$3"
    sed -n 's/^RESULT //p' "$3"
}

echo "== $(date -u +%FT%TZ) machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(uname -sr); $events events, changes of $change_events events, $changes timed changes, wrk $duration" \
    "with $connections connections, marquee-api $api_threads threads; load $(cut -d' ' -f1-3 /proc/loadavg)"

bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$work/services/env"
set +a
db=marquee_bench_snapshot
PGOPTIONS=--client-min-messages=warning psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export PGDATABASE=$db
url="${DATABASE_URL%/*}/$db"
for migration in "$root"/migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 -f "$migration"; done

# The seed, once: every binary loads the same rows (plus the changes of those before it).
started=$EPOCHREALTIME
psql -q -X -v events="$events" -v first="$first_day" -v days="$SNAPSHOT_DAYS" -f "$here/seed.sql"
psql -q -c "VACUUM ANALYZE events" -c CHECKPOINT
seed_s=$(since "$started")
IFS='|' read -r searchable title_chars non_ascii min_start max_start < <(psql -X -A -t -c "
    SELECT count(*) FILTER (WHERE ever_online), round(avg(length(title)), 1),
           round(100 * avg((octet_length(title) > length(title))::int)), min(starts_at)::date, max(starts_at)::date
    FROM events")
echo "RESULT seed events=$events searchable=$searchable seconds=$seed_s title_chars_avg=$title_chars" \
    "non_ascii_titles_pct=$non_ascii starts=$min_start..$max_start"

declare -A summary=()
mix_described=0
for i in "${!dirs[@]}"; do
    dir=${dirs[$i]}
    label=${labels[$i]}
    port=$((base_port + i))
    log=$work/$label.log
    echo "== $label ($dir/bin/marquee-api) on 127.0.0.1:$port; load $(cut -d' ' -f1-3 /proc/loadavg)"

    # 1. The full load.
    started=$EPOCHREALTIME
    "$dir/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$port" --threads "$api_threads" \
        --log-level info 2>"$log" &
    api_pid=$!
    status=never
    next_report=60
    while :; do
        if [[ $(curl -s -o "$work/readyz.json" -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true) == 200 ]]; then
            status=ready
            break
        fi
        kill -0 "$api_pid" 2>/dev/null || { status=exited && break; }
        elapsed=$(since "$started")
        ((${elapsed%.*} < ready_timeout)) || break
        if ((${elapsed%.*} >= next_report)); then
            echo "  ${elapsed} s, not ready: $(grep 'loading data version' "$log" | tail -n1 || true)"
            next_report=$((next_report + 60))
        fi
        sleep 0.1
    done
    ready_s=$(since "$started")
    unreachable=$(grep -c 'database unreachable' "$log" || true)
    if [[ $status != ready ]]; then
        what="never ready within $ready_timeout s"
        [[ $status == never ]] || what="exited before ready"
        failures=$(grep -c 'could not refresh' "$log" || true)
        hwm=n/a
        [[ $status != never ]] || hwm=$(proc_mib "$api_pid" VmHWM)
        echo "RESULT $label ready status=${what// /_} seconds=$ready_s unreachable_lines=$unreachable" \
            "refresh_failures=$failures hwm_mib=$hwm"
        echo "  last log lines:" && tail -n 3 "$log" | sed 's/^/    /'
        summary[$label]="  $what (${ready_s} s; $unreachable \"database unreachable\", $failures failed refreshes)"
        kill "$api_pid" 2>/dev/null || true
        wait "$api_pid" 2>/dev/null || true
        api_pid=
        continue
    fi
    readyz=$(cat "$work/readyz.json")
    ready_version=$(grep -o '"data_version":[0-9]*' <<<"$readyz" | cut -d: -f2)
    ready_events=$(grep -o '"events":[0-9]*' <<<"$readyz" | cut -d: -f2)
    load_ms=$(sed -n 's/.*loaded data version [0-9]*: [0-9]* events, [0-9]* bytes of JSON in \([0-9]*\) ms.*/\1/p' "$log" |
        tail -n1)
    echo "RESULT $label ready status=ready seconds=$ready_s load_ms=${load_ms:-n/a} data_version=$ready_version" \
        "events=$ready_events unreachable_lines=$unreachable"

    # 2. Steady memory.
    sleep 2
    rss=$(proc_mib "$api_pid" VmRSS)
    hwm=$(proc_mib "$api_pid" VmHWM)
    json_bytes=$(metric "$port" marquee_api_snapshot_bytes)
    json_mib=$(awk -v b="$json_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
    rss_ratio=$(ratio "$rss" "$json_mib")
    echo "RESULT $label memory rss_mib=$rss hwm_mib=$hwm snapshot_json_mib=$json_mib rss_over_json=$rss_ratio"

    # 3. Visibility of CHANGES changes, and the peak RSS they cause.
    echo 5 >"/proc/$api_pid/clear_refs"
    loads_before=$(metric "$port" marquee_api_snapshot_loads_total)
    deltas_before=$(metric "$port" marquee_api_snapshot_deltas_total)
    python3 "$here/change.py" visibility --port "$port" --changes "$changes" --events "$change_events" \
        --seeded "$events" --tag "b${i}v" --timeout "$visible_timeout" --pid "$api_pid" >"$work/$label-visibility.txt"
    sed -e '/^RESULT/d' -e 's/^/  /' "$work/$label-visibility.txt"
    visibility=$(sed -n 's/^RESULT //p' "$work/$label-visibility.txt")
    peak=$(proc_mib "$api_pid" VmHWM)
    rss_after=$(proc_mib "$api_pid" VmRSS)
    loads=$(metric "$port" marquee_api_snapshot_loads_total)
    deltas=$(metric "$port" marquee_api_snapshot_deltas_total)
    [[ $deltas == n/a ]] || deltas=$((deltas - deltas_before))
    echo "RESULT $label visibility $visibility peak_hwm_mib=$peak rss_mib=$rss_after" \
        "peak_over_steady=$(ratio "$peak" "$rss") full_loads=$((loads - loads_before)) deltas=$deltas"

    # The mix's answers, once: how many bytes the throughput runs move.
    if ((mix_described == 0)); then
        mix_described=1
        MIX_PATHS_OUT=$work/mix-paths wrk -t1 -c1 -d1s -s "$root/bench/api/mix.lua" "http://127.0.0.1:$port/" >/dev/null
        awk -v base="http://127.0.0.1:$port" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base, $0 }' \
            "$work/mix-paths" >"$work/mix-curl.conf"
        curl -s -K "$work/mix-curl.conf" -w '%{http_code} %{size_download}\n' | awk '
            $1 == 200 { n++; bytes += $2; if ($2 > largest) largest = $2 }
            END { printf "mix: %d paths, %d answered 200, average answer %.0f KB, largest %.0f KB\n",
                  NR, n, bytes / n / 1024, largest / 1024 }'
    fi

    # 4. Throughput without changes, then with one change a second, ROUNDS times interleaved.
    run_wrk "$port" 2s "$work/$label-wrk-warmup.txt" >/dev/null
    quiet_rps=
    quiet_p99=
    busy_rps=
    busy_p99=
    busy_peak=0
    for ((round = 1; round <= rounds; round++)); do
        quiet=$(run_wrk "$port" "$duration" "$work/$label-wrk-quiet-$round.txt")
        echo "RESULT $label wrk-quiet round=$round $quiet"
        quiet_rps+=" $(field "$quiet" req_per_s)"
        quiet_p99+=" $(field "$quiet" p99_ms)"
        loads_before=$(metric "$port" marquee_api_snapshot_loads_total)
        deltas_before=$(metric "$port" marquee_api_snapshot_deltas_total)
        echo 5 >"/proc/$api_pid/clear_refs"
        python3 "$here/change.py" background --events "$change_events" --seeded "$events" --tag "b${i}w${round}x" \
            --seed "$round" >"$work/$label-background-$round.txt" &
        changer_pid=$!
        busy=$(run_wrk "$port" "$duration" "$work/$label-wrk-changes-$round.txt")
        kill -TERM "$changer_pid"
        wait "$changer_pid"
        changer_pid=
        background=$(sed -n 's/^RESULT //p' "$work/$label-background-$round.txt")
        served_version=$(metric "$port" marquee_api_snapshot_data_version)
        loads=$(metric "$port" marquee_api_snapshot_loads_total)
        deltas=$(metric "$port" marquee_api_snapshot_deltas_total)
        [[ $deltas == n/a ]] || deltas=$((deltas - deltas_before))
        round_peak=$(proc_mib "$api_pid" VmHWM)
        ((round_peak <= busy_peak)) || busy_peak=$round_peak
        echo "RESULT $label wrk-changes round=$round $busy $background served_version=$served_version" \
            "full_loads=$((loads - loads_before)) deltas=$deltas peak_hwm_mib=$round_peak"
        busy_rps+=" $(field "$busy" req_per_s)"
        busy_p99+=" $(field "$busy" p99_ms)"
    done
    quiet_rps=$(median "$quiet_rps")
    quiet_p99=$(median "$quiet_p99")
    busy_rps=$(median "$busy_rps")
    busy_p99=$(median "$busy_p99")
    rps_change=$(percent "$busy_rps" "$quiet_rps")
    p99_change=$(percent "$busy_p99" "$quiet_p99")
    echo "RESULT $label changes-vs-quiet rounds=$rounds quiet_req_per_s=$quiet_rps quiet_p99_ms=$quiet_p99" \
        "changes_req_per_s=$busy_rps changes_p99_ms=$busy_p99 req_per_s_pct=$rps_change p99_pct=$p99_change"

    kill "$api_pid"
    wait "$api_pid" || true
    api_pid=
    unreachable=$(grep -c 'database unreachable' "$log" || true)
    summary[$label]=$(printf '  %s\n' \
        "ready after ${ready_s} s (load ${load_ms:-n/a} ms), \"database unreachable\" logged $unreachable times" \
        "steady RSS $rss MiB = ${rss_ratio}x the ${json_mib} MiB of rendered JSON (target <= 1.3)" \
        "visible after: median $(field "$visibility" median_ms) ms, p90 $(field "$visibility" p90_ms) ms," \
        "  max $(field "$visibility" max_ms) ms over $(field "$visibility" changes) changes (target 100 ms at 5 M)" \
        "peak RSS over the changes $peak MiB = $(ratio "$peak" "$rss")x steady (target: no 2x)" \
        "/search quiet $quiet_rps req/s p99 $quiet_p99 ms; one change/s $busy_rps req/s ($rps_change%)" \
        "  p99 $busy_p99 ms ($p99_change%) (target within 10%; ${rounds} round(s), medians)" \
        "peak RSS while serving with changes $busy_peak MiB")
done

echo "== summary ($events events, changes of $change_events events; load now $(cut -d' ' -f1-3 /proc/loadavg))"
echo "seeded in $seed_s s ($searchable searchable)"
for label in "${labels[@]}"; do
    echo "$label:"
    echo "${summary[$label]}"
done
