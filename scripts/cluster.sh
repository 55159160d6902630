#!/usr/bin/env bash
# The whole marquee topology on this machine, natively: HAProxy in front of 3 API replicas (HTTP)
# and of a 3-node RabbitMQ cluster (AMQP), 3 workers, 2 schedulers, PostgreSQL primary + streaming
# replica (the APIs read from the replica and LISTEN on the primary), and provider mocks with
# static feeds. `make cluster` starts it; `make test-cluster` tortures it (tests/cluster/).
#
#   scripts/cluster.sh start  DIR          start what is not running (idempotent); data kept in DIR
#   scripts/cluster.sh stop   DIR          stop everything started under DIR
#   scripts/cluster.sh status DIR          what runs; exit 0 when everything does
#   scripts/cluster.sh clean  DIR          stop, then delete DIR and everything in it
#   scripts/cluster.sh start-member DIR NAME   start one member (waits until it is ready)
#   scripts/cluster.sh stop-member  DIR NAME   stop one member gracefully
#
# Members: api-1..3, worker-1..3, scheduler-1..2, mock-1..N, haproxy, rabbitmq-1..3 (rabbitmq-1 is
# scripts/services.sh's node; postgres and its replica are scripts/services.sh's, see restart-replica).
# Settings (first start; later starts reuse DIR/env): BIN_DIR (default build/bin), CLUSTER_PROVIDERS
# (4), CLUSTER_FEED_EVENTS (events per feed, 2000), CLUSTER_SCHEDULE (each provider's, '@every 10s'),
# CLUSTER_WAIT_SECONDS (bounds each wait, 120).
#
# DIR/env (KEY=VALUE) holds every address: LB_HTTP_PORT (/search, /lb-health), LB_AMQP_PORT,
# LB_STATS_PORT (/stats, /stats;csv), API_n_PORT, WORKER_n_METRICS_PORT, SCHEDULER_n_METRICS_PORT,
# MOCK_n_PORT, RABBITMQ_n_AMQP_PORT, RABBITMQ_n_CTL (a rabbitmqctl for node n), and SERVICES_DIR
# (whose env has the PostgreSQL URLs). Logs: DIR/logs/NAME.log; pids: DIR/run/NAME.pid. Every process
# carries MARQUEE_CLUSTER=NAME@DIR (RabbitMQ and PostgreSQL: MARQUEE_SERVICE=...) in its environment:
# `stop` stops exactly what was started here.
#
# The parts: lib/cluster_members.sh (processes), lib/rabbitmq_cluster.sh (nodes 2 and 3),
# lib/haproxy.sh (its configuration), lib/cluster_providers.sh (feeds, mocks, registration), and
# scripts/services.sh for PostgreSQL and RabbitMQ node 1.

# shellcheck source-path=SCRIPTDIR # the lib/ paths below are relative to this file
set -euo pipefail

scripts=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly scripts root=${scripts%/scripts}
# shellcheck source=lib/common.sh
. "$scripts/lib/common.sh"
# shellcheck source=lib/rabbitmq.sh
. "$scripts/lib/rabbitmq.sh"
# shellcheck source=lib/rabbitmq_cluster.sh
. "$scripts/lib/rabbitmq_cluster.sh"
# shellcheck source=lib/cluster_members.sh
. "$scripts/lib/cluster_members.sh"
# shellcheck source=lib/haproxy.sh
. "$scripts/lib/haproxy.sh"
# shellcheck source=lib/cluster_providers.sh
. "$scripts/lib/cluster_providers.sh"

# lib/common.sh's messages, under this script's name.
say() { echo "cluster: $*"; }
die() {
    echo "cluster: error: $*" >&2
    exit 1
}

readonly WAIT_SECONDS=${CLUSTER_WAIT_SECONDS:-120}
readonly APIS=3 WORKERS=3 SCHEDULERS=2 RABBITMQ_NODES=3

