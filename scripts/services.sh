#!/usr/bin/env bash
# Private PostgreSQL 15 and RabbitMQ instances for tests and `make run`, all state under one directory.
#
#   scripts/services.sh start  DIR   start them (idempotent: reports when already running)
#   scripts/services.sh stop   DIR   stop them gracefully, then kill whatever of ours is left
#   scripts/services.sh status DIR   exit 0 when all run, 1 otherwise
#   scripts/services.sh restart-replica DIR   stop the replica (-m fast), start it, wait until it streams
#
# PG_REPLICA=1 with `start` adds a streaming replica (hot standby) of PostgreSQL in DIR/pg-replica;
# DIR/env remembers it, so later commands need not repeat it; PG_REPLICA=0 removes it again.
# Ports are free loopback ports (reused from the previous start when still free); override with
# PG_PORT / PG_REPLICA_PORT / AMQP_PORT. SERVICES_WAIT_SECONDS bounds each wait (default 120).
# After `start`, DIR/env holds KEY=VALUE lines (no quoting needed; DIR may not contain spaces);
# `set -a; . DIR/env; set +a` exports them into a shell:
#   DATABASE_URL  postgresql://marquee:PW@127.0.0.1:PORT/marquee   (role marquee is SUPERUSER)
#   AMQP_URL      amqp://marquee:PW@127.0.0.1:PORT/%2F            (administrator, full rights on /)
#   MIGRATE_DATABASE_URL API_DATABASE_URL WORKER_DATABASE_URL SCHEDULER_DATABASE_URL
#                 the least-privilege roles marquee_migrate (owner of database marquee), marquee_api,
#                 marquee_worker, marquee_scheduler (docs/adr/0015), for `make run`
#   WORKER_AMQP_URL SCHEDULER_AMQP_URL   RabbitMQ users marquee_worker, marquee_scheduler (no tags)
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE   so plain `psql` works after sourcing
#   AMQP_PORT AMQP_USER AMQP_PASSWORD RABBITMQ_NODENAME
#   RABBITMQ_CTL  an executable wrapper: "$RABBITMQ_CTL" list_vhosts talks to this node
#   SERVICES_DIR PG_DATA PG_SOCKET_DIR PG_LOG RABBITMQ_LOG_DIR
# and, only with the replica (which has replayed all the primary had when `start` returned):
#   REPLICA_DATABASE_URL      DATABASE_URL on the replica's port (read-only: it is in recovery)
#   API_REPLICA_DATABASE_URL  API_DATABASE_URL on the replica's port
#   PG_REPLICA_PORT PG_REPLICA_DATA PG_REPLICA_LOG
#
# Several DIRs can run side by side: each has its own ports, Erlang node name, epmd port and cookie.
# Every process started here carries MARQUEE_SERVICE=<kind>@DIR in its environment; `stop` uses
# that tag to find leftovers, so it never touches anybody else's processes.
#
# This file is the command line and the start/stop order; the parts live in scripts/lib/:
# common.sh (messages, tagged processes, ports), postgres.sh (the cluster), pg_replica.sh (its
# replica), rabbitmq.sh (the node).

# shellcheck source-path=SCRIPTDIR # the lib/ paths below are relative to this file
set -euo pipefail

lib=$(dirname -- "${BASH_SOURCE[0]}")/lib
# shellcheck source=lib/common.sh
. "$lib/common.sh"
# shellcheck source=lib/postgres.sh
. "$lib/postgres.sh"
# shellcheck source=lib/pg_replica.sh
. "$lib/pg_replica.sh"
# shellcheck source=lib/rabbitmq.sh
. "$lib/rabbitmq.sh"

# One start or stop at a time per user: concurrent starts would race for the same free ports.
readonly LOCK_FILE=${TMPDIR:-/tmp}/marquee-services-$EUID.lock
# Bounds each wait for a service (used by lib/postgres.sh and lib/rabbitmq.sh).
readonly WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-120}

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

(($# == 2)) || usage
command=$1
case $command in start | stop | status | restart-replica) ;; *) usage ;; esac

if [[ $command != start && ! -d $2 ]]; then
    say "nothing at '$2'"
    [[ $command == stop ]] && exit 0
    exit 1
fi
mkdir -p -- "$2" 2>/dev/null || die "cannot create directory '$2'"
dir=$(cd -- "$2" && pwd -P)
[[ $dir =~ ^/[A-Za-z0-9._/+@=,-]+$ ]] ||
    die "'$dir' contains characters this script does not quote (spaces, quotes, ...); pick a plain path"
