# shellcheck shell=bash
# scripts/services.sh: the optional streaming replica (hot standby) of the cluster, under
# DIR/pg-replica. Sourced after lib/postgres.sh; pg_replica_configure DIR DIR_HASH comes after
# pg_configure, then the pg_replica_* functions, which take the primary's port where they need it.
#
# The replica is a `pg_basebackup -R` copy of the primary. It streams the primary's WAL through a
# physical replication slot, so the primary keeps what a stopped replica has not received yet
# (`stop` stops the replica first, `restart-replica` stops it alone), and logs in over 127.0.0.1 as
# marquee_replication (LOGIN REPLICATION, nothing else), which initdb's pg_hba.conf admits to
# replication with a password. Its root, postgres user and symlink follow pg_prepare_cluster_root.

readonly PG_REPLICA_SLOT=marquee_replica
readonly PG_REPLICATION_ROLE=marquee_replication

# Sets the replica's paths and the tag its processes carry.
pg_replica_configure() {
    readonly pg_replica_dir=$1/pg-replica
    readonly pg_replica_fallback=/var/tmp/marquee-pg-replica-$2
    readonly pg_replica_tag="MARQUEE_SERVICE=postgres-replica@$1"
    pg_replica_root=$pg_replica_dir # may become a symlink target elsewhere, see pg_prepare_cluster_root
}

pg_replica_data() { echo "$pg_replica_root/data"; }
pg_replica_socket_dir() { echo "$pg_replica_root/run"; }
pg_replica_log() { echo "$pg_replica_root/postgres.log"; }

pg_replica_follow_link() {
    if [[ -L $pg_replica_dir ]]; then pg_replica_root=$(readlink -f -- "$pg_replica_dir"); fi
}
pg_replica_prepare_root() {
    pg_prepare_cluster_root pg_replica_root "$pg_replica_dir" "$pg_replica_fallback"
}
as_replica() { pg_as "$pg_replica_root" "$pg_replica_tag" "$@"; }
pg_replica_running() { pg_postmaster_alive "$(pg_replica_data)" "$pg_replica_tag"; }
pg_replica_running_port() { pg_postmaster_port "$(pg_replica_data)"; }

