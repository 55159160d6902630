# shellcheck shell=bash
# scripts/services.sh: the private PostgreSQL 15 cluster under DIR/pg. Sourced after lib/common.sh;
# pg_configure DIR DIR_HASH comes first, then the pg_* functions.

readonly PG_BIN=/usr/lib/postgresql/15/bin

# Sets the cluster's paths and the tag its processes carry.
pg_configure() {
    readonly pg_dir=$1/pg
    readonly pg_dir_hash=$2
    readonly pg_tag="MARQUEE_SERVICE=postgres@$1"
    pg_root=$pg_dir # may become a symlink target elsewhere, see pg_prepare_root
}

pg_data() { echo "$pg_root/data"; }
pg_socket_dir() { echo "$pg_root/run"; }
pg_log() { echo "$pg_root/postgres.log"; }

# A DIR/pg that is a symlink (see pg_prepare_root) leads to the cluster.
pg_follow_link() {
    if [[ -L $pg_dir ]]; then pg_root=$(readlink -f -- "$pg_dir"); fi
}

# PostgreSQL refuses to run as root: as root, it runs as the postgres user; otherwise as ourselves.
as_postgres() {
    if ((EUID == 0)); then
        (cd "$pg_root" && runuser -u postgres -- env "$pg_tag" LC_ALL=C.UTF-8 "$@")
    else
        (cd "$pg_root" && env "$pg_tag" LC_ALL=C.UTF-8 "$@")
    fi
}

# initdb and postgres refuse to run as root, so the cluster belongs to the postgres user, which must
# be able to reach DIR/pg. When a parent of DIR is closed to it (a clone under /root, mode 0700), the
# cluster lives in /var/tmp instead and DIR/pg is a symlink to it.
pg_prepare_root() {
    if ((EUID != 0)); then
        mkdir -p -- "$pg_dir/run"
        chmod 0700 -- "$pg_dir" "$pg_dir/run"
        return
    fi
    id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist; run scripts/install-deps.sh"
    if [[ -L $pg_dir ]]; then
        pg_root=$(readlink -f -- "$pg_dir")
    else
        mkdir -p -- "$pg_dir"
        chown postgres:postgres -- "$pg_dir"
        chmod 0700 -- "$pg_dir"
        if ! runuser -u postgres -- test -w "$pg_dir" 2>/dev/null; then
            local blocked="" path=${pg_dir%/pg}
            while [[ $path != / ]]; do
                path=$(dirname -- "$path")
                runuser -u postgres -- test -x "$path" 2>/dev/null || blocked=$path
            done
            local fallback=/var/tmp/marquee-pg-$pg_dir_hash
            echo "services: note: user postgres cannot traverse '${blocked:-a parent of ${pg_dir%/pg}}'" \
                "(PostgreSQL refuses to run as root, so it runs as postgres and needs to reach DIR);" \
                "keeping the cluster in $fallback with $pg_dir linking to it." \
                "To keep it under DIR instead: chmod o+x on the parents, or use a DIR under /tmp." >&2
            rmdir -- "$pg_dir"
            mkdir -p -- "$fallback"
            chown postgres:postgres -- "$fallback"
            chmod 0700 -- "$fallback"
            ln -s -- "$fallback" "$pg_dir"
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
    cat >"$(pg_data)/marquee.conf" <<CONF
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
CONF
    if ((EUID == 0)); then chown postgres:postgres -- "$(pg_data)/marquee.conf"; fi
    say "starting PostgreSQL on 127.0.0.1:$port"
    # 9>&-: the postmaster outlives us and must not inherit the services lock (fd 9).
    if ! as_postgres "$PG_BIN/pg_ctl" start -D "$(pg_data)" -l "$(pg_log)" -w -t "$WAIT_SECONDS" \
        >>"$pg_root/pg_ctl.log" 2>&1 9>&-; then
        log_tail "$pg_root/pg_ctl.log" "$(pg_log)"
        die "PostgreSQL did not start within ${WAIT_SECONDS}s (log: $(pg_log))"
    fi
}

# Role marquee (SUPERUSER, the given password, for tests and administration) and database marquee,
# created or repaired; and the least-privilege login roles (docs/adr/0015) with the same password:
# marquee_migrate owns database marquee and everything the migrations create there, marquee_api,
# marquee_worker and marquee_scheduler get their rights from migration 0003.
pg_provision() {
    local port=$1 password=$2
    if ! as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$port" \
        -U postgres -d postgres >>"$pg_root/provision.log" 2>&1 <<SQL; then
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'marquee') THEN CREATE ROLE marquee; END IF;
END \$\$;
ALTER ROLE marquee WITH LOGIN SUPERUSER PASSWORD '$password';
DO \$\$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['marquee_migrate', 'marquee_api', 'marquee_worker', 'marquee_scheduler'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I', role_name);
        END IF;
        EXECUTE format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD %L', role_name,
                       '$password');
    END LOOP;
END \$\$;
SELECT 'CREATE DATABASE marquee OWNER marquee_migrate'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'marquee')
\gexec
ALTER DATABASE marquee OWNER TO marquee_migrate;
\connect marquee
-- What an older start migrated as the superuser becomes the migration role's.
REASSIGN OWNED BY marquee TO marquee_migrate;
SQL
        log_tail "$pg_root/provision.log" "$(pg_log)"
        die "could not create role/database marquee"
    fi
}

# The proof that matters: an authenticated TCP connection, the way the programs connect.
pg_check_url() {
    local url=$1 err_file=$2
    if ! PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q "$url" -c 'SELECT 1' >/dev/null 2>"$err_file"; then
        log_tail "$err_file" "$(pg_log)"
        die "PostgreSQL runs but DATABASE_URL does not connect"
    fi
    rm -f -- "$err_file"
}

pg_stop() {
    [[ -f $(pg_data)/PG_VERSION ]] || return 0
    if pg_running; then
        say "stopping PostgreSQL"
        as_postgres "$PG_BIN/pg_ctl" stop -D "$(pg_data)" -m fast -w -t 60 >/dev/null 2>&1 ||
            say "pg_ctl stop failed; killing"
    fi
}