readonly dir
readonly env_file=$dir/env
dir_hash=$(printf '%s' "$dir" | sha1sum | cut -c1-12)
readonly dir_hash
pg_configure "$dir" "$dir_hash"
pg_replica_configure "$dir" "$dir_hash"
rmq_configure "$dir" "$dir_hash"

# ----------------------------------------------------------------------------------------------------
# DIR/env

# Value of KEY in the previous DIR/env, empty when absent.
previous() {
    [[ -f $env_file ]] || return 0
    sed -n "s/^$1=//p" "$env_file" | tail -n1
}

# Values of this start that DIR/env records, by key; the previous DIR/env fills in the rest.
declare -A state=()
previous_or_state() { echo "${state[$1]:-$(previous "$1")}"; }

write_env() {
    local pg_port=$1 pg_password=$2 amqp_port=$3 amqp_password=$4
    local tmp=$env_file.tmp replica_port=${state[PG_REPLICA_PORT]:-}
    (
        umask 077
        cat >"$tmp" <<ENV
DATABASE_URL=postgresql://marquee:$pg_password@127.0.0.1:$pg_port/marquee
AMQP_URL=amqp://marquee:$amqp_password@127.0.0.1:$amqp_port/%2F
MIGRATE_DATABASE_URL=postgresql://marquee_migrate:$pg_password@127.0.0.1:$pg_port/marquee
API_DATABASE_URL=postgresql://marquee_api:$pg_password@127.0.0.1:$pg_port/marquee
WORKER_DATABASE_URL=postgresql://marquee_worker:$pg_password@127.0.0.1:$pg_port/marquee
SCHEDULER_DATABASE_URL=postgresql://marquee_scheduler:$pg_password@127.0.0.1:$pg_port/marquee
WORKER_AMQP_URL=amqp://marquee_worker:$amqp_password@127.0.0.1:$amqp_port/%2F
SCHEDULER_AMQP_URL=amqp://marquee_scheduler:$amqp_password@127.0.0.1:$amqp_port/%2F
PGHOST=127.0.0.1
PGPORT=$pg_port
PGUSER=marquee
PGPASSWORD=$pg_password
PGDATABASE=marquee
AMQP_PORT=$amqp_port
AMQP_USER=marquee
AMQP_PASSWORD=$amqp_password
RABBITMQ_NODENAME=$rmq_node
RABBITMQ_CTL=$rmq_ctl
RABBITMQ_DIST_PORT=$(previous_or_state RABBITMQ_DIST_PORT)
RABBITMQ_EPMD_PORT=$(previous_or_state RABBITMQ_EPMD_PORT)
RABBITMQ_LOG_DIR=$rmq_log_dir
SERVICES_DIR=$dir
PG_DATA=$(pg_data)
PG_SOCKET_DIR=$(pg_socket_dir)
PG_LOG=$(pg_log)
ENV
        if [[ -n $replica_port ]]; then
            cat >>"$tmp" <<ENV
PG_REPLICA_PORT=$replica_port
REPLICA_DATABASE_URL=postgresql://marquee:$pg_password@127.0.0.1:$replica_port/marquee
API_REPLICA_DATABASE_URL=postgresql://marquee_api:$pg_password@127.0.0.1:$replica_port/marquee
PG_REPLICA_DATA=$(pg_replica_data)
PG_REPLICA_LOG=$(pg_replica_log)
ENV
        fi
    )
    mv -f -- "$tmp" "$env_file"
}

take_lock() {
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "could not take $LOCK_FILE within 600s"
}

# ----------------------------------------------------------------------------------------------------
# commands

