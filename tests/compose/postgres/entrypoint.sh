#!/usr/bin/env bash
# The postgres stand-in's entrypoint (tests/compose/postgres/Dockerfile): initialise an empty data
# directory once (superuser POSTGRES_USER with POSTGRES_PASSWORD, database POSTGRES_DB, then the
# init scripts against a server listening on its Unix socket only), then run PostgreSQL.
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
[[ -n ${POSTGRES_PASSWORD:-} ]] || { echo "postgres-standin: POSTGRES_PASSWORD is not set" >&2; exit 1; }
export POSTGRES_USER POSTGRES_DB

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    {
        echo "listen_addresses = '*'"
        echo "unix_socket_directories = '/run/postgresql'"
    } >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    if [[ $POSTGRES_DB != postgres ]]; then
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
            -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    shopt -s nullglob
    for script in /docker-entrypoint-initdb.d/*.sh; do
        echo "postgres-standin: running $script"
        bash "$script"
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "postgres-standin: initialised $PGDATA"
fi
exec postgres -D "$PGDATA"
