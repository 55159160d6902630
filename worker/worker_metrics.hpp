#pragma once
// The worker's metrics, registered once and shared by every consumer thread (updates are atomic).
#include "marquee/metrics/metrics.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

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
                                               {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300})),
          registry_(registry) {}

    static constexpr const char* runs_name = "marquee_worker_runs_total";
    static constexpr const char* runs_help = "Jobs handled, by outcome (failed counts every failed attempt)";

    metrics::counter& succeeded;
    metrics::counter& failed;
    metrics::counter& skipped;
    metrics::counter& retries;
    metrics::counter& dead_lettered;
    metrics::counter& events_written;
    metrics::histogram& run_duration;

    /// Per-provider outcomes for the alerts on failing and stale providers (deploy/prometheus). A
    /// provider's series appear with its first succeeded or failed job, and at most
    /// max_providers of them: job messages come only from trusted publishers, yet the label set
    /// stays bounded whatever arrives. Thread-safe.
    void provider_succeeded(const std::string& provider) {
        if (auto* p = for_provider(provider)) {
            p->succeeded.inc();
            p->last_success.set(
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
        }
    }
    void provider_failed(const std::string& provider) {
        if (auto* p = for_provider(provider)) p->failed.inc();
    }

    static constexpr std::size_t max_providers = 500;

private:
    struct provider_series {
        metrics::counter& succeeded;
        metrics::counter& failed;
        metrics::gauge& last_success;
    };

    provider_series* for_provider(const std::string& provider) {
        static constexpr const char* provider_runs = "marquee_worker_provider_runs_total";
        static constexpr const char* provider_runs_help =
            "Succeeded and failed jobs by provider (failed: every failed attempt)";
        std::lock_guard lock(mutex_);
        if (auto it = by_provider_.find(provider); it != by_provider_.end()) return &it->second;
        if (by_provider_.size() >= max_providers) return nullptr;
        provider_series series{
            registry_.make_counter(provider_runs, provider_runs_help,
                                   {{"provider", provider}, {"status", "succeeded"}}),
            registry_.make_counter(provider_runs, provider_runs_help, {{"provider", provider}, {"status", "failed"}}),
            registry_.make_gauge("marquee_worker_provider_last_success_timestamp_seconds",
                                 "Unix time of this worker's last succeeded job of the provider (0: none yet)",
                                 {{"provider", provider}})};
        return &by_provider_.emplace(provider, series).first->second;
    }

    metrics::registry& registry_;
    std::mutex mutex_;
    std::map<std::string, provider_series> by_provider_;
};

}  // namespace marquee::worker