usage() {
    sed -n '7,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

(($# >= 2)) || usage
command=$1
case $command in
    start | stop | status | clean) (($# == 2)) || usage ;;
    start-member | stop-member) (($# == 3)) || usage ;;
    *) usage ;;
esac
if [[ $command != start && ! -d $2 ]]; then
    say "nothing at '$2'"
    [[ $command == stop || $command == clean ]] && exit 0
    exit 1
fi
mkdir -p -- "$2" 2>/dev/null || die "cannot create directory '$2'"
dir=$(cd -- "$2" && pwd -P)
[[ $dir =~ ^/[A-Za-z0-9._/+@=,-]+$ ]] ||
    die "'$dir' contains characters this script does not quote (spaces, quotes, ...); pick a plain path"
readonly dir services_dir=$dir/services env_file=$dir/env
members_configure "$dir"
rmq_cluster_configure "$dir" "$(printf '%s' "$dir" | sha1sum | cut -c1-12)"

# ----------------------------------------------------------------------------------------------------
# settings: DIR/env, and DIR/services/env for PostgreSQL and RabbitMQ node 1

# file_value FILE KEY: the value of KEY in FILE, empty when absent.
file_value() {
    [[ -f $1 ]] || return 0
    sed -n "s/^$2=//p" "$1" | tail -n1
}
setting() { file_value "$env_file" "$1"; }
service_setting() { file_value "$services_dir/env" "$1"; }

# Names of every port DIR/env records, in the order they are picked.
port_keys() {
    local n
    echo LB_HTTP_PORT LB_AMQP_PORT LB_STATS_PORT
    for ((n = 2; n <= RABBITMQ_NODES; n++)); do echo "RABBITMQ_${n}_AMQP_PORT RABBITMQ_${n}_DIST_PORT"; done
    for ((n = 1; n <= APIS; n++)); do echo "API_${n}_PORT"; done
    for ((n = 1; n <= WORKERS; n++)); do echo "WORKER_${n}_METRICS_PORT"; done
    for ((n = 1; n <= SCHEDULERS; n++)); do echo "SCHEDULER_${n}_METRICS_PORT"; done
    for ((n = 1; n <= $1; n++)); do echo "MOCK_${n}_PORT"; done
}

# Every port of the previous start that no other process took meanwhile, new free ones otherwise
# (a member that still runs keeps its port: it is busy, but ours).
write_env() {
    local providers=$1 schedule=$2 events=$3 bin=$4 key port n
    local tmp=$env_file.tmp amqp1 lb_amqp
    local -A ports=()
    for key in $(port_keys "$providers"); do
        port=$(setting "$key")
        if [[ -z $port ]] || { port_busy "$port" && ! port_is_ours "$key"; }; then
            port=$(pick_port "")
        fi
        take_port "$port"
        ports[$key]=$port
    done
    amqp1=$(service_setting AMQP_PORT)
    lb_amqp=${ports[LB_AMQP_PORT]}
    (
        umask 077
        {
            echo "CLUSTER_DIR=$dir"
            echo "SERVICES_DIR=$services_dir"
            echo "BIN_DIR=$bin"
            echo "PROVIDERS=$providers"
            echo "SCHEDULE=$schedule"
            echo "FEED_EVENTS=$events"
            echo "APIS=$APIS"
            echo "WORKERS=$WORKERS"
            echo "SCHEDULERS=$SCHEDULERS"
            echo "RABBITMQ_NODES=$RABBITMQ_NODES"
            for key in $(port_keys "$providers"); do echo "$key=${ports[$key]}"; done
            echo "SEARCH_URL=http://127.0.0.1:${ports[LB_HTTP_PORT]}/search"
            echo "STATS_URL=http://127.0.0.1:${ports[LB_STATS_PORT]}/stats"
            echo "RABBITMQ_1_AMQP_PORT=$amqp1"
            echo "RABBITMQ_1_CTL=$(service_setting RABBITMQ_CTL)"
            echo "RABBITMQ_1_NODE=$(service_setting RABBITMQ_NODENAME)"
            for ((n = 2; n <= RABBITMQ_NODES; n++)); do
                echo "RABBITMQ_${n}_CTL=$(rmq_member_ctl "$n")"
                echo "RABBITMQ_${n}_NODE=$(rmq_member_node "$n")"
            done
            # The programs' URLs: RabbitMQ through the load balancer.
            echo "WORKER_AMQP_URL=$(service_setting WORKER_AMQP_URL | sed "s/@127.0.0.1:$amqp1\//@127.0.0.1:$lb_amqp\//")"
            echo "SCHEDULER_AMQP_URL=$(service_setting SCHEDULER_AMQP_URL | sed "s/@127.0.0.1:$amqp1\//@127.0.0.1:$lb_amqp\//")"
        } >"$tmp"
    )
    mv -f -- "$tmp" "$env_file"
}

# The member (or RabbitMQ node) that KEY's port belongs to runs: its port is busy because of it.
port_is_ours() {
    local key=$1 n
    case $key in
        LB_*) member_running haproxy ;;
        API_*_PORT) n=${key#API_} && member_running "api-${n%_PORT}" ;;
        WORKER_*) n=${key#WORKER_} && member_running "worker-${n%_METRICS_PORT}" ;;
        SCHEDULER_*) n=${key#SCHEDULER_} && member_running "scheduler-${n%_METRICS_PORT}" ;;
        MOCK_*) n=${key#MOCK_} && member_running "mock-${n%_PORT}" ;;
        RABBITMQ_*) n=${key#RABBITMQ_} && rmq_member_running "${n%%_*}" ;;
        *) return 1 ;;
    esac
}

# ----------------------------------------------------------------------------------------------------
# members

start_services() {
    PG_REPLICA=1 SERVICES_WAIT_SECONDS=$WAIT_SECONDS "$scripts/services.sh" start "$services_dir"
}

start_rabbitmq_node() {
    local n=$1
    if ((n == 1)); then
        start_services
        return
    fi
    rmq_member_start "$n" "$(setting "RABBITMQ_${n}_AMQP_PORT")" "$(setting "RABBITMQ_${n}_DIST_PORT")" \
        "$(service_setting RABBITMQ_EPMD_PORT)" "$(service_setting AMQP_PASSWORD)" \
        "$services_dir/rabbitmq-home/.erlang.cookie"
    rmq_member_join "$n" "$(service_setting RABBITMQ_CTL)"
}

stop_rabbitmq_node() {
    local n=$1 ctl
    if ((n == 1)); then
        ctl=$(service_setting RABBITMQ_CTL)
        say "stopping RabbitMQ node $(service_setting RABBITMQ_NODENAME)"
        timeout 90 "$ctl" -q stop "$services_dir/rabbitmq/rabbitmq.pid" >/dev/null 2>&1 ||
            say "rabbitmqctl stop failed (scripts/services.sh stop kills what is left)"
        return
    fi
    rmq_member_stop "$n"
}

# The settings every program of the cluster shares.
common_environment() {
    echo "LOG_LEVEL=${LOG_LEVEL:-info}"
}

start_api() {
    local n=$1 port
    port=$(setting "API_${n}_PORT")
    local -a environment
    mapfile -t environment < <(common_environment)
    # Reads from the replica; told of new data versions by the primary (a hot standby cannot LISTEN).
    member_spawn "api-$n" "${environment[@]}" "DATABASE_URL=$(service_setting API_REPLICA_DATABASE_URL)" \
        "API_NOTIFY_DATABASE_URL=$(service_setting API_DATABASE_URL)" "API_LISTEN=127.0.0.1:$port" \
        API_THREADS=1 -- "$(setting BIN_DIR)/marquee-api"
    member_wait "api-$n" "http://127.0.0.1:$port/readyz"
}

start_worker() {
    local n=$1 port
    port=$(setting "WORKER_${n}_METRICS_PORT")
    local -a environment
    mapfile -t environment < <(common_environment)
    # A deferred job (its provider is being ingested elsewhere) comes back after 1 s, not 5: the
    # schedule is seconds apart.
    member_spawn "worker-$n" "${environment[@]}" "DATABASE_URL=$(service_setting WORKER_DATABASE_URL)" \
        "AMQP_URL=$(setting WORKER_AMQP_URL)" "METRICS_LISTEN=127.0.0.1:$port" WORKER_THREADS=1 \
        WORKER_FIRST_RETRY_MS=1000 -- "$(setting BIN_DIR)/marquee-worker"
    member_wait "worker-$n" "http://127.0.0.1:$port/metrics"
}

start_scheduler() {
    local n=$1 port
    port=$(setting "SCHEDULER_${n}_METRICS_PORT")
    local -a environment
    mapfile -t environment < <(common_environment)
    member_spawn "scheduler-$n" "${environment[@]}" "DATABASE_URL=$(service_setting SCHEDULER_DATABASE_URL)" \
        "AMQP_URL=$(setting SCHEDULER_AMQP_URL)" "METRICS_LISTEN=127.0.0.1:$port" -- \
        "$(setting BIN_DIR)/marquee-scheduler"
    member_wait "scheduler-$n" "http://127.0.0.1:$port/metrics"
}

start_mock() {
    local n=$1
    provider_feed "$dir" "$n" "$(setting FEED_EVENTS)" "$(setting BIN_DIR)"
    provider_mock_start "$dir" "$n" "$(setting "MOCK_${n}_PORT")" "$(setting BIN_DIR)"
}

start_haproxy() {
    local n api_list="" amqp_list=""
    for ((n = 1; n <= APIS; n++)); do api_list+="$(setting "API_${n}_PORT") "; done
    for ((n = 1; n <= RABBITMQ_NODES; n++)); do amqp_list+="$(setting "RABBITMQ_${n}_AMQP_PORT") "; done
    haproxy_write_config "$dir/haproxy.cfg" "$(setting LB_HTTP_PORT)" "$(setting LB_AMQP_PORT)" \
        "$(setting LB_STATS_PORT)" "$api_list" "$amqp_list"
    /usr/sbin/haproxy -c -q -f "$dir/haproxy.cfg" || die "HAProxy rejects $dir/haproxy.cfg"
    member_spawn haproxy -- /usr/sbin/haproxy -db -f "$dir/haproxy.cfg"
    member_wait haproxy "$(setting STATS_URL)"
}

start_member() {
    local name=$1
    case $name in
        api-[1-3]) start_api "${name#api-}" ;;
        worker-[1-3]) start_worker "${name#worker-}" ;;
        scheduler-[1-2]) start_scheduler "${name#scheduler-}" ;;
        mock-[0-9]*) start_mock "${name#mock-}" ;;
        haproxy) start_haproxy ;;
        rabbitmq-[1-3]) start_rabbitmq_node "${name#rabbitmq-}" ;;
        *) die "no member '$name' (api-1..3, worker-1..3, scheduler-1..2, mock-N, haproxy, rabbitmq-1..3)" ;;
    esac
}

