# shellcheck shell=bash
# scripts/services.sh: the private RabbitMQ node under DIR/rabbitmq. Sourced after lib/common.sh;
# rmq_configure DIR DIR_HASH comes first, then the rmq_* functions.

readonly RMQ_BIN=/usr/lib/rabbitmq/bin

# Sets the node's paths, its Erlang node name and the tag its processes carry.
rmq_configure() {
    readonly rmq_services_dir=$1
    readonly rmq_dir=$1/rabbitmq
    readonly rmq_home=$1/rabbitmq-home
    readonly rmq_log_dir=$rmq_dir/log
    readonly rmq_ctl=$rmq_dir/rabbitmqctl
    readonly rmq_node="marquee-$2@localhost"
    readonly rmq_tag="MARQUEE_SERVICE=rabbitmq@$1"
}

# The environment every rabbitmq-server and rabbitmqctl of this DIR runs with (and nothing else).
rmq_environment() {
    local amqp_port=$1 dist_port=$2 epmd_port=$3
    cat <<ENV
$rmq_tag
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C.UTF-8
LANG=C.UTF-8
HOME=$rmq_home
RABBITMQ_NODENAME=$rmq_node
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$amqp_port
RABBITMQ_DIST_PORT=$dist_port
RABBITMQ_MNESIA_BASE=$rmq_dir/mnesia
RABBITMQ_LOG_BASE=$rmq_log_dir
RABBITMQ_PID_FILE=$rmq_dir/rabbitmq.pid
RABBITMQ_CONFIG_FILE=$rmq_dir/rabbitmq.conf
RABBITMQ_ADVANCED_CONFIG_FILE=$rmq_dir/advanced.config
RABBITMQ_ENABLED_PLUGINS_FILE=$rmq_dir/enabled_plugins
RABBITMQ_CONF_ENV_FILE=$rmq_dir/rabbitmq-env.conf
RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
RABBITMQ_CTL_DIST_PORT_MIN=35672
RABBITMQ_CTL_DIST_PORT_MAX=35772
ERL_EPMD_PORT=$epmd_port
ERL_EPMD_ADDRESS=127.0.0.1
ENV
}

# The node's files: Erlang cookie, configuration, environment and the rabbitmqctl wrapper.
rmq_prepare() {
    local amqp_port=$1 dist_port=$2 epmd_port=$3 password=$4
    mkdir -p -- "$rmq_dir/mnesia" "$rmq_log_dir" "$rmq_home"
    chmod 0700 -- "$rmq_dir" "$rmq_home"
    if [[ ! -s $rmq_home/.erlang.cookie ]]; then
        (umask 077 && od -An -N20 -tu1 /dev/urandom | tr -s ' \n' '\n' | grep . |
            awk '{printf "%c", 65 + $1 % 26}' >"$rmq_home/.erlang.cookie")
        chmod 0400 -- "$rmq_home/.erlang.cookie"
    fi
    : >"$rmq_dir/rabbitmq-env.conf" # keeps /etc/rabbitmq/rabbitmq-env.conf out
    echo "[]." >"$rmq_dir/enabled_plugins"
    (
        umask 077
        cat >"$rmq_dir/rabbitmq.conf" <<CONF
# Written by scripts/services.sh at every start.
loopback_users = none
disk_free_limit.absolute = 50MB
default_vhost = /
default_user = marquee
default_pass = $password
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.console = false
log.file.level = info
CONF
        rmq_environment "$amqp_port" "$dist_port" "$epmd_port" >"$rmq_dir/environment"
        # The one way to talk to this node: same HOME (cookie), node name and epmd port.
        cat >"$rmq_ctl" <<WRAPPER
#!/usr/bin/env bash
# rabbitmqctl for the node of $rmq_services_dir (written by scripts/services.sh).
mapfile -t environment <"$rmq_dir/environment"
exec env -i "\${environment[@]}" "$RMQ_BIN/rabbitmqctl" -n "$rmq_node" "\$@"
WRAPPER
    )
    chmod 0700 -- "$rmq_ctl"
}

