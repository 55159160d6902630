# shellcheck shell=bash
# scripts/cluster.sh: the cluster's own processes (APIs, workers, schedulers, provider mocks,
# HAProxy), each a "member" with a name (api-1, worker-2, haproxy, ...). Sourced after
# lib/common.sh; members_configure DIR comes first.
#
# A member runs detached (its own session, so it outlives the script and a terminal's Ctrl-C), with
# exactly the environment it is given plus PATH, LC_ALL, TZ=UTC and the sanitizers' options, its
# output appended to DIR/logs/NAME.log, its pid in DIR/run/NAME.pid, and MARQUEE_CLUSTER=NAME@DIR in
# its environment: `stop` finds leftovers by that tag and never touches anybody else's processes.

members_configure() {
    readonly members_dir=$1
    readonly members_run=$1/run
    readonly members_logs=$1/logs
    mkdir -p -- "$members_run" "$members_logs"
}

member_tag() { echo "MARQUEE_CLUSTER=$1@$members_dir"; }
member_log() { echo "$members_logs/$1.log"; }

# The member's pid when it runs (its pid file names a live process carrying its tag).
member_pid() {
    local pid
    pid=$(cat "$members_run/$1.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    grep -qsxzF -- "$(member_tag "$1")" "/proc/$pid/environ" || return 1
    echo "$pid"
}
member_running() { member_pid "$1" >/dev/null; }

# member_spawn NAME [VAR=VALUE...] -- COMMAND...: starts the member unless it runs.
member_spawn() {
    local name=$1
    shift
    # TZ fixed: a member restarted by a test (which runs under another TZ) runs as its peers do.
    local -a environment=("$(member_tag "$name")" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        "LC_ALL=C.UTF-8" "TZ=UTC")
    local variable
    # ASan/UBSan/LSan builds (CI's) read their options from these.
    for variable in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [[ -n ${!variable:-} ]] && environment+=("$variable=${!variable}")
    done
    while (($# > 0)) && [[ $1 != -- ]]; do
        environment+=("$1")
        shift
    done
    shift # --
    if member_running "$name"; then
        say "$name already running (pid $(member_pid "$name"))"
        return 0
    fi
    kill_tagged "$(member_tag "$name")" "$name" # a half-dead earlier incarnation
    echo "---- $(date -u +%FT%TZ) starting: $*" >>"$(member_log "$name")"
    # Not a process group leader (no job control here), so setsid execs without forking and $! is the
    # member itself. 9>&-: the member must not hold the cluster's lock.
    (exec setsid env -i "${environment[@]}" "$@" </dev/null >>"$(member_log "$name")" 2>&1 9>&-) &
    local pid=$! deadline=$((SECONDS + 10))
    echo "$pid" >"$members_run/$name.pid"
    # Until the exec, the process does not carry the tag yet; member_wait tells a failed start.
    while ! member_running "$name" && process_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
}

# A live process, not a zombie (an exited member stays one until this script ends).
process_alive() {
    local stat
    stat=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $stat && ${stat%% *} != Z ]]
}

# member_wait NAME URL: until URL answers 2xx, within WAIT_SECONDS; fails when the member exits.
member_wait() {
    local name=$1 url=$2 deadline=$((SECONDS + WAIT_SECONDS))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! member_running "$name"; then
            log_tail "$(member_log "$name")"
            die "$name exited during start (log: $(member_log "$name"))"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$(member_log "$name")"
            die "$name did not answer $url within ${WAIT_SECONDS}s"
        fi
        sleep 0.2
    done
}

# member_stop NAME: SIGTERM, SIGKILL after 15 s (kill_tagged), so a member that ignores the signal
# or hangs does not stop the rest from stopping.
member_stop() {
    local name=$1
    if member_running "$name"; then say "stopping $name"; fi
    kill_tagged "$(member_tag "$name")" "$name"
    rm -f -- "$members_run/$name.pid"
}
