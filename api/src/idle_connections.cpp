#include "idle_connections.hpp"

#include <sys/socket.h>

#include <vector>

namespace marquee::api::detail {

void idle_list::enter(idle_entry& e, int fd, std::chrono::steady_clock::time_point now) noexcept {
    std::lock_guard lock(mutex_);
    e.fd = fd;
    e.since = now;
    e.evicted = false;
    e.listed = true;
    e.next = nullptr;
    e.prev = newest_;
    if (newest_)
        newest_->next = &e;
    else
        oldest_ = &e;
    newest_ = &e;
}

bool idle_list::leave(idle_entry& e) noexcept {
    std::lock_guard lock(mutex_);
    if (e.listed) unlink(e);
    return !e.evicted;
}

void idle_list::unlink(idle_entry& e) noexcept {
    if (e.prev)
        e.prev->next = e.next;
    else
        oldest_ = e.next;
    if (e.next)
        e.next->prev = e.prev;
    else
        newest_ = e.prev;
    e.prev = e.next = nullptr;
    e.listed = false;
}

bool idle_list::evict_oldest(std::span<idle_list* const> lists) noexcept {
    // All locks at once, always in the same order (a session only ever holds its own list's), so
    // the oldest found is still listed, and its socket still open, when it is shut down.
    std::vector<std::unique_lock<std::mutex>> locks;
    try {
        locks.reserve(lists.size());
    } catch (...) {
        return false;
    }
    idle_list* from = nullptr;
    for (auto* list : lists) {
        locks.emplace_back(list->mutex_);
        if (list->oldest_ && (!from || list->oldest_->since < from->oldest_->since)) from = list;
    }
    if (!from) return false;
    auto& victim = *from->oldest_;
    from->unlink(victim);
    victim.evicted = true;
    // shutdown, not close: the descriptor stays the session's to close, so it cannot be reused
    // under it; the session's pending read completes with EOF.
    ::shutdown(victim.fd, SHUT_RDWR);
    return true;
}

}  // namespace marquee::api::detail