rmq_running() {
    local pid
    pid=$(cat "$rmq_dir/rabbitmq.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    grep -qsxzF -- "$rmq_tag" "/proc/$pid/environ"
}

rmq_start() {
    local amqp_port=$1
    say "starting RabbitMQ node $rmq_node on 127.0.0.1:$amqp_port"
    rm -f -- "$rmq_dir/rabbitmq.pid"
    local -a environment
    mapfile -t environment <"$rmq_dir/environment"
    # 9>&-: the node outlives us and must not inherit the services lock (fd 9).
    (
        cd "$rmq_dir" || exit
        exec env -i "${environment[@]}" setsid "$RMQ_BIN/rabbitmq-server" </dev/null >>"$rmq_log_dir/startup.log" 2>&1 9>&-
    ) &
    # Until the subshell has exec'd, no process carries the tag yet: only when the starter is gone
    # too has RabbitMQ exited (setsid may fork, leaving the tagged child behind it).
    local starter=$!
    local deadline=$((SECONDS + WAIT_SECONDS))
    until accepts_tcp "$amqp_port" && rmq_running; do
        if ! kill -0 "$starter" 2>/dev/null && [[ -z $(tagged_pids "$rmq_tag") ]]; then
            log_tail "$rmq_log_dir/startup.log" "$rmq_log_dir/$rmq_node.log"
            die "RabbitMQ exited during start (logs: $rmq_log_dir)"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$rmq_log_dir/startup.log" "$rmq_log_dir/$rmq_node.log"
            die "RabbitMQ did not accept connections on 127.0.0.1:$amqp_port within ${WAIT_SECONDS}s"
        fi
        sleep 0.5
    done
    if ! timeout "$WAIT_SECONDS" "$rmq_ctl" -q await_startup --timeout "$WAIT_SECONDS" >/dev/null 2>&1; then
        log_tail "$rmq_log_dir/startup.log" "$rmq_log_dir/$rmq_node.log"
        die "RabbitMQ did not finish booting within ${WAIT_SECONDS}s"
    fi
}

rmq_ctl_checked() {
    local output
    if ! output=$(timeout 120 "$rmq_ctl" "$@" 2>&1); then
        echo "$output" >&2
        die "rabbitmqctl $1 failed"
    fi
}

# First boot creates marquee from rabbitmq.conf; this repairs a node whose password changed (DIR/env
# was deleted) and removes guest if it exists.
rmq_provision() {
    local password=$1 users
    users=$(timeout 120 "$rmq_ctl" -q list_users 2>&1) || {
        echo "$users" >&2
        die "rabbitmqctl list_users failed"
    }
    if ! grep -q '^marquee[[:space:]]' <<<"$users"; then
        rmq_ctl_checked add_user marquee "$password"
    elif ! timeout 120 "$rmq_ctl" -q authenticate_user marquee "$password" >/dev/null 2>&1; then
        rmq_ctl_checked change_password marquee "$password"
    fi
    if ! grep -q '^marquee[[:space:]].*administrator' <<<"$users"; then
        rmq_ctl_checked set_user_tags marquee administrator
        rmq_ctl_checked set_permissions -p / marquee '.*' '.*' '.*'
    fi
    if grep -q '^guest[[:space:]]' <<<"$users"; then rmq_ctl_checked delete_user guest; fi
    # Least privilege (docs/adr/0015): neither service is an administrator. Both declare the fetch
    # topology; the scheduler publishes (and reads only what declaring the jobs and retry queues
    # needs), the worker consumes and republishes (retries, dead letters).
    local topology='^marquee\.fetch(\.jobs|\.retry|\.dead|\.dlx)?$'
    rmq_service_user marquee_scheduler "$password" "$topology" "$topology" '^marquee\.fetch(\.jobs|\.retry|\.dlx)?$'
    rmq_service_user marquee_worker "$password" "$topology" "$topology" "$topology"
}

# A user of the default vhost with no tags and the given configure/write/read patterns.
rmq_service_user() {
    local name=$1 password=$2
    if ! timeout 120 "$rmq_ctl" -q authenticate_user "$name" "$password" >/dev/null 2>&1; then
        timeout 120 "$rmq_ctl" -q add_user "$name" "$password" >/dev/null 2>&1 ||
            rmq_ctl_checked change_password "$name" "$password"
    fi
    rmq_ctl_checked set_user_tags "$name"
    rmq_ctl_checked set_permissions -p / "$name" "$3" "$4" "$5"
}

rmq_stop() {
    if rmq_running; then
        say "stopping RabbitMQ node $rmq_node"
        timeout 90 "$rmq_ctl" -q stop "$rmq_dir/rabbitmq.pid" >/dev/null 2>&1 || say "rabbitmqctl stop failed; killing"
    fi
}
