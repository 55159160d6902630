#pragma once
// Reads what an event route needs (an event with its zones, a page of its history) on a few
// threads of its own, each with its own connection, so no API I/O thread ever waits on
// PostgreSQL. Jobs wait in a bounded queue; each completes once, on a reader thread, through the
// callback it came with. A reader whose connection failed reconnects with backoff and meanwhile
// fails its jobs at once instead of making them wait for a connect timeout.
#include "marquee/events/lookup.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace marquee::pg {

struct event_reader_options {
    std::string database_url;  ///< a streaming replica will do
    unsigned readers = 2;      ///< threads, each with its own connection
    /// Jobs waiting for a reader at most; submit() refuses more.
    std::size_t queue_capacity = 256;
    /// Server-side deadline of each statement.
    std::chrono::milliseconds statement_timeout{2000};
    /// libpq connect_timeout (libpq takes whole seconds, 2 at least).
    std::chrono::seconds connect_timeout{2};
    /// Reconnect backoff doubles from 100 ms up to this.
    std::chrono::milliseconds max_backoff{5000};
};

class event_reader {
public:
    using clock = std::chrono::steady_clock;
    /// The rows, or nullopt when they could not be read (database unreachable, a statement failed,
    /// or the deadline passed before a reader took the job).
    using completion = std::function<void(std::optional<events::lookup_result>)>;

    /// Does not connect; start() does, lazily, on the first job.
    explicit event_reader(event_reader_options options);
    event_reader(const event_reader&) = delete;
    event_reader& operator=(const event_reader&) = delete;
    ~event_reader();

    void start();
    /// Stops and joins the readers; jobs still queued are dropped without their completion being
    /// called. Idempotent.
    void stop() noexcept;

    /// Queues `job`; false (and `done` is never called) when the queue is full or the reader is
    /// stopped. Otherwise `done` is called exactly once, on a reader thread, and must not throw.
    bool submit(events::lookup job, clock::time_point deadline, completion done);

    /// Lookups that failed (connection, statement or a deadline passed in the queue).
    std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
    /// Jobs waiting for a reader now.
    std::size_t queued() const;

private:
    struct job {
        events::lookup what;
        clock::time_point deadline;
        completion done;
    };

    void run(unsigned index) noexcept;
    std::optional<job> next();

    event_reader_options options_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<job> queue_;
    bool stopping_ = false;
    std::atomic<std::uint64_t> failures_{0};
    std::vector<std::thread> threads_;
};

}  // namespace marquee::pg
