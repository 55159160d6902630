# shellcheck shell=bash
# scripts/image-check.sh and scripts/compose-check.sh: a Docker engine to talk to and the debian:12
# base image. Sourced, never run. The caller defines say() and die() and calls
# docker_engine_stop from its EXIT trap.

docker_started_engine=false
docker_work_dir=

# A Docker engine: the one DOCKER_HOST (or the default socket) names when it answers, else one
# started for this run with its socket, data and images under WORK_DIR/docker (kept for the next
# run): dockerd --storage-driver=vfs --iptables=false --bridge=none, as these machines allow.
docker_engine_start() { # WORK_DIR
    docker_work_dir=$1
    docker info >/dev/null 2>&1 && return 0
    command -v dockerd >/dev/null || die "no Docker engine (install docker.io: scripts/install-deps.sh)"
    local dir=$docker_work_dir/docker
    mkdir -p "$dir"
    export DOCKER_HOST=unix://$dir/docker.sock
    say "starting dockerd (vfs) on $DOCKER_HOST"
    dockerd --storage-driver=vfs --iptables=false --bridge=none --data-root "$dir/data" \
        --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" -H "$DOCKER_HOST" >"$dir/dockerd.log" 2>&1 &
    docker_started_engine=true
    for _ in $(seq 120); do
        docker info >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    tail -n 20 "$dir/dockerd.log" >&2
    die "dockerd did not start"
}

# Stops the engine docker_engine_start started, if it did, and waits for it to go.
docker_engine_stop() {
    [[ $docker_started_engine == true ]] || return 0
    local pidfile=$docker_work_dir/docker/dockerd.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    # dockerd leaves its default network namespace mounted, which would make WORK_DIR undeletable.
    umount "$docker_work_dir/docker/exec/netns/default" 2>/dev/null || true
}

# The debian:12 (and debian:12-slim) base, since no registry is reachable: scripts/debian-base.sh's
# tarball (debootstrap, kept as WORK_DIR/debian-12.tar), `docker import`ed.
docker_base_image() {
    docker image inspect debian:12 >/dev/null 2>&1 || {
        bash "$(dirname -- "${BASH_SOURCE[0]}")/../debian-base.sh" "$docker_work_dir"
        docker import "$docker_work_dir/debian-12.tar" debian:12 >/dev/null
    }
    docker image inspect debian:12-slim >/dev/null 2>&1 || docker tag debian:12 debian:12-slim
}

# The marquee image (Dockerfile) as TAG; the engine's layer cache makes a rebuild of an unchanged
# tree quick.
docker_marquee_image() { # ROOT TAG LOG
    local root=$1 tag=$2 log=$3
    say "docker build -t $tag (compiles marquee in the build stage)"
    DOCKER_BUILDKIT=0 docker build --network host -t "$tag" "$root" >"$log" 2>&1 ||
        {
            tail -n 40 "$log" >&2
            die "docker build failed (log: $log)"
        }
}

docker_standin_images() { # ROOT: the stand-ins for the official third-party images docker-compose.yml names
    local root=$1 service
    for service in postgres rabbitmq haproxy; do
        say "docker build -t marquee-standin/$service:local (tests/compose/$service)"
        DOCKER_BUILDKIT=0 docker build --network host -t "marquee-standin/$service:local" \
            "$root/tests/compose/$service" >"$docker_work_dir/standin-$service.log" 2>&1 ||
            {
                tail -n 30 "$docker_work_dir/standin-$service.log" >&2
                die "building the $service stand-in failed"
            }
    done
}
