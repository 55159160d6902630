# shellcheck shell=bash
# scripts/services.sh: the private PostgreSQL 15 cluster under DIR/pg. Sourced after lib/common.sh;
# pg_configure DIR DIR_HASH comes first, then the pg_* functions. The helpers that take a cluster's
# root, data directory and tag as arguments serve lib/pg_replica.sh too.

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
# pg_as ROOT TAG COMMAND...: runs COMMAND in ROOT, its processes carrying TAG.
pg_as() {
    local root=$1 tag=$2
    shift 2
    if ((EUID == 0)); then
        (cd "$root" && runuser -u postgres -- env "$tag" LC_ALL=C.UTF-8 "$@")
    else
        (cd "$root" && env "$tag" LC_ALL=C.UTF-8 "$@")
    fi
}
as_postgres() { pg_as "$pg_root" "$pg_tag" "$@"; }

# initdb and postgres refuse to run as root, so a cluster belongs to the postgres user, which must
# be able to reach DIR/pg. When a parent of DIR is closed to it (a clone under /root, mode 0700), the
# cluster lives in /var/tmp instead and DIR/pg is a symlink to it.
# pg_prepare_cluster_root VAR LINK FALLBACK: prepares LINK (DIR/pg) or FALLBACK, sets VAR to the one
# the cluster lives in.
pg_prepare_cluster_root() {
    local -n root_out=$1
    local link=$2 fallback=$3 services_dir
    services_dir=$(dirname -- "$link")
    root_out=$link
    if ((EUID != 0)); then
        mkdir -p -- "$link/run"
        chmod 0700 -- "$link" "$link/run"
        return
    fi
    id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist; run scripts/install-deps.sh"
    if [[ -L $link ]]; then
        root_out=$(readlink -f -- "$link")
    else
        mkdir -p -- "$link"
        chown postgres:postgres -- "$link"
        chmod 0700 -- "$link"
        if ! runuser -u postgres -- test -w "$link" 2>/dev/null; then
            local blocked="" path=$services_dir
            while [[ $path != / ]]; do
                path=$(dirname -- "$path")
                runuser -u postgres -- test -x "$path" 2>/dev/null || blocked=$path
            done
            echo "services: note: user postgres cannot traverse '${blocked:-a parent of $services_dir}'" \
                "(PostgreSQL refuses to run as root, so it runs as postgres and needs to reach DIR);" \
                "keeping the cluster in $fallback with $link linking to it." \
                "To keep it under DIR instead: chmod o+x on the parents, or use a DIR under /tmp." >&2
            rmdir -- "$link"
            mkdir -p -- "$fallback"
            chown postgres:postgres -- "$fallback"
            chmod 0700 -- "$fallback"
            ln -s -- "$fallback" "$link"
            root_out=$fallback
        fi
    fi
    if [[ -e $root_out ]]; then
        chown postgres:postgres -- "$root_out"
        mkdir -p -- "$root_out/run"
        chown postgres:postgres -- "$root_out/run"
        chmod 0700 -- "$root_out/run"
    fi
}
pg_prepare_root() { pg_prepare_cluster_root pg_root "$pg_dir" "/var/tmp/marquee-pg-$pg_dir_hash"; }

# Running: the postmaster named by DATA/postmaster.pid is alive and carries TAG (a zombie or a
# recycled pid does not, unlike what `pg_ctl status` would conclude).
pg_postmaster_alive() {
    local data=$1 tag=$2 pid
    pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    grep -qsxzF -- "$tag" "/proc/$pid/environ"
}
pg_postmaster_port() { sed -n 4p "$1/postmaster.pid" 2>/dev/null; }

pg_running() { pg_postmaster_alive "$(pg_data)" "$pg_tag"; }
pg_running_port() { pg_postmaster_port "$(pg_data)"; }

# pg_system_identifier ROOT TAG DATA: the cluster's identity, which a copy shares with its original.
pg_system_identifier() {
    pg_as "$1" "$2" "$PG_BIN/pg_controldata" -D "$3" 2>/dev/null |
        sed -n 's/^Database system identifier:[[:space:]]*//p'
}
pg_primary_system_identifier() { pg_system_identifier "$pg_root" "$pg_tag" "$(pg_data)"; }

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

# pg_write_conf DATA PORT SOCKET_DIR [LINE...]: DATA/marquee.conf, which postgresql.conf includes;
# regenerated at every start, as the port may differ from the previous run. LINEs are appended.
pg_write_conf() {
    local data=$1 port=$2 socket_dir=$3
    shift 3
    (
        umask 077 # a replica's lines hold the replication password
        {
            cat <<CONF
# Written by scripts/services.sh at every start; a private, disposable development cluster.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket_dir'
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
            if (($# > 0)); then printf '%s\n' "$@"; fi
        } >"$data/marquee.conf"
    )
    if ((EUID == 0)); then chown postgres:postgres -- "$data/marquee.conf"; fi
}

# pg_ctl_start ROOT TAG DATA LOG WHAT: starts the postmaster and waits until it accepts connections.
pg_ctl_start() {
    local root=$1 tag=$2 data=$3 log=$4 what=$5
    # 9>&-: the postmaster outlives us and must not inherit the services lock (fd 9).
    if ! pg_as "$root" "$tag" "$PG_BIN/pg_ctl" start -D "$data" -l "$log" -w -t "$WAIT_SECONDS" \
        >>"$root/pg_ctl.log" 2>&1 9>&-; then
        log_tail "$root/pg_ctl.log" "$log"
        die "$what did not start within ${WAIT_SECONDS}s (log: $log)"
    fi
}

pg_start() {
    local port=$1
    pg_write_conf "$(pg_data)" "$port" "$(pg_socket_dir)"
    say "starting PostgreSQL on 127.0.0.1:$port"
    pg_ctl_start "$pg_root" "$pg_tag" "$(pg_data)" "$(pg_log)" PostgreSQL
}

# pg_sql PORT SQL: runs SQL on the cluster as postgres (through its socket), prints the rows unaligned.
pg_sql() {
    as_postgres "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$1" -U postgres \
        -d postgres -c "$2"
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

# pg_ctl_stop ROOT TAG DATA: a fast shutdown (sessions are cancelled), bounded; the caller kills what
# is left.
pg_ctl_stop() {
    local root=$1 tag=$2 data=$3
    pg_as "$root" "$tag" "$PG_BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null 2>&1 ||
        say "pg_ctl stop failed; killing"
}

pg_stop() {
    [[ -f $(pg_data)/PG_VERSION ]] || return 0
    if pg_running; then
        say "stopping PostgreSQL"
        pg_ctl_stop "$pg_root" "$pg_tag" "$(pg_data)"
    fi
}
