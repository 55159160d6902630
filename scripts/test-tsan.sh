#!/usr/bin/env bash
# `make test-tsan` (and CI): a ThreadSanitizer build in build-tsan/ (RelWithDebInfo, no benchmarks),
# then the unit tests and the integration tests whose code runs on several threads at once:
#   pipeline     scheduler -> worker -> API end to end: parse threads, consumers, snapshot reloads
#   ingestion    the worker's parallel parse/normalise pipeline (--threads) into PostgreSQL
#   coalescing   worker consumers deciding on slots of one provider concurrently
#   isolation    a slow and a quick provider ingested at the same time by one worker
#   api          snapshot swaps (notify, version check) while requests are served; SIGTERM
#   api_connections  the API's I/O threads under thousands of connections, the sweep, the cap
#   api_events   event lookups handed from I/O threads to the reader threads and back, the cache
#   worker_metrics   the metric shards written by consumers and read by the exporter thread
#   restart      a job in hand finishing while the signal thread asks the worker to stop
# Every process (tests and the binaries they start) writes its TSan reports to
# build-tsan/tsan-reports/; any report fails the run, even one from a child whose exit code the test
# does not look at. tests/tsan.supp holds the suppressions (third-party code only).
#
# Settings: JOBS (compile jobs, default nproc), TSAN_DIR (default build-tsan),
# TSAN_TESTS (ctest -R regex for the integration tests, default the list above).
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
readonly dir=${TSAN_DIR:-build-tsan}
readonly jobs=${JOBS:-$(nproc)}
readonly tests=${TSAN_TESTS:-'^(pipeline|ingestion|coalescing|isolation|api|api_connections|api_events|worker_metrics|restart)\.'}
readonly reports=$root/$dir/tsan-reports

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMARQUEE_TSAN=ON -DMARQUEE_BENCH=OFF \
    -DMARQUEE_WERROR=OFF # build-ci/ holds the -Werror build; here only TSan matters
cmake --build "$dir" -j "$jobs"

rm -rf -- "$reports"
mkdir -p -- "$reports"
# halt_on_error=0: one run shows every race. second_deadlock_stack: both stacks of a lock inversion.
export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp log_path=$reports/tsan halt_on_error=0 second_deadlock_stack=1 history_size=4"

status=0
(cd "$dir" && ctest --output-on-failure -L unit) || status=$?
(cd "$dir" && ctest --output-on-failure -L integration -R "$tests") || status=$?

shopt -s nullglob
found=("$reports"/tsan.*)
if ((${#found[@]} > 0)); then
    echo "test-tsan: ${#found[@]} process(es) reported data races or other TSan errors:" >&2
    for report in "${found[@]}"; do
        echo "==== $report" >&2
        cat -- "$report" >&2
    done
    status=1
fi
if ((status == 0)); then echo "test-tsan: no ThreadSanitizer reports"; fi
exit "$status"
