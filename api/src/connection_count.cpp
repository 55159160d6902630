#include "connection_count.hpp"

#include "marquee/metrics/metrics.hpp"

namespace marquee::api::detail {

connection_count::connection_count(metrics::gauge& open_gauge, metrics::counter& evicted) noexcept
    : open_gauge_(open_gauge), evicted_(evicted) {}

bool connection_count::admit(std::size_t cap, std::span<idle_list* const> lists) noexcept {
    if (open_.load() < cap) return true;
    if (closing_evicted_.fetch_add(1) >= max_closing_evicted || !idle_list::evict_oldest(lists)) {
        closing_evicted_.fetch_sub(1);
        return false;
    }
    evicted_.inc();
    return true;
}

void connection_count::opened() noexcept {
    open_.fetch_add(1);
    open_gauge_.add(1);
}

void connection_count::closed(bool evicted) noexcept {
    if (evicted) closing_evicted_.fetch_sub(1);
    open_gauge_.add(-1);
    if (open_.fetch_sub(1) == 1) {
        std::lock_guard lock(mutex_);
        none_open_.notify_all();
    }
}

bool connection_count::wait_until_none_open(std::chrono::milliseconds grace) {
    std::unique_lock lock(mutex_);
    return none_open_.wait_for(lock, grace, [this] { return open_.load() == 0; });
}

}  // namespace marquee::api::detail
