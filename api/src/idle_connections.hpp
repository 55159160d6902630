#pragma once
// Keep-alive connections waiting for their next request, per I/O thread and oldest first, so that
// at the connection cap the one idle longest can make room for a new connection instead of the new
// one being refused. A connection that has not sent a request yet is not listed: it is under the
// read timeout, and refusing newcomers in favour of it would let a flood of silent sockets win.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <span>

namespace marquee::api::detail {

/// One connection's place in an idle_list; lives in the session. Touched only under the list's
/// mutex once entered.
struct idle_entry {
    int fd = -1;
    std::chrono::steady_clock::time_point since;
    idle_entry* prev = nullptr;
    idle_entry* next = nullptr;
    bool listed = false;
    bool evicted = false;
};

class idle_list {
public:
    idle_list() = default;
    idle_list(const idle_list&) = delete;
    idle_list& operator=(const idle_list&) = delete;

    /// Lists `e` as idle since `now` on socket `fd`, which must stay open until leave(e).
    void enter(idle_entry& e, int fd, std::chrono::steady_clock::time_point now) noexcept;
    /// Unlists `e`; false when it was evicted meanwhile (its socket is shut down: end the session).
    /// Idempotent, so a session's destructor may call it again.
    bool leave(idle_entry& e) noexcept;

    /// Shuts down (SHUT_RDWR) the socket of the connection idle longest among `lists` and unlists
    /// it, marking it evicted; its session then reads EOF and closes. False when none is idle.
    /// Thread-safe; sessions' enter/leave may run concurrently.
    static bool evict_oldest(std::span<idle_list* const> lists) noexcept;

private:
    std::mutex mutex_;
    idle_entry* oldest_ = nullptr;
    idle_entry* newest_ = nullptr;

    void unlink(idle_entry& e) noexcept;
};

}  // namespace marquee::api::detail
