#pragma once
// The worker's metrics, registered once and shared by every consumer thread (updates are atomic).
#include "marquee/metrics/metrics.hpp"

namespace marquee::worker {

struct worker_metrics {
    explicit worker_metrics(metrics::registry& registry)
        : succeeded(registry.make_counter(runs_name, runs_help, {{"status", "succeeded"}})),
          failed(registry.make_counter(runs_name, runs_help, {{"status", "failed"}})),
          skipped(registry.make_counter(runs_name, runs_help, {{"status", "skipped"}})),
          retries(registry.make_counter("marquee_worker_retries_total",
                                        "Failed jobs handed to the retry queue for another attempt")),
          dead_lettered(registry.make_counter("marquee_worker_dead_lettered_total",
                                              "Jobs sent to the dead-letter queue (out of attempts, or unreadable)")),
          events_written(registry.make_counter("marquee_worker_events_written_total",
                                               "New or changed events written by succeeded runs")),
          run_duration(registry.make_histogram("marquee_worker_run_duration_seconds",
                                               "Time from taking a job to knowing its outcome, every outcome",
                                               {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300})) {}

    static constexpr const char* runs_name = "marquee_worker_runs_total";
    static constexpr const char* runs_help = "Jobs handled, by outcome (failed counts every failed attempt)";

    metrics::counter& succeeded;
    metrics::counter& failed;
    metrics::counter& skipped;
    metrics::counter& retries;
    metrics::counter& dead_lettered;
    metrics::counter& events_written;
    metrics::histogram& run_duration;
};

}  // namespace marquee::worker