do_start() {
    take_lock
    [[ -x $PG_BIN/postgres ]] || die "PostgreSQL 15 is not installed; run scripts/install-deps.sh"
    [[ -x $RMQ_BIN/rabbitmq-server ]] || die "rabbitmq-server is not installed; run scripts/install-deps.sh"

    # PG_REPLICA=1 or 0 decides; unset, the previous start's choice holds.
    local replica=0
    case ${PG_REPLICA:-} in
        1) replica=1 ;;
        0) ;;
        '') [[ -z $(previous PG_REPLICA_PORT) ]] || replica=1 ;;
        *) die "PG_REPLICA must be 1 or 0, not '$PG_REPLICA'" ;;
    esac

    pg_prepare_root
    local pg_password amqp_password pg_port replica_port="" amqp_port dist_port epmd_port
    pg_password=$(previous PGPASSWORD)
    [[ -n $pg_password ]] || pg_password=$(random_secret)
    amqp_password=$(previous AMQP_PASSWORD)
    [[ -n $amqp_password ]] || amqp_password=$(random_secret)

    # PostgreSQL
    pg_init
    if pg_running; then
        pg_port=$(pg_running_port)
        [[ -z ${PG_PORT:-} || ${PG_PORT} == "$pg_port" ]] ||
            die "PostgreSQL of $dir already runs on port $pg_port, not PG_PORT=$PG_PORT; stop it first"
        take_port "$pg_port"
        say "PostgreSQL already running on 127.0.0.1:$pg_port"
    else
        # Leftovers of a crash (backends of a killed postmaster hold its shared memory, a stale
        # postmaster.pid or socket lock file names a dead or zombie pid) would stop the new postmaster.
        kill_tagged "$pg_tag" PostgreSQL
        rm -f -- "$(pg_data)/postmaster.pid" "$(pg_socket_dir)"/.s.PGSQL.*
        if [[ -n ${PG_PORT:-} ]]; then
            port_busy "$PG_PORT" && die "PG_PORT=$PG_PORT is already in use"
            pg_port=$(pick_port "$PG_PORT")
        else
            pg_port=$(pick_port "$(previous PGPORT)")
        fi
        take_port "$pg_port"
        pg_start "$pg_port"
    fi
    pg_provision "$pg_port" "$pg_password"

    # PostgreSQL replica
    if ((replica)); then
        pg_replica_prepare_root
        if pg_replica_running && pg_replica_usable "$pg_port"; then
            replica_port=$(pg_replica_running_port)
            [[ -z ${PG_REPLICA_PORT:-} || ${PG_REPLICA_PORT} == "$replica_port" ]] ||
                die "the PostgreSQL replica of $dir already runs on port $replica_port," \
                    "not PG_REPLICA_PORT=$PG_REPLICA_PORT; stop it first"
            take_port "$replica_port"
            say "PostgreSQL replica already running on 127.0.0.1:$replica_port"
            pg_replica_refresh "$replica_port" "$pg_port" "$pg_password"
        else
            # A crash's leftovers, or a replica of an earlier primary (DIR/pg was made anew).
            pg_replica_stop
            kill_tagged "$pg_replica_tag" "PostgreSQL replica"
            if [[ -n ${PG_REPLICA_PORT:-} ]]; then
                port_busy "$PG_REPLICA_PORT" && die "PG_REPLICA_PORT=$PG_REPLICA_PORT is already in use"
                replica_port=$(pick_port "$PG_REPLICA_PORT")
            else
                replica_port=$(pick_port "$(previous PG_REPLICA_PORT)")
            fi
            take_port "$replica_port"
            pg_replica_start "$replica_port" "$pg_port" "$pg_password"
        fi
        pg_replica_wait "$replica_port" "$pg_port" "$pg_password"
        state[PG_REPLICA_PORT]=$replica_port
    elif [[ -e $pg_replica_dir || -L $pg_replica_dir ]]; then
        pg_replica_remove "$pg_port"
    fi

    # RabbitMQ
    if rmq_running; then
        amqp_port=$(previous AMQP_PORT)
        dist_port=$(previous RABBITMQ_DIST_PORT)
        epmd_port=$(previous RABBITMQ_EPMD_PORT)
        [[ -n $amqp_port && -n $dist_port && -n $epmd_port ]] ||
            die "RabbitMQ of $dir runs but $env_file lost its ports; run: $0 stop $dir"
        [[ -z ${AMQP_PORT:-} || ${AMQP_PORT} == "$amqp_port" ]] ||
            die "RabbitMQ of $dir already runs on port $amqp_port, not AMQP_PORT=$AMQP_PORT; stop it first"
        say "RabbitMQ already running on 127.0.0.1:$amqp_port"
    else
        kill_tagged "$rmq_tag" RabbitMQ # a half-dead node or a lone epmd of an earlier crash
        if [[ -n ${AMQP_PORT:-} ]]; then
            port_busy "$AMQP_PORT" && die "AMQP_PORT=$AMQP_PORT is already in use"
            amqp_port=$(pick_port "$AMQP_PORT")
        else
            amqp_port=$(pick_port "$(previous AMQP_PORT)")
        fi
        take_port "$amqp_port"
        dist_port=$(pick_port "$(previous RABBITMQ_DIST_PORT)")
        take_port "$dist_port"
        epmd_port=$(pick_port "$(previous RABBITMQ_EPMD_PORT)")
        take_port "$epmd_port"
        rmq_prepare "$amqp_port" "$dist_port" "$epmd_port" "$amqp_password"
        rmq_start "$amqp_port"
    fi
    state[RABBITMQ_DIST_PORT]=$dist_port
    state[RABBITMQ_EPMD_PORT]=$epmd_port
    rmq_provision "$amqp_password"

    write_env "$pg_port" "$pg_password" "$amqp_port" "$amqp_password"

    # The proof that matters: both accept authenticated connections the way the programs connect.
    pg_check_url "postgresql://marquee:$pg_password@127.0.0.1:$pg_port/marquee" "$dir/check.err"
    accepts_tcp "$amqp_port" || die "RabbitMQ does not accept connections on 127.0.0.1:$amqp_port"
    say "ready: PostgreSQL 127.0.0.1:$pg_port${replica_port:+ (replica 127.0.0.1:$replica_port)}," \
        "RabbitMQ 127.0.0.1:$amqp_port; settings in $env_file"
}

