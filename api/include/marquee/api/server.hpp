#pragma once
// The HTTP/1.1 server around handle_request: Boost.Beast on N I/O threads, keep-alive, deadlines on
// every read and write, a connection cap that evicts the longest-idle keep-alive connection before it
// refuses a new one, header limits (414/431) and a graceful stop.
#include "marquee/events/lookup.hpp"
#include "marquee/search/snapshot.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace marquee::metrics {
class registry;
}

namespace marquee::api {

enum class access_log_mode {
    off,
    errors,  ///< requests answered with a 5xx status
    all,
};

/// "off", "errors" or "all"; throws config_error (API_ACCESS_LOG) otherwise.
access_log_mode parse_access_log_mode(std::string_view text);

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  ///< 0 picks a free port (see server::listen)
    unsigned threads = 1;
    /// From accepting a connection to its first request's complete header, and from the first
    /// byte of each later request to its complete header (also bounds slow senders).
    std::chrono::milliseconds read_timeout{10'000};
    /// How long a keep-alive connection may wait for its next request after answering one.
    std::chrono::milliseconds idle_timeout{60'000};
    /// Deadline of each response write.
    std::chrono::milliseconds write_timeout{30'000};
    /// Open connections at most. listen() lowers it to fit the open-file limit (see there). At the
    /// cap a new connection closes the keep-alive connection idle longest; it is refused only when
    /// none is idle.
    std::size_t max_connections = 10'000;
    std::chrono::seconds cache_max_age{5};
    std::size_t cache_entries = 512;
    /// Rendered bodies kept at most. Small on purpose: the process should stay within 3x the
    /// rendered JSON of all events + 50 MB (snapshot, a reload's second copy, the cache).
    std::size_t cache_bytes = std::size_t{32} << 20;
    /// Which requests the access log records (API_ACCESS_LOG).
    access_log_mode access_log = access_log_mode::errors;
    /// Requests per second a client may make on average (API_RATE_LIMIT), from 0.001 to 1,000,000;
    /// 0: no limit. A client over it is answered 429 with Retry-After (see rate_limiter.hpp).
    double rate_limit = 0;
    /// Requests a client may make at once (API_RATE_BURST); 0: one second's worth.
    unsigned rate_burst = 0;
    /// Clients the limiter keeps a bucket for at most (see rate_limiter::acquire).
    std::size_t rate_limit_clients = 65'536;
    /// The header naming the client behind a trusted load balancer (API_CLIENT_ADDRESS_HEADER),
    /// e.g. X-Forwarded-For: its rightmost element, else the TCP peer. Empty: the TCP peer.
    std::string client_address_header;
    /// Rendered answers of GET /events/{id} and /events/{id}/history kept at most, in bytes
    /// (API_EVENT_CACHE_BYTES). Younger than cache_max_age they are served without asking the
    /// database; older ones are served only while it cannot answer.
    std::size_t event_cache_bytes = std::size_t{32} << 20;
    /// How long an event route waits for the database before it serves what is cached, or 503
    /// (API_EVENT_TIMEOUT).
    std::chrono::milliseconds event_timeout{2'000};
    /// How long in-flight requests may take to finish after a stop request.
    std::chrono::milliseconds shutdown_grace{10'000};
};

/// Where requests get their data from; pg::snapshot_source in production, fakes in tests.
struct data_access {
    std::function<std::shared_ptr<const search::snapshot>()> current;
    /// Changes whenever current() does; lets each I/O thread keep its own reference.
    std::function<std::uint64_t()> generation;
    std::function<bool()> database_reachable;
    /// Called with an event's rows, or nullopt when they could not be read.
    using event_rows_callback = std::function<void(std::optional<events::lookup_result>)>;
    /// Reads an event route's rows off the I/O threads (pg::event_reader::submit in production):
    /// false when it cannot take the job now; otherwise calls the callback once, on another thread,
    /// by the deadline or soon after, never after the server is destroyed. Empty: the event routes
    /// answer 503.
    std::function<bool(events::lookup, std::chrono::steady_clock::time_point, event_rows_callback)> lookup_event;
};

class server {
public:
    /// Registers the request metrics in `registry`, which must outlive the server.
    server(server_options options, data_access data, const std::shared_ptr<const std::string>& openapi_yaml,
           metrics::registry& registry);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    /// Binds and listens. Returns the bound port. Throws marquee::error when that fails. First
    /// raises the process's soft open-file limit (RLIMIT_NOFILE) to its hard limit and lowers
    /// max_connections to leave descriptors for everything else, logging what it changed.
    std::uint16_t listen();
    /// Serves until stop(); then stops accepting, closes idle connections, lets in-flight requests
    /// finish within the grace period, and returns. (Signals are the caller's: main turns
    /// SIGTERM into stop() with signals::stop_on_signals.)
    void run();
    /// Asks run() to return. Thread-safe, async-signal-unsafe.
    void stop() noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::api