stop_member() {
    local name=$1
    case $name in
        rabbitmq-[1-3]) stop_rabbitmq_node "${name#rabbitmq-}" ;;
        api-[1-3] | worker-[1-3] | scheduler-[1-2] | mock-[0-9]* | haproxy) member_stop "$name" ;;
        *) die "no member '$name'" ;;
    esac
}

# Members other than the RabbitMQ nodes, in start order.
app_members() {
    local n
    for ((n = 1; n <= $(setting PROVIDERS); n++)); do echo "mock-$n"; done
    echo haproxy
    for ((n = 1; n <= WORKERS; n++)); do echo "worker-$n"; done
    for ((n = 1; n <= SCHEDULERS; n++)); do echo "scheduler-$n"; done
    for ((n = 1; n <= APIS; n++)); do echo "api-$n"; done
}

# Lines "name,status" of HAProxy's servers (UP, DOWN, MAINT...), from its CSV statistics.
# Nothing when HAProxy does not answer.
haproxy_servers() {
    local csv
    csv=$(curl -fsS --max-time 2 "$(setting STATS_URL);csv" 2>/dev/null) || return 0
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") s = i; next }
             $2 != "FRONTEND" && $2 != "BACKEND" && $1 != "stats" { print $1 "/" $2 "," $s }' <<<"$csv"
}

