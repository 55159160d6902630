# shellcheck shell=bash
# scripts/cluster.sh: the configuration of its HAProxy, the one address clients use for each service.
#
#   HTTP (the APIs): a replica gets requests only while its /readyz answers 200. A request that
#   fails on one replica before any answer reached the client (connection refused or reset, an
#   empty or broken answer, 5xx: a replica killed with requests in flight) is sent again to another
#   one (retry-on, redispatch, which avoids the server that failed); /search is a GET, safe to repeat.
#   AMQP (the RabbitMQ nodes, TCP): the workers and schedulers take one URL, so a stopped node costs
#   them one reconnection, which lands on a running node; connections to a node marked down are cut
#   so their clients reconnect at once rather than at their next heartbeat.
#   Stats: /stats (HTML) and /stats;csv on their own port, for people and the cluster test.

# haproxy_write_config FILE HTTP_PORT AMQP_PORT STATS_PORT API_PORTS AMQP_PORTS (ports space-separated)
haproxy_write_config() {
    local file=$1 http_port=$2 amqp_port=$3 stats_port=$4 port i
    local -a api_ports amqp_ports
    read -r -a api_ports <<<"$5"
    read -r -a amqp_ports <<<"$6"
    {
        cat <<CONF
# Written by scripts/cluster.sh at every start (lib/haproxy.sh says why each setting is there).
global
    log stdout format raw local0 info

defaults
    log global
    timeout connect 2s
    retries 3

frontend api
    mode http
    bind 127.0.0.1:$http_port
    option httplog
    # Only what went wrong, retries and redispatches included.
    option dontlog-normal
    timeout client 60s
    timeout http-request 10s
    timeout http-keep-alive 60s
    monitor-uri /lb-health
    monitor fail if { nbsrv(api) lt 1 }
    default_backend api

backend api
    mode http
    balance roundrobin
    timeout server 30s
    option redispatch 1
    retry-on all-retryable-errors
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    # A refused connection marks the replica down at once instead of after two failed checks; a
    # check may take 2 s (a replica busy loading a snapshot, or built with sanitizers) before it fails.
    timeout check 2s
    default-server check inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down
CONF
        i=1
        for port in "${api_ports[@]}"; do
            echo "    server api-$i 127.0.0.1:$port"
            i=$((i + 1))
        done
        cat <<CONF

frontend amqp
    mode tcp
    bind 127.0.0.1:$amqp_port
    option tcplog
    # Above the AMQP heartbeat (30 s): idle connections are the clients' to close.
    timeout client 3m
    default_backend rabbitmq

backend rabbitmq
    mode tcp
    balance leastconn
    timeout server 3m
    default-server check inter 1s fall 1 rise 2 on-marked-down shutdown-sessions
CONF
        i=1
        for port in "${amqp_ports[@]}"; do
            echo "    server rabbitmq-$i 127.0.0.1:$port"
            i=$((i + 1))
        done
        cat <<CONF

listen stats
    mode http
    bind 127.0.0.1:$stats_port
    no log
    timeout client 10s
    timeout server 10s
    stats enable
    stats uri /stats
    stats refresh 5s
CONF
    } >"$file.tmp"
    mv -f -- "$file.tmp" "$file"
}