# pg_replica_usable PRIMARY_PORT: DIR/pg-replica holds a complete copy of this very primary, and the
# slot still exists, so the primary has kept every WAL segment the copy has not replayed yet.
pg_replica_usable() {
    local primary_port=$1 copy_of
    [[ -f $(pg_replica_data)/PG_VERSION && -f $(pg_replica_data)/standby.signal ]] || return 1
    copy_of=$(pg_system_identifier "$pg_replica_root" "$pg_replica_tag" "$(pg_replica_data)")
    [[ -n $copy_of && $copy_of == "$(pg_primary_system_identifier)" ]] || return 1
    [[ $(pg_sql "$primary_port" "SELECT count(*) FROM pg_replication_slots
                                  WHERE slot_name = '$PG_REPLICA_SLOT' AND slot_type = 'physical'") == 1 ]]
}

# On the primary: the replication role (created or repaired, the services' password) and the slot.
pg_replica_provision() {
    local primary_port=$1 password=$2
    if ! as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$primary_port" \
        -U postgres -d postgres >>"$pg_replica_root/provision.log" 2>&1 <<SQL; then
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REPLICATION_ROLE') THEN
        CREATE ROLE $PG_REPLICATION_ROLE;
    END IF;
    -- Reserving WAL now: the base backup and the replica's first start read from this point on.
    IF NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '$PG_REPLICA_SLOT') THEN
        PERFORM pg_create_physical_replication_slot('$PG_REPLICA_SLOT', true);
    END IF;
END \$\$;
ALTER ROLE $PG_REPLICATION_ROLE WITH LOGIN REPLICATION NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD '$password';
SQL
        log_tail "$pg_replica_root/provision.log" "$(pg_log)"
        die "could not create the replication role and slot on the primary"
    fi
}

# A fresh copy of the primary, made next to the data directory and renamed into place when complete,
# so that an interrupted copy is never mistaken for a replica.
pg_replica_base_backup() {
    local primary_port=$1 password=$2 copy=$pg_replica_root/data.copy
    say "copying the PostgreSQL primary into $(pg_replica_data) (pg_basebackup)"
    rm -rf -- "$copy" "$(pg_replica_data)"
    # 9>&-: a stuck copy would otherwise hold the services lock after we were killed.
    if ! PGPASSWORD=$password as_replica "$PG_BIN/pg_basebackup" -D "$copy" -h 127.0.0.1 \
        -p "$primary_port" -U "$PG_REPLICATION_ROLE" --no-password -X stream -S "$PG_REPLICA_SLOT" -R \
        --checkpoint=fast --no-sync >>"$pg_replica_root/basebackup.log" 2>&1 9>&-; then
        log_tail "$pg_replica_root/basebackup.log" "$(pg_log)"
        die "pg_basebackup from the primary (127.0.0.1:$primary_port) failed"
    fi
    # -R wrote standby.signal and the primary's address into postgresql.auto.conf, which would
    # override marquee.conf; the primary's port and the password may change between starts, so they
    # belong in marquee.conf, which every start rewrites.
    as_replica sed -i -e '/^primary_conninfo[[:space:]]*=/d' -e '/^primary_slot_name[[:space:]]*=/d' \
        "$copy/postgresql.auto.conf"
    mv -- "$copy" "$(pg_replica_data)"
}

pg_replica_write_conf() {
    local port=$1 primary_port=$2 password=$3
    local conninfo="host=127.0.0.1 port=$primary_port user=$PG_REPLICATION_ROLE password=$password"
    # hot_standby_feedback: the primary's vacuum waits for the replica's queries instead of cancelling
    # them, so a test reading from the replica does not fail on a conflict with recovery.
    # wal_retrieve_retry_interval: back to streaming within a second of a primary's restart, not five.
    pg_write_conf "$(pg_replica_data)" "$port" "$(pg_replica_socket_dir)" \
        "hot_standby = on" \
        "hot_standby_feedback = on" \
        "wal_retrieve_retry_interval = 1s" \
        "primary_conninfo = '$conninfo application_name=$PG_REPLICA_SLOT'" \
        "primary_slot_name = '$PG_REPLICA_SLOT'"
}

# pg_replica_start PORT PRIMARY_PORT PASSWORD: the replica is not running; (re)made from the
# primary when DIR/pg-replica holds no usable copy, then started.
pg_replica_start() {
    local port=$1 primary_port=$2 password=$3 usable=1
    pg_replica_usable "$primary_port" || usable=0
    pg_replica_provision "$primary_port" "$password"
    if ((!usable)); then pg_replica_base_backup "$primary_port" "$password"; fi
    # After a crash, the lock files name the killed postmaster, which lingers as a zombie until reaped
    # and stops a new one; the socket directory is the replica's own, so nothing else uses them.
    rm -f -- "$(pg_replica_data)/postmaster.pid" "$(pg_replica_socket_dir)"/.s.PGSQL.*
    pg_replica_write_conf "$port" "$primary_port" "$password"
    say "starting PostgreSQL replica on 127.0.0.1:$port"
    pg_ctl_start "$pg_replica_root" "$pg_replica_tag" "$(pg_replica_data)" "$(pg_replica_log)" \
        "the PostgreSQL replica"
}

# The replica runs: the role's password and the primary's port may have changed since it started.
pg_replica_refresh() {
    local port=$1 primary_port=$2 password=$3
    pg_replica_provision "$primary_port" "$password"
    pg_replica_write_conf "$port" "$primary_port" "$password"
    as_replica "$PG_BIN/pg_ctl" reload -D "$(pg_replica_data)" >/dev/null
}

# pg_replica_wait PORT PRIMARY_PORT PASSWORD: until the replica accepts the superuser over TCP, is in
# recovery, streams from the primary and has replayed everything the primary had written when the
# wait began (roles and passwords included), within WAIT_SECONDS.
pg_replica_wait() {
    local port=$1 primary_port=$2 password=$3 target state="" deadline
    local url=postgresql://marquee:$password@127.0.0.1:$port/marquee err_file=$pg_replica_root/check.err
    target=$(pg_sql "$primary_port" 'SELECT pg_current_wal_lsn()') ||
        die "cannot read the primary's WAL position"
    deadline=$((SECONDS + WAIT_SECONDS))
    until state=$(PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -A -t "$url" -c "SELECT pg_is_in_recovery(),
            (SELECT status FROM pg_stat_wal_receiver), pg_last_wal_replay_lsn() >= '$target'" 2>"$err_file") &&
        [[ $state == 't|streaming|t' ]]; do
        if ! pg_replica_running; then
            log_tail "$err_file" "$(pg_replica_log)"
            die "the PostgreSQL replica exited (log: $(pg_replica_log))"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$err_file" "$(pg_replica_log)"
            die "the PostgreSQL replica on 127.0.0.1:$port was not streaming and caught up within" \
                "${WAIT_SECONDS}s (in recovery|receiver|replayed: ${state:-no connection})"
        fi
        sleep 0.2
    done
    rm -f -- "$err_file"
}

# What the WAL receiver does (streaming, waiting, ...), empty when the replica does not answer.
pg_replica_receiver_status() {
    as_replica "$PG_BIN/psql" -X -q -A -t -h "$(pg_replica_socket_dir)" -p "$1" -U postgres -d postgres \
        -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null || true
}

pg_replica_stop() {
    [[ -f $(pg_replica_data)/PG_VERSION ]] || return 0
    if pg_replica_running; then
        say "stopping PostgreSQL replica"
        pg_ctl_stop "$pg_replica_root" "$pg_replica_tag" "$(pg_replica_data)"
    fi
}

# PG_REPLICA=0: the replica, its slot (which would keep WAL for it forever) and its role go.
pg_replica_remove() {
    local primary_port=$1
    say "removing the PostgreSQL replica in $pg_replica_dir (PG_REPLICA is off)"
    pg_replica_follow_link
    pg_replica_stop
    kill_tagged "$pg_replica_tag" "PostgreSQL replica"
    pg_sql "$primary_port" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                            WHERE slot_name = '$PG_REPLICA_SLOT'" >/dev/null ||
        die "could not drop the replication slot $PG_REPLICA_SLOT"
    pg_sql "$primary_port" "DROP ROLE IF EXISTS $PG_REPLICATION_ROLE" >/dev/null ||
        die "could not drop the role $PG_REPLICATION_ROLE"
    if [[ -L $pg_replica_dir ]]; then rm -rf -- "$pg_replica_root"; fi
    rm -rf -- "$pg_replica_dir"
}
