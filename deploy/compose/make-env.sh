#!/usr/bin/env bash
# Prints a compose environment file with a fresh random password for each account
# docker-compose.yml needs:  deploy/compose/make-env.sh > .env  (keep .env out of version control).
# Letters and digits only: the passwords are pasted into URLs.
set -euo pipefail

password() {
    local p
    p=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    printf '%s' "${p:0:32}"
}

for var in POSTGRES_PASSWORD MARQUEE_MIGRATE_DB_PASSWORD MARQUEE_API_DB_PASSWORD MARQUEE_WORKER_DB_PASSWORD \
    MARQUEE_SCHEDULER_DB_PASSWORD RABBITMQ_PASSWORD MARQUEE_SCHEDULER_AMQP_PASSWORD MARQUEE_WORKER_AMQP_PASSWORD; do
    printf '%s=%s\n' "$var" "$(password)"
done
