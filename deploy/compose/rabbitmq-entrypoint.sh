#!/usr/bin/env bash
# RabbitMQ in docker-compose.yml: the image's entrypoint, plus one user per marquee service once
# the node is up (RabbitMQ has no environment setting for more than its one default user, here the
# administrator). Idempotent: users are created or their passwords reset on every start.
#
# Permissions (configure, write, read regular expressions, on vhost /) follow the topology in
# adapters/include/marquee/amqp/topology.hpp, which both services declare on connecting:
#   marquee_scheduler  declares it and publishes jobs to marquee.fetch. Declaring a queue with a
#                      dead-letter exchange takes read on the queue and write on that exchange, so
#                      it holds read on the jobs and retry queues too (not on marquee.fetch.dead);
#                      it never consumes. Its queue depth probe (a passive declare) needs nothing.
#   marquee_worker     declares it, consumes marquee.fetch.jobs, publishes retries to marquee.fetch
#                      and dead letters to marquee.fetch.dlx
# Keep them in step with the users scripts/lib/rabbitmq.sh makes for the native stack.
set -euo pipefail

for var in MARQUEE_SCHEDULER_AMQP_PASSWORD MARQUEE_WORKER_AMQP_PASSWORD; do
    [[ -n ${!var:-} ]] || {
        echo "rabbitmq-entrypoint: $var is not set" >&2
        exit 1
    }
done

rm -f /tmp/marquee-users-ready
docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' TERM INT

# The CLI must find the node's Erlang cookie ($HOME is /var/lib/rabbitmq in the image): were it to
# start first, it would write a cookie of its own, owned by whoever runs this, that the node then
# cannot read. The node writes it on its first start.
for _ in $(seq 120); do
    [[ -s $HOME/.erlang.cookie ]] && break
    sleep 1
done

topology='^marquee\.fetch(\.jobs|\.retry|\.dead|\.dlx)?$'
user() { # name password configure write read
    rabbitmqctl -q add_user "$1" "$2" 2>/dev/null || rabbitmqctl -q change_password "$1" "$2"
    rabbitmqctl -q set_user_tags "$1"
    rabbitmqctl -q set_permissions -p / "$1" "$3" "$4" "$5"
}
# await_startup waits for a node that is booting, but fails at once while the node has not yet
# registered with epmd (just after the cookie appears, or always where the image ships a cookie):
# so it is retried, for up to 5 minutes, while the server process lives.
node_up=false
for _ in $(seq 150); do
    if rabbitmqctl -q await_startup --timeout 30 >/dev/null 2>&1; then
        node_up=true
        break
    fi
    kill -0 "$server" 2>/dev/null || break
    sleep 2
done
if [[ $node_up == true ]]; then
    user marquee_scheduler "$MARQUEE_SCHEDULER_AMQP_PASSWORD" "$topology" "$topology" \
        '^marquee\.fetch(\.jobs|\.retry|\.dlx)?$'
    user marquee_worker "$MARQUEE_WORKER_AMQP_PASSWORD" "$topology" "$topology" "$topology"
    touch /tmp/marquee-users-ready
    echo "rabbitmq-entrypoint: users marquee_scheduler and marquee_worker ready"
else
    echo "rabbitmq-entrypoint: the node did not start; no users made (the healthcheck stays failing)" >&2
fi
# A signal interrupts `wait`: wait on until the server has stopped, and exit with its status.
status=0
wait "$server" || status=$?
while kill -0 "$server" 2>/dev/null; do wait "$server" || status=$?; done
exit "$status"
