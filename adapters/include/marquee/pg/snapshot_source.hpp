#pragma once
// Keeps an in-memory search::snapshot in step with PostgreSQL: loads every searchable event and
// the data version in one REPEATABLE READ transaction, reloads when NOTIFY marquee_data_version
// says so or a periodic version check finds a change, and swaps the new snapshot in atomically.
// All database work happens on one background thread, never on the request path. When the
// database is unreachable the last snapshot stays current and the thread reconnects with backoff.
#include "marquee/search/snapshot.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace marquee::pg {

struct snapshot_source_options {
    std::string database_url;
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
    std::uint64_t loads() const noexcept { return loads_.load(std::memory_order_relaxed); }
    std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

private:
    void run() noexcept;
    // Sleeps until `timeout` passes, stop() is called or, when listen_fd >= 0, that socket is
    // readable. Returns true when the socket is readable.
    bool wait(int listen_fd, std::chrono::milliseconds timeout) noexcept;

    snapshot_source_options options_;
    int wake_read_fd_ = -1;
    int wake_write_fd_ = -1;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::shared_ptr<const search::snapshot>> current_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> reachable_{false};
    std::atomic<std::int64_t> verified_at_ns_{0};
    std::atomic<std::uint64_t> loads_{0};
    std::atomic<std::uint64_t> failures_{0};
};

}  // namespace marquee::pg
