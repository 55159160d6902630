#pragma once
// The ingestion's side of PostgreSQL: runs in ingestion_runs, the per-provider lock, and the
// transaction that merges a staged feed into events, zones and event_history.
#include "marquee/domain/provider.hpp"
#include "marquee/error.hpp"
#include "marquee/ids/event_id.hpp"
#include "marquee/ingest/pipeline.hpp"
#include "marquee/pg/advisory_lock.hpp"

#include <pqxx/connection>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace marquee::pg {

struct ingestion_report {
    std::size_t events_seen = 0;
    std::size_t events_changed = 0;  // new or changed events written
    std::size_t events_rejected = 0;
    std::size_t events_unchanged = 0;
    std::int64_t data_version = 0;  // the new version, or 0 when searchable data did not change
    /// The first provider.caps.max_rejections_kept rejections; events_rejected counts them all.
    std::vector<feed::rejection> rejections;
};

/// PostgreSQL refused the data of a feed (a data error: SQLSTATE class 22 or 23) that the core's
/// validation let through. Names the event when the server's message identifies its row.
class refused_data : public storage_error {
public:
    /// The message names the event first, so that ingestion_runs.error says which one it was.
    refused_data(const storage_error& cause, std::optional<ids::uuid> event)
        : storage_error(event ? "event " + event->to_string() + ": " + cause.what() : std::string(cause.what()),
                        cause.sqlstate()),
          event_(event) {}
    const std::optional<ids::uuid>& event() const noexcept { return event_; }

private:
    std::optional<ids::uuid> event_;
};

/// Events to reject whatever the feed says of them, with the reason: the events PostgreSQL
/// refused in an earlier try of the same feed.
using exclusions = std::unordered_map<ids::uuid, std::string, ids::uuid_hash>;

/// The provider's ingestion lock: at most one ingestion of a provider runs at a time. Hold it
/// with pg::advisory_lock (waiting) or advisory_lock::try_acquire.
advisory_key provider_lock_key(std::string provider);

class ingestion_store {
public:
    explicit ingestion_store(pqxx::connection& connection) : connection_(connection) {}

    /// Records a new 'running' run (marking any run the provider left 'running' as abandoned).
    /// Call while holding the provider's lock (provider_lock_key). `scheduled_for` is RFC 3339 or empty.
    std::int64_t start_run(const std::string& provider, const std::string& job_id, const std::string& scheduled_for);

    /// Whether a run of `provider` for `slot` (RFC 3339) or a later slot has succeeded.
    bool has_success_at_or_after(const std::string& provider, const std::string& slot);

    /// Records the failure of a run. Never throws: the failure being recorded matters more.
    void fail_run(std::int64_t run_id, const std::string& error, std::size_t seen = 0,
                  std::size_t rejected = 0) noexcept;

    /// Parses `document` (in place) and merges it into the provider's events in one transaction
    /// that also marks the run succeeded. Events in `excluded` are rejected. Throws feed_error
    /// (nothing written) for an unreadable feed, refused_data for a data error, storage_error for
    /// other database failures.
    ingestion_report ingest(std::int64_t run_id, const domain::provider& provider, std::span<char> document,
                            const ingest::pipeline_options& options, const exclusions& excluded = {});

private:
    ingestion_report ingest_in_transaction(std::int64_t run_id, const domain::provider& provider,
                                           std::span<char> document, const ingest::pipeline_options& options,
                                           const exclusions& excluded);

    pqxx::connection& connection_;
};

}  // namespace marquee::pg
