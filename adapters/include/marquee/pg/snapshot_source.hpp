#pragma once
// Keeps an in-memory search::snapshot in step with PostgreSQL. At start (and whenever a change
// cannot be applied) it loads every searchable event, streamed through a cursor in (starts_at, id)
// order; afterwards it reads only the events stamped with a version above the one it holds
// (migrations/0004) and applies them to a copy that shares every untouched block. It looks when
// NOTIFY marquee_data_version says so or a periodic version check finds a change; each read is
// one REPEATABLE READ transaction, and the new snapshot is swapped in atomically.
// The database may be a streaming replica: notifications then come from notify_url (the primary),
// and a notified version the replica has not replayed yet is looked for again every few ms.
// All database work happens on one background thread, never on the request path. When the
// database is unreachable the last snapshot stays current and the thread reconnects with backoff.
#include "marquee/search/snapshot_updater.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <pqxx/connection>
#include <pqxx/transaction_base>

namespace marquee::pg {

struct snapshot_source_options {
    std::string database_url;
    /// Where to LISTEN for new versions; empty: database_url, unless that is a hot standby (which
    /// cannot LISTEN), when only the periodic check finds changes.
    std::string notify_url;
    /// Rows per FETCH of a full load: each FETCH is one statement under statement_timeout.
    std::size_t full_load_chunk = 20000;
    /// How often the data version is checked when no notification arrives.
    std::chrono::milliseconds refresh_interval{5000};
    /// Server-side deadline of each statement.
    std::chrono::milliseconds statement_timeout{10000};
    /// libpq connect_timeout, unless the URL sets one.
    std::chrono::seconds connect_timeout{5};
    /// Reconnect backoff doubles from 100 ms up to this.
    std::chrono::milliseconds max_backoff{5000};
};

class snapshot_source {
public:
    /// Does not connect; start() does. Throws std::system_error when no wake-up pipe can be made.
    explicit snapshot_source(snapshot_source_options options);
    snapshot_source(const snapshot_source&) = delete;
    snapshot_source& operator=(const snapshot_source&) = delete;
    ~snapshot_source();

    /// Starts the background thread; the first load happens there.
    void start();
    /// Stops and joins the background thread, interrupting any wait. Idempotent.
    void stop() noexcept;

    /// The latest snapshot, or null until the first load succeeded.
    std::shared_ptr<const search::snapshot> current() const noexcept { return current_.load(); }
    /// Bumped on every swap; lets readers cache current() per thread and re-read only on change.
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    /// Whether the last database operation succeeded.
    bool database_reachable() const noexcept { return reachable_.load(std::memory_order_relaxed); }
    /// When the current snapshot was last known to match the database (load or version check).
    std::chrono::system_clock::time_point verified_at() const noexcept;
    /// Full loads and applied changes.
    std::uint64_t loads() const noexcept { return loads_.load(std::memory_order_relaxed); }
    std::uint64_t deltas() const noexcept { return deltas_.load(std::memory_order_relaxed); }
    std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

private:
    class version_receiver;

    void run() noexcept;
    // Brings the snapshot up to the database's version, by a delta when it can.
    void refresh(pqxx::connection& conn);
    void full_load(pqxx::transaction_base& tx, std::int64_t version);
    void publish();
    // Sleeps until `timeout` passes, stop() is called or, when listen_fd >= 0, that socket is
    // readable. Returns true when the socket is readable.
    bool wait(int listen_fd, std::chrono::milliseconds timeout) noexcept;

    snapshot_source_options options_;
    search::snapshot_updater updater_;  // the loading thread's only
    // The highest version a notification announced; above the database's, a replica lags.
    std::int64_t notified_version_ = 0;
    int wake_read_fd_ = -1;
    int wake_write_fd_ = -1;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::shared_ptr<const search::snapshot>> current_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> reachable_{false};
    std::atomic<std::int64_t> verified_at_ns_{0};
    std::atomic<std::uint64_t> loads_{0};
    std::atomic<std::uint64_t> deltas_{0};
    std::atomic<std::uint64_t> failures_{0};
};

}  // namespace marquee::pg