do_stop() {
    take_lock
    pg_follow_link
    pg_replica_follow_link
    [[ -x $rmq_ctl ]] && rmq_stop
    [[ -d $pg_replica_root ]] && pg_replica_stop # first: its walreceiver would reconnect to the primary
    [[ -d $pg_root ]] && pg_stop
    kill_tagged "$rmq_tag" RabbitMQ
    kill_tagged "$pg_replica_tag" "PostgreSQL replica"
    kill_tagged "$pg_tag" PostgreSQL
    rm -f -- "$rmq_dir/rabbitmq.pid"
    local -a survivors
    mapfile -t survivors < <(tagged_pids "$rmq_tag" && tagged_pids "$pg_replica_tag" && tagged_pids "$pg_tag")
    ((${#survivors[@]} == 0)) || die "processes of $dir survived SIGKILL: ${survivors[*]}"
    say "stopped ($dir)"
}

do_status() {
    pg_follow_link
    local ok=0
    if pg_running; then
        say "PostgreSQL running on 127.0.0.1:$(pg_running_port) (data $(pg_data))"
    else
        say "PostgreSQL not running"
        ok=1
    fi
    if [[ -n $(previous PG_REPLICA_PORT) ]]; then
        pg_replica_follow_link
        if pg_replica_running; then
            local port receiver
            port=$(pg_replica_running_port)
            receiver=$(pg_replica_receiver_status "$port")
            say "PostgreSQL replica running on 127.0.0.1:$port (data $(pg_replica_data)," \
                "WAL receiver ${receiver:-not running})"
        else
            say "PostgreSQL replica not running"
            ok=1
        fi
    fi
    if rmq_running && accepts_tcp "$(previous AMQP_PORT)"; then
        say "RabbitMQ node $rmq_node running on 127.0.0.1:$(previous AMQP_PORT)"
    else
        say "RabbitMQ not running"
        ok=1
    fi
    return $ok
}

# Stops the replica (fast: its sessions are cancelled) and starts it again on the same port while the
# primary keeps running; returns once it streams again and has caught up.
do_restart_replica() {
    take_lock
    pg_follow_link
    pg_replica_follow_link
    local port primary_port password
    port=$(previous PG_REPLICA_PORT)
    [[ -n $port ]] || die "$dir has no replica; start one with: PG_REPLICA=1 $0 start $dir"
    pg_running || die "PostgreSQL of $dir is not running; run: $0 start $dir"
    primary_port=$(pg_running_port)
    password=$(previous PGPASSWORD)
    pg_replica_stop
    kill_tagged "$pg_replica_tag" "PostgreSQL replica"
    port_listened "$port" && die "port $port of the replica is now used by another process; run: $0 start $dir"
    take_port "$port"
    pg_replica_start "$port" "$primary_port" "$password"
    pg_replica_wait "$port" "$primary_port" "$password"
    say "ready: PostgreSQL replica 127.0.0.1:$port streams from 127.0.0.1:$primary_port"
}

case $command in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    restart-replica) do_restart_replica ;;
esac
