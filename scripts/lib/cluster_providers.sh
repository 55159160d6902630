# shellcheck shell=bash
# scripts/cluster.sh: the providers of the cluster: one static feed each (bench-generate-feed with
# the provider's number as seed, written once: the same bytes at every fetch, so what a run of the
# cluster leaves in PostgreSQL is what one ingestion of each feed leaves), one marquee-provider-mock
# serving it, and the provider registered (or updated) in PostgreSQL with that mock's URL. Sourced
# after lib/common.sh and lib/cluster_members.sh.

provider_name() { echo "provider-$1"; }
provider_feed_dir() { echo "$1/feeds/$(provider_name "$2")"; }

# provider_feed DIR N EVENTS BIN: DIR/feeds/provider-N/feed.xml, made unless it exists.
provider_feed() {
    local base=$1 n=$2 events=$3 bin=$4 feed_dir
    feed_dir=$(provider_feed_dir "$base" "$n")
    [[ -s $feed_dir/feed.xml ]] && return 0
    [[ -x $bin/bench-generate-feed ]] ||
        die "$bin/bench-generate-feed does not exist (a build with MARQUEE_BENCH=ON makes it)"
    mkdir -p -- "$feed_dir"
    "$bin/bench-generate-feed" --events "$events" --zones 3 --seed "$n" --offline-percent 5 >"$feed_dir/feed.tmp" ||
        die "bench-generate-feed failed"
    mv -f -- "$feed_dir/feed.tmp" "$feed_dir/feed.xml"
}

# provider_mock_start DIR N PORT BIN: member mock-N serving the feed of provider N.
provider_mock_start() {
    local base=$1 n=$2 port=$3 bin=$4
    member_spawn "mock-$n" LOG_LEVEL=warn -- "$bin/marquee-provider-mock" --listen "127.0.0.1:$port" \
        --dir "$(provider_feed_dir "$base" "$n")"
    member_wait "mock-$n" "http://127.0.0.1:$port/_control/stats"
}

# provider_register N PORT SCHEDULE BIN DATABASE_URL: adds provider N, or points it at this start's
# mock and schedule.
provider_register() {
    local n=$1 port=$2 schedule=$3 bin=$4 url=$5 name output
    name=$(provider_name "$n")
    local -a settings=(--name "$name" --url "http://127.0.0.1:$port/api/events" --schedule "$schedule")
    local -a scheduler=(env "DATABASE_URL=$url" "$bin/marquee-scheduler" provider)
    if "${scheduler[@]}" list 2>/dev/null | grep -qE "^${name}[[:space:]]"; then
        output=$("${scheduler[@]}" update "${settings[@]}" 2>&1) || die "could not update provider $name: $output"
    else
        output=$("${scheduler[@]}" add "${settings[@]}" 2>&1) || die "could not add provider $name: $output"
    fi
}
