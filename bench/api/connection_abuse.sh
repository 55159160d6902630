#!/usr/bin/env bash
# The API under connection abuse: a client doing about 5,000 req/s (wrk, fixed small query; each
# connection waits CONNECTIONS/RATE s before each request, so the rate is held rather than maximised,
# and lands a little under RATE since each answer's latency adds to the wait) while IDLE keep-alive connections sit idle
# after one request each and SLOW connections trickle header bytes (one byte per connection every
# 100 ms, reconnecting when the read timeout cuts them off). Runs the client alone first, then under
# abuse, and prints one RESULT line each, the API's RSS and its connection metrics.
#
#   bench/api/connection_abuse.sh [BUILD_DIR]     (default: build)
#   env: DURATION=20s RATE=5600 CONNECTIONS=56 IDLE=5000 SLOW=500 API_THREADS=2 BASE_PORT=18200
#        BENCH_WORK=BUILD_DIR/bench-api-abuse (services, logs)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
build=$(cd "${1:-$root/build}" && pwd -P)
work=${BENCH_WORK:-$build/bench-api-abuse}
duration=${DURATION:-20s}
rate=${RATE:-5600}
connections=${CONNECTIONS:-56}
idle=${IDLE:-5000}
slow=${SLOW:-500}
api_threads=${API_THREADS:-2}
port=${BASE_PORT:-18200}
export BENCH_API_DIR=$here
small="/search?starts_at=2021-06-30T00:00:00Z&ends_at=2021-06-30T02:15:00Z"  # 3 events

mkdir -p "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
# Our own sockets: the abusers and wrk run from this shell's children.
ulimit -Sn "$(ulimit -Hn)"

echo "== $(date -u +%FT%TZ) machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(uname -sr); $rate req/s over $connections connections for $duration; $idle idle + $slow slow" \
    "connections; marquee-api $api_threads thread(s); load $(cut -d' ' -f1-3 /proc/loadavg)"

bash "$root/scripts/services.sh" start "$work/services" >/dev/null
set -a
# shellcheck source=/dev/null # DIR/env exists only once services.sh start has written it
. "$work/services/env"
set +a
db=marquee_bench_abuse
psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="${DATABASE_URL%/*}/$db"
for migration in "$root"/migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$migration"; done
psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/seed.sql"

# Default timeouts (read 10 s, idle 60 s) and cap (10,000, fitted to the open-file limit).
"$build/bin/marquee-api" --database-url "$url" --api-listen "127.0.0.1:$port" --threads "$api_threads" \
    --log-level info 2>"$work/marquee-api.log" &
api_pid=$!
pids+=("$api_pid")
for _ in $(seq 600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true) == 200 ]] && break
    sleep 0.1
done

# wrk at a held rate: each connection waits connections/rate seconds before each request.
cat >"$work/abuse.lua" <<EOF
dofile(os.getenv("BENCH_API_DIR") .. "/report.lua")
function delay() return $((1000 * connections / rate)) end
EOF

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2}'; }
rss() { echo "$(($(ps -o rss= -p "$api_pid" | xargs) / 1024)) MiB"; }
run_wrk() {  # NAME
    local out
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency -s "$work/abuse.lua" "http://127.0.0.1:$port$small")
    echo "$out" >"$work/wrk-$1.txt"
    printf '%-8s %s  load %s  RSS %s\n' "$1:" "$(grep '^RESULT' <<<"$out" | cut -d' ' -f2-)" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$(rss)"
}

run_wrk alone

# The abusers: IDLE connections each answered once and then silent, SLOW ones trickling a header.
python3 - "$port" "$idle" "$slow" "$work/abusers.ready" "$work/abusers.stop" >"$work/abusers.log" 2>&1 <<'EOF' &
import os, resource, socket, sys, time
port, idle, slow, ready, stop = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for i in range(idle):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b'"alive"},"error":null}'):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit(f"idle connection {i} closed before its answer")
        answer += chunk
    held.append(s)
header = b"GET /search HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
trickle = [None] * slow
sent = [0] * slow
cut_off = 0
open(ready, "w").close()
while not os.path.exists(stop):
    for i in range(slow):
        try:
            if trickle[i] is None:
                trickle[i] = socket.create_connection(("127.0.0.1", port))
                trickle[i].setblocking(False)
                sent[i] = 0
            k = sent[i] % len(header)
            trickle[i].send(header[k:k + 1])
            sent[i] += 1
        except OSError:
            cut_off += 1
            trickle[i].close()
            trickle[i] = None
    time.sleep(0.1)
alive = 0
for s in held:
    s.setblocking(False)
    try:
        alive += 0 if s.recv(1) == b"" else 1
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print(f"idle connections still open: {alive} of {idle}; slow connections cut off by the read timeout: {cut_off}")
EOF
abusers=$!
pids+=("$abusers")
for _ in $(seq 1200); do
    [[ -e $work/abusers.ready ]] && break
    kill -0 "$abusers" 2>/dev/null || { cat "$work/abusers.log" >&2; exit 1; }
    sleep 0.1
done
sleep 2  # let the slow senders' trickle settle in
echo "abusers: $(metric marquee_api_connections_open) connections open, RSS $(rss)"

run_wrk abused

touch "$work/abusers.stop"
wait "$abusers" || true
cat "$work/abusers.log"
echo "marquee-api: connections max $(metric marquee_api_connections_max)," \
    "evicted $(metric marquee_api_connections_evicted_total), rejected $(metric marquee_api_connections_rejected_total)," \
    "accept failures $(metric marquee_api_accept_failures_total); RSS $(rss)"
rm -f "$work/abusers.ready" "$work/abusers.stop"
