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
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE   so plain `psql` works after sourcing
#   AMQP_PORT AMQP_USER AMQP_PASSWORD RABBITMQ_NODENAME
#   RABBITMQ_CTL  an executable wrapper: "$RABBITMQ_CTL" list_vhosts talks to this node
#   SERVICES_DIR PG_DATA PG_SOCKET_DIR PG_LOG RABBITMQ_LOG_DIR
#
# Several DIRs can run side by side: each has its own ports, Erlang node name, epmd port and cookie.
# Every process started here carries MARQUEE_SERVICE=<kind>@DIR in its environment; `stop` uses
# that tag to find leftovers, so it never touches anybody else's processes.
set -euo pipefail

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly RMQ_BIN=/usr/lib/rabbitmq/bin
readonly WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-120}
readonly LOCK_FILE=${TMPDIR:-/tmp}/marquee-services-$EUID.lock

say() { echo "services: $*"; }
die() {
    echo "services: error: $*" >&2
    exit 1
}

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

readonly env_file=$dir/env
readonly rmq_dir=$dir/rabbitmq
readonly rmq_home=$dir/rabbitmq-home
readonly rmq_log_dir=$rmq_dir/log
readonly rmq_ctl=$rmq_dir/rabbitmqctl
dir_hash=$(printf '%s' "$dir" | sha1sum | cut -c1-12)
readonly rmq_node="marquee-$dir_hash@localhost"
readonly pg_tag="MARQUEE_SERVICE=postgres@$dir"
readonly rmq_tag="MARQUEE_SERVICE=rabbitmq@$dir"
pg_root=$dir/pg # may become a symlink target elsewhere, see prepare_pg_root

# ----------------------------------------------------------------------------------------------------
# helpers

