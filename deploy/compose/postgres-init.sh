#!/usr/bin/env bash
# PostgreSQL's first start in docker-compose.yml (docker-entrypoint-initdb.d, as the superuser):
# the database owned by marquee_migrate, and one login role per service with its password from the
# environment. The migrations (run by marquee-migrate as marquee_migrate) grant each role what it
# needs; this only creates the logins. Runs once, on an empty data volume: to change a password
# later, ALTER ROLE ... PASSWORD in psql and update the environment.
set -euo pipefail

for var in MARQUEE_MIGRATE_DB_PASSWORD MARQUEE_API_DB_PASSWORD MARQUEE_WORKER_DB_PASSWORD \
    MARQUEE_SCHEDULER_DB_PASSWORD; do
    [[ -n ${!var:-} ]] || {
        echo "postgres-init: $var is not set" >&2
        exit 1
    }
done

# psql variables (-v) are quoted by psql itself (:'name'), so a password needs no escaping here.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v migrate_password="$MARQUEE_MIGRATE_DB_PASSWORD" \
    -v api_password="$MARQUEE_API_DB_PASSWORD" \
    -v worker_password="$MARQUEE_WORKER_DB_PASSWORD" \
    -v scheduler_password="$MARQUEE_SCHEDULER_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['marquee_migrate', 'marquee_api', 'marquee_worker',
    'marquee_scheduler']) AS r WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE marquee_migrate PASSWORD :'migrate_password';
ALTER ROLE marquee_api PASSWORD :'api_password';
ALTER ROLE marquee_worker PASSWORD :'worker_password';
ALTER ROLE marquee_scheduler PASSWORD :'scheduler_password';
-- The API only reads: every transaction of its role is read-only unless it says otherwise.
ALTER ROLE marquee_api SET default_transaction_read_only = on;
SELECT 'CREATE DATABASE marquee OWNER marquee_migrate'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'marquee') \gexec
REVOKE ALL ON DATABASE marquee FROM PUBLIC;
GRANT CONNECT ON DATABASE marquee TO marquee_api, marquee_worker, marquee_scheduler;
SQL

# PostgreSQL 15+ no longer lets every role create objects in schema public; the owner keeps that.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname marquee \
    -c 'ALTER SCHEMA public OWNER TO marquee_migrate'
echo "postgres-init: roles marquee_migrate, marquee_api, marquee_worker, marquee_scheduler ready"
