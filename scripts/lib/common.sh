# shellcheck shell=bash
# scripts/services.sh: messages, processes found by their tag, free loopback ports.
# Sourced, never run; defines functions and the state they share, starts nothing.

say() { echo "services: $*"; }
die() {
    echo "services: error: $*" >&2
    exit 1
}

log_tail() {
    local file
    for file in "$@"; do
        [[ -s $file ]] || continue
        echo "---- last lines of $file" >&2
        tail -n 40 -- "$file" >&2
    done
}

random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# ----------------------------------------------------------------------------------------------------
# processes

# Pids of live processes whose environment carries exactly the given tag.
tagged_pids() {
    local file pid
    while IFS= read -r file; do
        pid=${file#/proc/}
        pid=${pid%/environ}
        [[ $pid != "$$" && $pid != "$BASHPID" ]] && echo "$pid"
    done < <(grep -lsxzF -- "$1" /proc/[0-9]*/environ 2>/dev/null)
    return 0
}

# SIGTERM to every process carrying the tag, SIGKILL to those still there after 15 s.
kill_tagged() {
    local tag=$1 what=$2 deadline
    local -a pids
    mapfile -t pids < <(tagged_pids "$tag")
    ((${#pids[@]} == 0)) && return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while [[ -n $(tagged_pids "$tag") ]] && ((SECONDS < deadline)); do sleep 0.2; done
    mapfile -t pids < <(tagged_pids "$tag")
    if ((${#pids[@]} > 0)); then
        say "killing leftover $what processes: ${pids[*]}"
        kill -KILL "${pids[@]}" 2>/dev/null || true
        sleep 0.2
    fi
}

# ----------------------------------------------------------------------------------------------------
# ports

# TIME-WAIT leftovers of an earlier run do not count: the servers bind with SO_REUSEADDR.
port_busy() { [[ -n $(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null) ]]; }
# Someone listens on the port. Closed connections of a stopped server (FIN-WAIT, until their clients
# notice) keep it busy by port_busy, but a server setting SO_REUSEADDR, as PostgreSQL does, binds it.
port_listened() { [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }

accepts_tcp() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports handed out by this run: pick_port never returns one twice. It runs in $(...), a subshell, so
# the caller records what it got with take_port.
declare -A taken_ports=()
take_port() { taken_ports[$1]=1; }

# A free port: the preferred one if given and free, else a random free one in 20000-31999 (below the
# kernel's ephemeral range so outgoing connections do not race us for it).
pick_port() {
    local preferred=${1:-} port tries=0
    if [[ -n $preferred && -z ${taken_ports[$preferred]:-} ]] && ! port_busy "$preferred"; then
        echo "$preferred"
        return
    fi
    while ((tries++ < 500)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        [[ -n ${taken_ports[$port]:-} ]] && continue
        port_busy "$port" && continue
        echo "$port"
        return
    done
    die "no free loopback port found in 20000-31999"
}
