#pragma once
// One connection from accept to close, on one I/O thread: read a request head, answer it with
// handle_request, write the response, repeat while keep-alive; every wait under a deadline that
// the thread's sweep enforces.
#include "access_log.hpp"
#include "connection_count.hpp"
#include "deadlines.hpp"
#include "event_lookups.hpp"
#include "idle_connections.hpp"
#include "request_id.hpp"
#include "request_metrics.hpp"
#include "response_head.hpp"

#include "marquee/api/handler.hpp"
#include "marquee/api/rate_limiter.hpp"
#include "marquee/api/server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace marquee::api::detail {

/// An I/O thread's own state, shared by its sessions and touched only on that thread (but for
/// keep_alive, which evictions from the accepting thread lock).
struct io_thread {
    explicit io_thread(access_log_mode mode) : access(mode) {}

    deadline_sweep sweep;
    // Before `context`, so it outlives the frames whose entries it lists.
    idle_list keep_alive;
    service_state state;
    std::uint64_t generation = ~std::uint64_t{0};
    http_date date;
    request_ids ids;
    access_log access;
    // Last, so it is destroyed first: abandoned sessions unregister from `sweep` and `keep_alive`
    // as their coroutine frames are destroyed with the context.
    boost::asio::io_context context{1};

    /// Takes the current snapshot when `data` has a newer one, and the database's reachability.
    void refresh(const data_access& data);
};

/// Calls thread.refresh(data) every `interval` until the thread's context stops, so a thread
/// that serves no request does not keep an old snapshot (and every block changes have replaced
/// since) alive.
boost::asio::awaitable<void> refresh_every(io_thread& thread, const data_access& data,
                                           std::chrono::milliseconds interval);

/// What the sessions of every thread share with the server; outlives them.
struct session_services {
    const server_options& options;
    const data_access& data;
    const std::atomic<bool>& stopping;
    request_metrics& metrics;
    connection_count& connections;
    rate_limiter* limiter;           ///< null when there is no rate limit
    metrics::counter& rate_limited;  ///< requests answered 429
    metrics::counter& rate_shared;   ///< requests of clients without a bucket of their own
    event_lookups& events;           ///< GET /events/{id} and /events/{id}/history
};

/// Serves `socket`, which connection_count::opened() has counted, until the client closes, a
/// deadline passes, an unanswerable error, "Connection: close" or a stop; then counts it closed.
/// Runs on `thread.context`.
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket, io_thread& thread,
                                              const session_services& services);

}  // namespace marquee::api::detail
