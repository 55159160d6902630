#pragma once
// Open connections against the cap (server_options::max_connections): admitting one at the cap
// evicts the keep-alive connection idle longest; a stopping server waits here for the last to close.
#include "descriptor_limit.hpp"
#include "idle_connections.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>

namespace marquee::metrics {
class counter;
class gauge;
}  // namespace marquee::metrics

namespace marquee::api::detail {

/// An evicted connection is replaced before it has closed; this many may be closing at once, so the
/// descriptors in use stay within the cap plus reserved_descriptors.
inline constexpr std::size_t max_closing_evicted = reserved_descriptors / 4;

class connection_count {
public:
    /// `open_gauge` follows open(); `evicted` counts evictions. Both must outlive this.
    connection_count(metrics::gauge& open_gauge, metrics::counter& evicted) noexcept;

    /// Whether one more connection may open under `cap`: below it, yes; at it, only when the
    /// keep-alive connection idle longest among `lists` is evicted to make room (none is idle, or
    /// max_closing_evicted are still closing: no). Thread-safe.
    bool admit(std::size_t cap, std::span<idle_list* const> lists) noexcept;
    /// Counts an admitted connection as open.
    void opened() noexcept;
    /// Counts a connection as closed; `evicted` when admit() evicted it.
    void closed(bool evicted) noexcept;
    std::size_t open() const noexcept { return open_.load(); }
    /// Waits until none is open, at most `grace`; false when some still are.
    bool wait_until_none_open(std::chrono::milliseconds grace);

private:
    metrics::gauge& open_gauge_;
    metrics::counter& evicted_;
    std::atomic<std::size_t> open_{0};
    std::atomic<std::size_t> closing_evicted_{0};  // admitted over the cap, not closed yet
    std::mutex mutex_;
    std::condition_variable none_open_;
};

}  // namespace marquee::api::detail
