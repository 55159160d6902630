# shellcheck shell=bash disable=SC2154 # rmq_node, rmq_ctl, ...: lib/rabbitmq.sh's rmq_configure sets them
# scripts/cluster.sh: RabbitMQ nodes 2 and 3 next to scripts/services.sh's node 1, clustered with it.
# Sourced after lib/common.sh and lib/rabbitmq.sh; rmq_cluster_configure DIR HASH comes first.
#
# Node N lives under DIR/rabbitmq-N and is run by lib/rabbitmq.sh exactly as node 1 is (its own AMQP
# and distribution ports, node name marquee-HASH-N@localhost, tag MARQUEE_SERVICE=rabbitmq@DIR/rabbitmq-N),
# with node 1's Erlang cookie and node 1's epmd, through which the nodes find each other. A fresh
# node is joined to node 1 (stop_app, reset, join_cluster, start_app); a node that was a member
# rejoins by itself when it starts. The fetch queues are quorum queues (declared by the programs):
# declared on a 3-node cluster they get a member on each node.

rmq_cluster_configure() {
    readonly rmq_cluster_dir=$1
    readonly rmq_cluster_hash=$2
}

rmq_member_dir() { echo "$rmq_cluster_dir/rabbitmq-$1"; }

# rmq_member N COMMAND...: runs COMMAND in a subshell where lib/rabbitmq.sh is configured for node N
# (its settings are read-only, so one shell serves one node).
rmq_member() {
    local n=$1
    shift
    (
        rmq_configure "$(rmq_member_dir "$n")" "$rmq_cluster_hash-$n"
        "$@"
    )
}

rmq_member_running() { rmq_member "$1" rmq_running; }
rmq_member_node() { rmq_member "$1" rmq_print_node; }
rmq_member_ctl() { rmq_member "$1" rmq_print_ctl; }
rmq_print_node() { echo "$rmq_node"; }
rmq_print_ctl() { echo "$rmq_ctl"; }

# rmq_member_start N AMQP_PORT DIST_PORT EPMD_PORT PASSWORD COOKIE_FILE: starts node N unless it runs.
rmq_member_start() {
    local n=$1
    shift
    rmq_member "$n" rmq_member_start_here "$@"
}
rmq_member_start_here() {
    local amqp_port=$1 dist_port=$2 epmd_port=$3 password=$4 cookie=$5
    if rmq_running; then
        say "RabbitMQ node $rmq_node already running"
        return 0
    fi
    kill_tagged "$rmq_tag" "RabbitMQ node $rmq_node"
    mkdir -p -- "$rmq_home"
    chmod 0700 -- "$rmq_home"
    # The cluster's cookie, whatever an earlier start left (install replaces a read-only file).
    install -m 0400 -- "$cookie" "$rmq_home/.erlang.cookie"
    rmq_prepare "$amqp_port" "$dist_port" "$epmd_port" "$password"
    rmq_start "$amqp_port"
}

# rmq_member_join N NODE1_CTL: makes node N a member of node 1's cluster unless it is one.
rmq_member_join() {
    local n=$1 node1_ctl=$2 node1 status
    node1=$(timeout 60 "$node1_ctl" -q eval 'node().' 2>/dev/null | tr -d "'\r") ||
        die "cannot ask RabbitMQ node 1 for its name"
    status=$(timeout 60 "$node1_ctl" -q cluster_status --formatter json 2>&1) ||
        die "rabbitmqctl cluster_status on node 1 failed: $status"
    if grep -qF "\"$(rmq_member_node "$n")\"" <<<"$status"; then return 0; fi
    rmq_member "$n" rmq_member_join_here "$node1"
}
rmq_member_join_here() {
    local node1=$1
    say "joining RabbitMQ node $rmq_node to $node1"
    rmq_ctl_checked stop_app
    rmq_ctl_checked reset
    rmq_ctl_checked join_cluster "$node1"
    rmq_ctl_checked start_app
    timeout "$WAIT_SECONDS" "$rmq_ctl" -q await_startup --timeout "$WAIT_SECONDS" >/dev/null 2>&1 ||
        die "RabbitMQ node $rmq_node did not start again after joining $node1"
}

# Stops node N gracefully (its clients are told; quorum queues elect new leaders), then kills leftovers.
rmq_member_stop() { rmq_member "$1" rmq_member_stop_here; }
rmq_member_stop_here() {
    [[ -x $rmq_ctl ]] && rmq_stop
    kill_tagged "$rmq_tag" "RabbitMQ node $rmq_node"
    rm -f -- "$rmq_dir/rabbitmq.pid"
}
