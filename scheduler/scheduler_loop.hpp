#pragma once
// The scheduler's decisions, apart from PostgreSQL, RabbitMQ and real time: which provider slots
// are due, claiming each slot before publishing it (so any number of scheduler replicas publish
// every slot once), retrying failed slots while they are current, and picking up provider changes.
// The slots due at one instant go together: one claim, overlapping publishes, one mark.
#include "clock.hpp"
#include "marquee/cron/schedule.hpp"
#include "marquee/domain/provider.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

namespace marquee::scheduler {

/// The providers and slot claims (PostgreSQL in production). Methods throw storage_error.
class slot_store {
public:
    virtual ~slot_store() = default;
    virtual std::vector<domain::provider> enabled_providers() = 0;
    /// Claims all of `slots` at once: the ones this caller won and must publish, in the order
    /// given, and those another scheduler holds unpublished (the rest are published already).
    virtual domain::slot_claims claim_all(std::span<const domain::provider_slot> slots) = 0;
    virtual void mark_all_published(std::span<const domain::provider_slot> slots) = 0;
    /// Gives up claims whose jobs could not be published, so they can be claimed again.
    virtual void release_all(std::span<const domain::provider_slot> slots) = 0;
};

/// Where jobs go (RabbitMQ in production).
class job_sink {
public:
    virtual ~job_sink() = default;
    /// Publishes `jobs`, their confirms overlapping. Returns, per job in order, nullopt once it is
    /// safely queued, otherwise why not (it may still have reached the queue). Never throws for a
    /// queue failure: a job that could not be published is a failure in the result.
    virtual std::vector<std::optional<std::string>> publish_all(std::span<const jobs::fetch_job> jobs,
                                                                std::stop_token stop) = 0;
    /// Called on every loop turn, so an idle connection can service heartbeats. Never throws.
    virtual void idle() noexcept {}
};

struct loop_options {
    /// How often providers are re-read, so added, changed or disabled providers apply without a restart.
    std::chrono::milliseconds reload_interval{std::chrono::seconds{5}};
    /// Wait before retrying a slot whose claim or publish failed (doubling up to retry_max).
    std::chrono::milliseconds retry_initial{std::chrono::milliseconds{500}};
    std::chrono::milliseconds retry_max{std::chrono::seconds{10}};
    /// The most due slots claimed, published and marked together; more wait for the next batch.
    std::size_t max_batch = 256;
};

/// What the loop has done, readable from any thread (the metrics endpoint reads it).
struct loop_stats {
    std::atomic<std::uint64_t> jobs_published{0};
    std::atomic<std::uint64_t> slots_taken_elsewhere{0};  // claimed by another scheduler replica
    std::atomic<std::uint64_t> publish_failures{0};
    std::atomic<std::uint64_t> storage_failures{0};  // failed reloads and claims
    std::atomic<std::int64_t> providers{0};          // scheduled now
    std::atomic<std::int64_t> last_publish_unix{0};  // seconds since the epoch, 0 before the first
};

class scheduler_loop {
public:
    scheduler_loop(slot_store& store, job_sink& sink, clock& clk, loop_options options = {});

    /// Does whatever is due now — reload providers, fire due slots — and returns when something is
    /// next due. Never throws for storage or queue failures: they are logged and retried.
    clock::time_point tick(std::stop_token stop = {});
    /// tick()s until `stop` is requested, sleeping on the clock in between.
    void run(std::stop_token stop);

    /// The slot each provider will fire next (for tests and logs).
    std::map<std::string, std::chrono::sys_seconds> next_slots() const;
    const loop_stats& stats() const noexcept { return stats_; }

private:
    struct entry {
        domain::provider provider;
        cron::schedule schedule;
        std::chrono::sys_seconds next_slot;  // fire when now >= next_slot
        clock::time_point retry_at{};        // after a failure: not before this
        std::chrono::milliseconds backoff{0};
    };

    struct due_slot {
        entry* e;
        std::chrono::sys_seconds slot;
    };

    void reload(clock::time_point now);
    /// Claims, publishes and marks `batch`; per slot, false when it must be retried.
    std::vector<bool> fire(std::span<const due_slot> batch, std::stop_token stop);

    slot_store& store_;
    job_sink& sink_;
    clock& clock_;
    loop_options options_;
    std::map<std::string, entry> entries_;
    std::set<std::string> bad_schedules_;  // "name\nschedule" already reported
    clock::time_point next_reload_{};
    loop_stats stats_;
};

}  // namespace marquee::scheduler