# Pids of live processes whose environment carries exactly the given tag.
tagged_pids() {
    local file pid
    # shellcheck disable=SC2013  # /proc paths have no spaces
    for file in $(grep -lsxzF -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${file#/proc/}
        pid=${pid%/environ}
        [[ $pid != "$$" && $pid != "$BASHPID" ]] && echo "$pid"
    done
    return 0
}

# TIME-WAIT leftovers of an earlier run do not count: the servers bind with SO_REUSEADDR.
port_busy() { [[ -n $(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null) ]]; }

accepts_tcp() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

declare -A taken_ports=()
# A free port: the preferred one if given and free, else a random free one in 20000-31999 (below the
# kernel's ephemeral range so outgoing connections do not race us for it).
pick_port() {
    local preferred=${1:-} port tries=0
    if [[ -n $preferred && -z ${taken_ports[$preferred]:-} ]] && ! port_busy "$preferred"; then
        taken_ports[$preferred]=1
        echo "$preferred"
        return
    fi
    while ((tries++ < 500)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        [[ -n ${taken_ports[$port]:-} ]] && continue
        port_busy "$port" && continue
        taken_ports[$port]=1
        echo "$port"
        return
    done
    die "no free loopback port found in 20000-31999"
}

random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# Value of KEY in the previous DIR/env, empty when absent.
previous() {
    [[ -f $env_file ]] || return 0
    sed -n "s/^$1=//p" "$env_file" | tail -n1
}

log_tail() {
    local file
    for file in "$@"; do
        [[ -s $file ]] || continue
        echo "---- last lines of $file" >&2
        tail -n 40 -- "$file" >&2
    done
}

# PostgreSQL refuses to run as root: as root, it runs as the postgres user; otherwise as ourselves.
as_postgres() {
    if ((EUID == 0)); then
        (cd "$pg_root" && runuser -u postgres -- env "$pg_tag" LC_ALL=C.UTF-8 "$@")
    else
        (cd "$pg_root" && env "$pg_tag" LC_ALL=C.UTF-8 "$@")
    fi
}

# ----------------------------------------------------------------------------------------------------
# PostgreSQL

pg_data() { echo "$pg_root/data"; }
pg_socket_dir() { echo "$pg_root/run"; }
pg_log() { echo "$pg_root/postgres.log"; }

# initdb and postgres refuse to run as root, so the cluster belongs to the postgres user, which must
# be able to reach DIR/pg. When a parent of DIR is closed to it (a clone under /root, mode 0700), the
# cluster lives in /var/tmp instead and DIR/pg is a symlink to it.
prepare_pg_root() {
    if ((EUID != 0)); then
        mkdir -p -- "$dir/pg/run"
        chmod 0700 -- "$dir/pg" "$dir/pg/run"
        return
    fi
    id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist; run scripts/install-deps.sh"
    if [[ -L $dir/pg ]]; then
        pg_root=$(readlink -f -- "$dir/pg")
    else
        mkdir -p -- "$dir/pg"
        chown postgres:postgres -- "$dir/pg"
        chmod 0700 -- "$dir/pg"
        if ! runuser -u postgres -- test -w "$dir/pg" 2>/dev/null; then
            local blocked="" path=$dir
            while [[ $path != / ]]; do
                path=$(dirname -- "$path")
                runuser -u postgres -- test -x "$path" 2>/dev/null || blocked=$path
            done
            local fallback
            fallback=/var/tmp/marquee-pg-$dir_hash
            echo "services: note: user postgres cannot traverse '${blocked:-a parent of $dir}'" \
                "(PostgreSQL refuses to run as root, so it runs as postgres and needs to reach DIR);" \
                "keeping the cluster in $fallback with $dir/pg linking to it." \
                "To keep it under DIR instead: chmod o+x on the parents, or use a DIR under /tmp." >&2
            rmdir -- "$dir/pg"
            mkdir -p -- "$fallback"
            chown postgres:postgres -- "$fallback"
            chmod 0700 -- "$fallback"
            ln -s -- "$fallback" "$dir/pg"
            pg_root=$fallback
        fi
    fi
    if [[ -e $pg_root ]]; then
        chown postgres:postgres -- "$pg_root"
        mkdir -p -- "$(pg_socket_dir)"
        chown postgres:postgres -- "$(pg_socket_dir)"
        chmod 0700 -- "$(pg_socket_dir)"
    fi
}

# Running: the postmaster named by postmaster.pid is alive and carries our tag (a zombie or a
# recycled pid does not, unlike what `pg_ctl status` would conclude).
pg_running() {
    local pid
    pid=$(head -n1 "$(pg_data)/postmaster.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    grep -qsxzF -- "$pg_tag" "/proc/$pid/environ"
}

pg_running_port() { sed -n 4p "$(pg_data)/postmaster.pid" 2>/dev/null; }

pg_init() {
    [[ -f $(pg_data)/PG_VERSION ]] && return 0
    say "initialising PostgreSQL cluster in $(pg_data)"
    rm -rf -- "$(pg_data)"
    if ! as_postgres "$PG_BIN/initdb" -D "$(pg_data)" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$pg_root/initdb.log" 2>&1; then
        log_tail "$pg_root/initdb.log"
        die "initdb failed"
    fi
    echo "include_if_exists = 'marquee.conf'" >>"$(pg_data)/postgresql.conf"
}

pg_start() {
    local port=$1
    # Regenerated at every start: the port may differ from the previous run.
    cat >"$(pg_data)/marquee.conf" <<EOF
# Written by scripts/services.sh at every start; a private, disposable development cluster.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$(pg_socket_dir)'
max_connections = 200
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
log_connections = off
timezone = 'UTC'
EOF
    if ((EUID == 0)); then chown postgres:postgres -- "$(pg_data)/marquee.conf"; fi
    say "starting PostgreSQL on 127.0.0.1:$port"
    if ! as_postgres "$PG_BIN/pg_ctl" start -D "$(pg_data)" -l "$(pg_log)" -w -t "$WAIT_SECONDS" \
        >>"$pg_root/pg_ctl.log" 2>&1 9>&-; then
        log_tail "$pg_root/pg_ctl.log" "$(pg_log)"
        die "PostgreSQL did not start within ${WAIT_SECONDS}s (log: $(pg_log))"
    fi
}

pg_provision() {
    local port=$1 password=$2
    if ! as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$port" \
        -U postgres -d postgres >>"$pg_root/provision.log" 2>&1 <<EOF; then
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'marquee') THEN CREATE ROLE marquee; END IF;
END \$\$;
ALTER ROLE marquee WITH LOGIN SUPERUSER PASSWORD '$password';
SELECT 'CREATE DATABASE marquee OWNER marquee' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'marquee')
\gexec
EOF
        log_tail "$pg_root/provision.log" "$(pg_log)"
        die "could not create role/database marquee"
    fi
}

pg_stop() {
    [[ -f $(pg_data)/PG_VERSION ]] || return 0
    if pg_running; then
        say "stopping PostgreSQL"
        as_postgres "$PG_BIN/pg_ctl" stop -D "$(pg_data)" -m fast -w -t 60 >/dev/null 2>&1 ||
            say "pg_ctl stop failed; killing"
    fi
}

# ----------------------------------------------------------------------------------------------------
# RabbitMQ

# The environment every rabbitmq-server and rabbitmqctl of this DIR runs with (and nothing else).
rmq_environment() {
    local amqp_port=$1 dist_port=$2 epmd_port=$3
    cat <<EOF
$rmq_tag
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C.UTF-8
LANG=C.UTF-8
HOME=$rmq_home
RABBITMQ_NODENAME=$rmq_node
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$amqp_port
RABBITMQ_DIST_PORT=$dist_port
RABBITMQ_MNESIA_BASE=$rmq_dir/mnesia
RABBITMQ_LOG_BASE=$rmq_log_dir
RABBITMQ_PID_FILE=$rmq_dir/rabbitmq.pid
RABBITMQ_CONFIG_FILE=$rmq_dir/rabbitmq.conf
RABBITMQ_ADVANCED_CONFIG_FILE=$rmq_dir/advanced.config
RABBITMQ_ENABLED_PLUGINS_FILE=$rmq_dir/enabled_plugins
RABBITMQ_CONF_ENV_FILE=$rmq_dir/rabbitmq-env.conf
RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
RABBITMQ_CTL_DIST_PORT_MIN=35672
RABBITMQ_CTL_DIST_PORT_MAX=35772
ERL_EPMD_PORT=$epmd_port
ERL_EPMD_ADDRESS=127.0.0.1
EOF
}

rmq_prepare() {
    local amqp_port=$1 dist_port=$2 epmd_port=$3 password=$4
    mkdir -p -- "$rmq_dir/mnesia" "$rmq_log_dir" "$rmq_home"
    chmod 0700 -- "$rmq_dir" "$rmq_home"
    if [[ ! -s $rmq_home/.erlang.cookie ]]; then
        (umask 077 && od -An -N20 -tu1 /dev/urandom | tr -s ' \n' '\n' | grep . |
            awk '{printf "%c", 65 + $1 % 26}' >"$rmq_home/.erlang.cookie")
        chmod 0400 -- "$rmq_home/.erlang.cookie"
    fi
    : >"$rmq_dir/rabbitmq-env.conf" # keeps /etc/rabbitmq/rabbitmq-env.conf out
    echo "[]." >"$rmq_dir/enabled_plugins"
    (
        umask 077
        cat >"$rmq_dir/rabbitmq.conf" <<EOF
# Written by scripts/services.sh at every start.
loopback_users = none
disk_free_limit.absolute = 50MB
default_vhost = /
default_user = marquee
default_pass = $password
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.console = false
log.file.level = info
EOF
        rmq_environment "$amqp_port" "$dist_port" "$epmd_port" >"$rmq_dir/environment"
        # The one way to talk to this node: same HOME (cookie), node name and epmd port.
        cat >"$rmq_ctl" <<EOF
#!/usr/bin/env bash
# rabbitmqctl for the node of $dir (written by scripts/services.sh).
mapfile -t environment <"$rmq_dir/environment"
exec env -i "\${environment[@]}" "$RMQ_BIN/rabbitmqctl" -n "$rmq_node" "\$@"
EOF
    )
    chmod 0700 -- "$rmq_ctl"
}

rmq_running() {
    local pid
    pid=$(cat "$rmq_dir/rabbitmq.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    grep -qsxzF -- "$rmq_tag" "/proc/$pid/environ"
}

rmq_start() {
    local amqp_port=$1 dist_port=$2 epmd_port=$3
    say "starting RabbitMQ node $rmq_node on 127.0.0.1:$amqp_port"
    rm -f -- "$rmq_dir/rabbitmq.pid"
    local -a environment
    mapfile -t environment <"$rmq_dir/environment"
    (
        cd "$rmq_dir"
        exec env -i "${environment[@]}" setsid "$RMQ_BIN/rabbitmq-server" </dev/null >>"$rmq_log_dir/startup.log" 2>&1 9>&-
    ) &
    # Until the subshell has exec'd, no process carries the tag yet: only when the starter is gone
    # too has RabbitMQ exited (setsid may fork, leaving the tagged child behind it).
    local starter=$!
    local deadline=$((SECONDS + WAIT_SECONDS))
    until accepts_tcp "$amqp_port" && rmq_running; do
        if ! kill -0 "$starter" 2>/dev/null && [[ -z $(tagged_pids "$rmq_tag") ]]; then
            log_tail "$rmq_log_dir/startup.log" "$rmq_log_dir/$rmq_node.log"
            die "RabbitMQ exited during start (logs: $rmq_log_dir)"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$rmq_log_dir/startup.log" "$rmq_log_dir/$rmq_node.log"
            die "RabbitMQ did not accept connections on 127.0.0.1:$amqp_port within ${WAIT_SECONDS}s"
        fi
        sleep 0.5
    done
    if ! timeout "$WAIT_SECONDS" "$rmq_ctl" -q await_startup --timeout "$WAIT_SECONDS" >/dev/null 2>&1; then
        log_tail "$rmq_log_dir/startup.log" "$rmq_log_dir/$rmq_node.log"
        die "RabbitMQ did not finish booting within ${WAIT_SECONDS}s"
    fi
}

rmq_ctl_checked() {
    local output
    if ! output=$(timeout 120 "$rmq_ctl" "$@" 2>&1); then
        echo "$output" >&2
        die "rabbitmqctl $1 failed"
    fi
}

# First boot creates marquee from rabbitmq.conf; this repairs a node whose password changed (DIR/env
# was deleted) and removes guest if it exists.
rmq_provision() {
    local password=$1 users
    users=$(timeout 120 "$rmq_ctl" -q list_users 2>&1) || {
        echo "$users" >&2
        die "rabbitmqctl list_users failed"
    }
    if ! grep -q '^marquee[[:space:]]' <<<"$users"; then
        rmq_ctl_checked add_user marquee "$password"
    elif ! timeout 120 "$rmq_ctl" -q authenticate_user marquee "$password" >/dev/null 2>&1; then
        rmq_ctl_checked change_password marquee "$password"
    fi
    if ! grep -q '^marquee[[:space:]].*administrator' <<<"$users"; then
        rmq_ctl_checked set_user_tags marquee administrator
        rmq_ctl_checked set_permissions -p / marquee '.*' '.*' '.*'
    fi
    if grep -q '^guest[[:space:]]' <<<"$users"; then rmq_ctl_checked delete_user guest; fi
}

rmq_stop() {
    if rmq_running; then
        say "stopping RabbitMQ node $rmq_node"
        timeout 90 "$rmq_ctl" -q stop "$rmq_dir/rabbitmq.pid" >/dev/null 2>&1 || say "rabbitmqctl stop failed; killing"
    fi
}

# ----------------------------------------------------------------------------------------------------

kill_tagged() {
    local tag=$1 what=$2 pids deadline
    pids=$(tagged_pids "$tag")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while [[ -n $(tagged_pids "$tag") ]] && ((SECONDS < deadline)); do sleep 0.2; done
    pids=$(tagged_pids "$tag")
    if [[ -n $pids ]]; then
        say "killing leftover $what processes: $pids"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    fi
}

write_env() {
    local pg_port=$1 pg_password=$2 amqp_port=$3 amqp_password=$4
    local tmp=$env_file.tmp
    (
        umask 077
        cat >"$tmp" <<EOF
DATABASE_URL=postgresql://marquee:$pg_password@127.0.0.1:$pg_port/marquee
AMQP_URL=amqp://marquee:$amqp_password@127.0.0.1:$amqp_port/%2F
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
EOF
    )
    mv -f -- "$tmp" "$env_file"
}

declare -A state=()
previous_or_state() { echo "${state[$1]:-$(previous "$1")}"; }

do_start() {
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "could not take $LOCK_FILE within 600s"

    [[ -x $PG_BIN/postgres ]] || die "PostgreSQL 15 is not installed; run scripts/install-deps.sh"
    [[ -x $RMQ_BIN/rabbitmq-server ]] || die "rabbitmq-server is not installed; run scripts/install-deps.sh"

    prepare_pg_root
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
        taken_ports[$pg_port]=1
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
        taken_ports[$pg_port]=1
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
        taken_ports[$amqp_port]=1
        dist_port=$(pick_port "$(previous RABBITMQ_DIST_PORT)")
        taken_ports[$dist_port]=1
        epmd_port=$(pick_port "$(previous RABBITMQ_EPMD_PORT)")
        taken_ports[$epmd_port]=1
        rmq_prepare "$amqp_port" "$dist_port" "$epmd_port" "$amqp_password"
        rmq_start "$amqp_port" "$dist_port" "$epmd_port"
    fi
    state[RABBITMQ_DIST_PORT]=$dist_port
    state[RABBITMQ_EPMD_PORT]=$epmd_port
    rmq_provision "$amqp_password"

    write_env "$pg_port" "$pg_password" "$amqp_port" "$amqp_password"

    # The proof that matters: both accept authenticated connections the way the programs connect.
    if ! PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q "postgresql://marquee:$pg_password@127.0.0.1:$pg_port/marquee" \
        -c 'SELECT 1' >/dev/null 2>"$dir/check.err"; then
        log_tail "$dir/check.err" "$(pg_log)"
        die "PostgreSQL runs but DATABASE_URL does not connect"
    fi
    rm -f -- "$dir/check.err"
    accepts_tcp "$amqp_port" || die "RabbitMQ does not accept connections on 127.0.0.1:$amqp_port"
    say "ready: PostgreSQL 127.0.0.1:$pg_port, RabbitMQ 127.0.0.1:$amqp_port; settings in $env_file"
}

do_stop() {
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "could not take $LOCK_FILE within 600s"
    if [[ -L $dir/pg ]]; then pg_root=$(readlink -f -- "$dir/pg"); fi
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
    if [[ -L $dir/pg ]]; then pg_root=$(readlink -f -- "$dir/pg"); fi
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
