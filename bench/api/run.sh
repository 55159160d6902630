#!/usr/bin/env bash
# The API benchmark, reproducible: PostgreSQL from scripts/services.sh, 100,000 seeded events
# (seed.sql), marquee-api on API_THREADS threads, then wrk with the same load against
#   - marquee-api: a fixed SMALL query (3 events), a fixed LARGE query (1,000 events), the mixed
#     workload (mix.lua: narrow, day, week, open-ended and invalid ranges) and the fixed requests
#     beyond the spec: PAGE (the second page of 50, by cursor), Q (title words, a page of 50),
#     NAME (title words naming one event among 100,000), PRICE (price_max, a page of 50), DETAIL
#     (GET /events/{id}, served from the API's event cache);
#   - the ceilings, in the same run and with the same bytes: the minimal Beast server
#     (ceiling_server.cpp) and nginx serving each body as a static file (small and large); for the
#     mix, the Beast server answering mix.lua's 2,000 paths with the answers recorded from marquee-api;
#   - LIMITED=1: also a second marquee-api with rate limiting on at a limit no client reaches
#     (API_RATE_LIMIT=1000000), "limited-small" and "limited-mix" runs next to "api-*".
# Prints one RESULT line per run, marquee-api's RSS and the RSS budget (3 x rendered JSON + 50 MB),
# and with REPEAT > 1 the median of each run's figures and of the mix's p99 over the small query's
# p99 on the Beast ceiling, pair by pair.
#
#   bench/api/run.sh [BUILD_DIR]     (default: build)
#   env: DURATION=15s CONNECTIONS=64 WRK_THREADS=1 API_THREADS=2 BASE_PORT=18180
#        RUNS="small large mix"  (also: page q name price detail)
#        BENCH_WORK=BUILD_DIR/bench-api (services, logs and bodies)
#        REPEAT=1      the RUNS list this many times over, interleaved (same sitting)
#        BEFORE=DIR    also DIR/bin/marquee-api, on the same data: "before-*" runs just before "api-*"
#        NGINX=1       0 skips the nginx runs
#        LIMITED=0     1 adds the rate-limited marquee-api
#        WRK_CPUS=     a taskset CPU list for wrk; SERVER_CPUS= one for the servers (default: any)
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
repeat=${REPEAT:-1}
before=${BEFORE:+$(cd "$BEFORE" && pwd -P)}
with_nginx=${NGINX:-1}
with_limited=${LIMITED:-0}
api_port=$base_port
nginx_port=$((base_port + 3))
before_port=$((base_port + 4))
ceiling_mix_port=$((base_port + 5))
limited_port=$((base_port + 6))
# small and large always (nginx serves them), the others when RUNS names them.
fixed_runs=(small large)
for run in page q name price detail; do [[ " $runs " != *" $run "* ]] || fixed_runs+=("$run"); done
declare -A ceiling_port
for i in "${!fixed_runs[@]}"; do ceiling_port[${fixed_runs[$i]}]=$((base_port + 10 + i)); done
on_cpus() {  # CPU_LIST COMMAND...: COMMAND on those CPUs, or anywhere when the list is empty
    local cpus=$1
    shift
    if [[ -n $cpus ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
export BENCH_API_DIR=$here

# The fixed requests (the seed is deterministic, so are their answers); page and detail are
# completed once the API runs (a cursor, an id).
declare -A target
target[small]="/search?starts_at=2021-06-30T00:00:00Z&ends_at=2021-06-30T02:15:00Z"  # 3 events
target[large]="/search?starts_at=2021-06-30T00:00:00Z&ends_at=2021-07-03T19:15:00Z"  # 1,000 events
first_page="/search?starts_at=2021-06-30T00:00:00Z&limit=50"
target[q]="/search?q=caf+live&limit=50"                                           # 1 title in 7
target[name]="/search?q=bench+event+42424"                                        # 1 of 100,000
target[price]="/search?starts_at=2021-06-30T00:00:00Z&price_max=10&limit=50"      # 12% of events

mkdir -p "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash "$root/scripts/services.sh" stop "$work/services" >/dev/null 2>&1 || true
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

results=$work/results.txt
: >"$results"
run_wrk() {  # NAME URL SCRIPT
    local out result
    out=$(on_cpus "${WRK_CPUS:-}" wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$here/$3" "$2")
    echo "$out" >"$work/wrk-$1.txt"
    result=$(grep '^RESULT' <<<"$out" | cut -d' ' -f2-)
    echo "$1 $result" >>"$results"
    printf '%-16s %s  load %s\n' "$1:" "$result" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "== $(date -u +%FT%TZ) machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(uname -sr); duration $duration, $connections connections, wrk $wrk_threads thread(s)," \
    "marquee-api $api_threads thread(s); load $(cut -d' ' -f1-3 /proc/loadavg);" \
    "wrk on CPUs ${WRK_CPUS:-any}, servers on CPUs ${SERVER_CPUS:-any}"

bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$work/services/env"
set +a
db=marquee_bench_api
psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="${DATABASE_URL%/*}/$db"
for migration in "$root"/migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$migration"; done
psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/seed.sql"

on_cpus "${SERVER_CPUS:-}" "$build/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$api_port" \
    --threads "$api_threads" --log-level warn 2>"$work/marquee-api.log" &
api_pid=$!
pids+=("$api_pid")
wait_http "http://127.0.0.1:$api_port/readyz"
if ((with_limited != 0)); then
    on_cpus "${SERVER_CPUS:-}" "$build/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$limited_port" \
        --threads "$api_threads" --log-level warn --rate-limit 1000000 --rate-burst 1000000 \
        2>"$work/marquee-api-limited.log" &
    pids+=("$!")
    wait_http "http://127.0.0.1:$limited_port/readyz"
fi
if [[ -n $before ]]; then
    on_cpus "${SERVER_CPUS:-}" "$before/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$before_port" \
        --threads "$api_threads" --log-level warn 2>"$work/marquee-api-before.log" &
    pids+=("$!")
    wait_http "http://127.0.0.1:$before_port/readyz"
fi

# The ceilings serve exactly the bodies marquee-api answers the fixed requests with.
cursor=$(curl -sf "http://127.0.0.1:$api_port$first_page" | sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p')
target[page]="$first_page&cursor=$cursor"
target[detail]="/events/$(psql -At -d "$db" -c "SELECT md5('bench-42424')::uuid")"
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
count() { grep -o '"id":' "$1" | wc -l; }
for run in "${fixed_runs[@]}"; do
    curl -sf "http://127.0.0.1:$api_port${target[$run]}" >"$work/nginx/www/$run.json" || {
        echo "no 200 from marquee-api for $run: ${target[$run]}" >&2
        exit 1
    }
    echo "body $run: $(count "$work/nginx/www/$run.json") ids, $(wc -c <"$work/nginx/www/$run.json") bytes (${target[$run]})"
done

# The mix's answers, status and bytes, as marquee-api gives them (the paths come from mix.lua).
mkdir -p "$work/mix"
MIX_PATHS_OUT=$work/mix/paths wrk -t1 -c1 -d1s -s "$here/mix.lua" "http://127.0.0.1:$api_port/" >/dev/null
awk -v base="http://127.0.0.1:$api_port" '{ printf "url = \"%s%s\"\noutput = \"%d.json\"\n", base, $0, NR }' \
    "$work/mix/paths" >"$work/mix/curl.conf"
(cd "$work/mix" && curl -s -K curl.conf -w '%{http_code}\n' >codes)
paste -d' ' "$work/mix/codes" "$work/mix/paths" | awk '{ print $1, $2, NR ".json" }' >"$work/mix/index"
echo "mix answers: $(wc -l <"$work/mix/index") paths, $(cat "$work/mix"/*.json | wc -c) bytes"

for run in "${fixed_runs[@]}"; do
    on_cpus "${SERVER_CPUS:-}" "$build/bin/marquee-bench-api-ceiling" "${ceiling_port[$run]}" \
        "$work/nginx/www/$run.json" "$api_threads" &
    pids+=("$!")
done
on_cpus "${SERVER_CPUS:-}" "$build/bin/marquee-bench-api-ceiling" "$ceiling_mix_port" "$work/mix" "$api_threads" &
pids+=("$!")
sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$api_threads|g" \
    "$here/nginx.conf.in" >"$work/nginx/nginx.conf"
if ((with_nginx != 0)); then
    on_cpus "${SERVER_CPUS:-}" nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" \
        -g 'daemon off;' 2>"$work/nginx/stderr.log" &
    pids+=("$!")
fi
for run in "${fixed_runs[@]}"; do wait_http "http://127.0.0.1:${ceiling_port[$run]}/"; done
wait_http "http://127.0.0.1:$ceiling_mix_port$(awk '$1 == 200 { print $2; exit }' "$work/mix/index")"
((with_nginx == 0)) || wait_http "http://127.0.0.1:$nginx_port/small.json"

for ((round = 1; round <= repeat; round++)); do
    ((repeat == 1)) || echo "-- round $round of $repeat"
    for run in $runs; do
        case $run in
            small | large | page | q | name | price | detail)
                run_wrk "beast-$run" "http://127.0.0.1:${ceiling_port[$run]}${target[$run]}" fixed.lua
                # Only small and large exist in the spec: what a build before the extensions answers.
                [[ -z $before || ! $run =~ ^(small|large)$ ]] ||
                    run_wrk "before-$run" "http://127.0.0.1:$before_port${target[$run]}" fixed.lua
                run_wrk "api-$run" "http://127.0.0.1:$api_port${target[$run]}" fixed.lua
                [[ $with_limited == 0 || $run != small ]] ||
                    run_wrk "limited-$run" "http://127.0.0.1:$limited_port${target[$run]}" fixed.lua
                [[ $with_nginx == 0 || ! $run =~ ^(small|large)$ ]] ||
                    run_wrk "nginx-$run" "http://127.0.0.1:$nginx_port/$run.json" fixed.lua
                ;;
            mix)
                run_wrk beast-mix "http://127.0.0.1:$ceiling_mix_port/" mix.lua
                [[ -z $before ]] || run_wrk before-mix "http://127.0.0.1:$before_port/" mix.lua
                run_wrk api-mix "http://127.0.0.1:$api_port/" mix.lua
                ((with_limited == 0)) || run_wrk limited-mix "http://127.0.0.1:$limited_port/" mix.lua
                ;;
            *) echo "unknown run $run" >&2 ;;
        esac
    done
done

if ((repeat > 1)); then
    # Medians over the rounds; "mix p99 / beast-small p99" pairs each round's mix with the same
    # round's ceiling, so a load change between rounds moves both.
    echo "== medians over $repeat rounds"
    awk '
        function field(name,   i, kv) {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
        }
        function median(list,   n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        !($1 in seen) { seen[$1] = 1; order[++names] = $1 }
        {
            rps[$1] = rps[$1] " " field("req_per_s"); p99[$1] = p99[$1] " " field("p99_ms")
            p50[$1] = p50[$1] " " field("p50_ms"); p999[$1] = p999[$1] " " field("p999_ms")
            if ($1 == "beast-small") ceiling = field("p99_ms")
            if ($1 ~ /^(api|before)-mix$/ && ceiling != "") ratio[$1] = ratio[$1] " " field("p99_ms") / ceiling
        }
        END {
            for (k = 1; k <= names; k++) {
                n = order[k]
                printf "%-16s req_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f", n ":", median(rps[n]), \
                    median(p50[n]), median(p99[n]), median(p999[n])
                if (n in ratio) printf "  p99/beast-small p99=%.2f (each round:%s)", median(ratio[n]), ratio[n]
                printf "\n"
            }
        }' "$results"
fi

metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name { printf "%d", $2 }'; }
for server in api:$api_port ${before:+before:$before_port}; do
    hits=$(metric "${server#*:}" marquee_api_response_cache_hits_total)
    misses=$(metric "${server#*:}" marquee_api_response_cache_misses_total)
    echo "${server%%:*} response cache: $hits hits, $misses misses ($((100 * hits / (hits + misses + 1)))% hits)"
done
rss_kib=$(ps -o rss= -p "$api_pid" | xargs)
json_bytes=$(curl -s "http://127.0.0.1:$api_port/metrics" | awk '/^marquee_api_snapshot_bytes /{printf "%d", $2}')
echo "marquee-api RSS: $((rss_kib / 1024)) MiB; budget 3 x $((json_bytes / 1048576)) MiB rendered JSON + 50 MiB =" \
    "$(((3 * json_bytes + 50 * 1048576) / 1048576)) MiB"
