#!/usr/bin/env bash
# The rabbitmq stand-in's docker-entrypoint.sh (tests/compose/rabbitmq/Dockerfile): the default
# user from the environment, reachable from other containers, then the command. rabbitmq-server
# runs in the foreground with its log on stdout (Debian's wrapper would send both to files).
set -euo pipefail
{
    echo "loopback_users = none"
    echo "listeners.tcp.default = 5672"
    if [[ -n ${RABBITMQ_DEFAULT_USER:-} ]]; then
        echo "default_user = $RABBITMQ_DEFAULT_USER"
        echo "default_pass = ${RABBITMQ_DEFAULT_PASS:?RABBITMQ_DEFAULT_PASS is not set}"
        echo "default_user_tags.administrator = true"
    fi
} >/etc/rabbitmq/rabbitmq.conf
if [[ ${1:-} == rabbitmq-server ]]; then
    shift
    cd "$HOME"
    exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
