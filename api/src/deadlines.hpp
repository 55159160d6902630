#pragma once
// Deadlines of the sessions of one I/O thread, checked by one periodic sweep rather than a timer
// per operation: a timer costs a timer-queue insertion and removal, and often a timerfd update, on
// every read and write, which on small requests cost more than the rest of the request
// (docs/adr/0012-api-plain-sockets-and-a-sweep.md). A deadline fires up to one sweep_interval late.
#include "idle_connections.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <unordered_set>

namespace marquee::api::detail {

using steady = std::chrono::steady_clock;

inline constexpr std::chrono::milliseconds sweep_interval{100};

/// One session's entry: a session only waits in one I/O operation at a time, so one deadline covers
/// exactly that operation. Lives in the session's coroutine frame; touched only on its I/O thread.
struct session_slot {
    boost::asio::ip::tcp::socket* socket = nullptr;
    steady::time_point deadline = steady::time_point::max();  ///< of the pending operation; max() when none
    bool idle = true;                                         ///< waiting for a request's first byte: a stop closes it
    idle_entry keep_alive{};                                  ///< listed while waiting for a request after the first
};

/// The slots of one I/O thread. Not thread-safe: used on that thread only.
class deadline_sweep {
public:
    void add(session_slot& slot) { slots_.insert(&slot); }
    void remove(session_slot& slot) noexcept { slots_.erase(&slot); }

    /// Cancels the pending operation of every slot whose deadline is not after `now` and clears its
    /// deadline (a session that completed meanwhile sets a new one before it waits again). Returns
    /// how many were cancelled.
    std::size_t expire(steady::time_point now) noexcept;
    /// Cancels the pending operation of every idle slot (at a stop).
    void cancel_idle() noexcept;

    /// expire() every sweep_interval until `context` stops.
    boost::asio::awaitable<void> run(boost::asio::io_context& context);

private:
    std::unordered_set<session_slot*> slots_;
};

}  // namespace marquee::api::detail
