#!/usr/bin/env bash
# Private PostgreSQL 15 and RabbitMQ instances for tests and `make run`, all state under one directory.
#
#   scripts/services.sh start  DIR   start both (idempotent: reports when already running)
#   scripts/services.sh stop   DIR   stop both gracefully, then kill whatever of ours is left
#   scripts/services.sh status DIR   exit 0 when both run, 1 otherwise
#
# Ports are free loopback ports (reused from the previous start when still free); override with
# PG_PORT / AMQP_PORT. SERVICES_WAIT_SECONDS bounds each wait (default 120). After `start`, DIR/env
# holds KEY=VALUE lines (no quoting needed; DIR may not contain spaces); `set -a; . DIR/env; set +a`
# exports them into a shell:
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
#
# Several DIRs can run side by side: each has its own ports, Erlang node name, epmd port and cookie.
# Every process started here carries MARQUEE_SERVICE=<kind>@DIR in its environment; `stop` uses
# that tag to find leftovers, so it never touches anybody else's processes.
#
# This file is the command line and the start/stop order; the parts live in scripts/lib/:
# common.sh (messages, tagged processes, ports), postgres.sh (the cluster), rabbitmq.sh (the node).

# shellcheck source-path=SCRIPTDIR # the lib/ paths below are relative to this file
set -euo pipefail

lib=$(dirname -- "${BASH_SOURCE[0]}")/lib
# shellcheck source=lib/common.sh
. "$lib/common.sh"
# shellcheck source=lib/postgres.sh
. "$lib/postgres.sh"
# shellcheck source=lib/rabbitmq.sh
. "$lib/rabbitmq.sh"

# One start or stop at a time per user: concurrent starts would race for the same free ports.
readonly LOCK_FILE=${TMPDIR:-/tmp}/marquee-services-$EUID.lock
# Bounds each wait for a service (used by lib/postgres.sh and lib/rabbitmq.sh).
readonly WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-120}

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

(($# == 2)) || usage
command=$1
case $command in start | stop | status) ;; *) usage ;; esac

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
    local tmp=$env_file.tmp
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

    pg_prepare_root
    local pg_password amqp_password pg_port amqp_port dist_port epmd_port
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
        # postmaster.pid names a dead or zombie pid) would stop the new postmaster.
        kill_tagged "$pg_tag" PostgreSQL
        rm -f -- "$(pg_data)/postmaster.pid"
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
    say "ready: PostgreSQL 127.0.0.1:$pg_port, RabbitMQ 127.0.0.1:$amqp_port; settings in $env_file"
}

do_stop() {
    take_lock
    pg_follow_link
    [[ -x $rmq_ctl ]] && rmq_stop
    [[ -d $pg_root ]] && pg_stop
    kill_tagged "$rmq_tag" RabbitMQ
    kill_tagged "$pg_tag" PostgreSQL
    rm -f -- "$rmq_dir/rabbitmq.pid"
    if [[ -n $(tagged_pids "$rmq_tag")$(tagged_pids "$pg_tag") ]]; then
        die "processes of $dir survived SIGKILL: $(tagged_pids "$rmq_tag") $(tagged_pids "$pg_tag")"
    fi
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
    if rmq_running && accepts_tcp "$(previous AMQP_PORT)"; then
        say "RabbitMQ node $rmq_node running on 127.0.0.1:$(previous AMQP_PORT)"
    else
        say "RabbitMQ not running"
        ok=1
    fi
    return $ok
}

case $command in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
esac