wait_haproxy_sees_all() {
    local deadline=$((SECONDS + WAIT_SECONDS)) servers
    while :; do
        servers=$(haproxy_servers)
        if [[ -n $servers ]] && ! grep -qv ',UP' <<<"$servers"; then return 0; fi
        ((SECONDS < deadline)) || die "HAProxy does not see every server up within ${WAIT_SECONDS}s: $servers"
        sleep 0.5
    done
}

# ----------------------------------------------------------------------------------------------------
# commands

take_lock() {
    exec 9>"$dir/.lock"
    flock -w 600 9 || die "another scripts/cluster.sh holds $dir/.lock"
}

do_start() {
    take_lock
    local bin=${BIN_DIR:-$(setting BIN_DIR)} providers=${CLUSTER_PROVIDERS:-$(setting PROVIDERS)}
    local schedule=${CLUSTER_SCHEDULE:-$(setting SCHEDULE)} events=${CLUSTER_FEED_EVENTS:-$(setting FEED_EVENTS)}
    bin=${bin:-$root/build/bin}
    bin=$(cd -- "$bin" 2>/dev/null && pwd -P) || die "BIN_DIR '${BIN_DIR:-}' does not exist; run 'make build'"
    local program
    for program in marquee-api marquee-worker marquee-scheduler marquee-migrate marquee-provider-mock; do
        [[ -x $bin/$program ]] || die "$bin/$program does not exist; run 'make build'"
    done
    [[ -x /usr/sbin/haproxy ]] || die "haproxy is not installed; run scripts/install-deps.sh"
    [[ ${providers:-4} =~ ^[1-9][0-9]?$ ]] || die "CLUSTER_PROVIDERS must be 1 to 99, not '$providers'"
    [[ ${events:-2000} =~ ^[1-9][0-9]*$ ]] || die "CLUSTER_FEED_EVENTS must be a positive number, not '$events'"

    start_services
    write_env "${providers:-4}" "${schedule:-@every 10s}" "${events:-2000}" "$bin"
    local n
    for ((n = 2; n <= RABBITMQ_NODES; n++)); do start_rabbitmq_node "$n"; done

    say "migrating"
    local output
    output=$(env "MIGRATIONS_DIR=$root/migrations" "DATABASE_URL=$(service_setting MIGRATE_DATABASE_URL)" \
        timeout "$WAIT_SECONDS" "$bin/marquee-migrate" 2>&1) || die "marquee-migrate failed: $output"

    local name
    for name in $(app_members); do
        start_member "$name"
        if [[ $name == mock-* ]]; then
            n=${name#mock-}
            provider_register "$n" "$(setting "MOCK_${n}_PORT")" "$(setting SCHEDULE)" "$bin" \
                "$(service_setting SCHEDULER_DATABASE_URL)"
        fi
    done
    wait_haproxy_sees_all
    say "ready: /search at $(setting SEARCH_URL) (HAProxy over $APIS APIs), AMQP at 127.0.0.1:$(setting LB_AMQP_PORT)" \
        "(HAProxy over $RABBITMQ_NODES RabbitMQ nodes), $WORKERS workers, $SCHEDULERS schedulers," \
        "$(setting PROVIDERS) providers ('$(setting SCHEDULE)'); HAProxy stats $(setting STATS_URL);" \
        "settings in $env_file, logs in $members_logs"
}

do_stop() {
    take_lock
    local name n
    local -a names=()
    if [[ -f $env_file ]]; then mapfile -t names < <(app_members); fi
    for ((n = ${#names[@]} - 1; n >= 0; n--)); do member_stop "${names[n]}"; done
    # Leftovers of members no longer listed (fewer providers than an earlier start).
    for name in "$members_run"/*.pid; do
        [[ -e $name ]] || continue
        name=${name##*/}
        member_stop "${name%.pid}"
    done
    # Node 1 stops last, so it is the one to start first next time (RabbitMQ's rule for clusters).
    for ((n = RABBITMQ_NODES; n >= 2; n--)); do
        [[ -d $(rmq_member_dir "$n") ]] && rmq_member_stop "$n"
    done
    if [[ -d $services_dir ]]; then "$scripts/services.sh" stop "$services_dir"; fi
    say "stopped ($dir)"
}

do_status() {
    local ok=0 name n servers
    [[ -f $env_file ]] || die "$dir was never started"
    "$scripts/services.sh" status "$services_dir" || ok=1
    for ((n = 2; n <= RABBITMQ_NODES; n++)); do
        if rmq_member_running "$n"; then
            say "RabbitMQ node $(rmq_member_node "$n") running on 127.0.0.1:$(setting "RABBITMQ_${n}_AMQP_PORT")"
        else
            say "RabbitMQ node $n not running"
            ok=1
        fi
    done
    for name in $(app_members); do
        if member_running "$name"; then say "$name running (pid $(member_pid "$name"))"; else
            say "$name not running"
            ok=1
        fi
    done
    servers=$(haproxy_servers)
    say "HAProxy sees: $(tr '\n' ' ' <<<"${servers:-nothing (not running?)}")"
    say "quorum queues (name, type, members, leader):"
    timeout 60 "$(service_setting RABBITMQ_CTL)" -q list_queues name type members leader 2>&1 | sed 's/^/    /' || ok=1
    return $ok
}

do_clean() {
    do_stop
    # A cluster kept in /var/tmp (see lib/postgres.sh) goes with its link.
    local link
    for link in "$services_dir/pg" "$services_dir/pg-replica"; do
        if [[ -L $link ]]; then rm -rf -- "$(readlink -f -- "$link")"; fi
    done
    rm -rf -- "$dir"
    say "removed $dir"
}

case $command in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    clean) do_clean ;;
    start-member)
        [[ -f $env_file ]] || die "$dir was never started; run: $0 start $dir"
        take_lock
        start_member "$3"
        ;;
    stop-member)
        [[ -f $env_file ]] || die "$dir was never started"
        take_lock
        stop_member "$3"
        ;;
esac
