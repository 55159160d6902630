#pragma once
// The event routes on the I/O threads: a fresh cached answer at once; otherwise the lookup goes
// to the database readers (data_access::lookup_event) and the session waits for it without
// blocking its thread, under a deadline; when the database cannot answer, the cached answer
// whatever its age, or 503.
#include "marquee/api/event_cache.hpp"
#include "marquee/api/event_routes.hpp"
#include "marquee/api/server.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string_view>

namespace marquee::metrics {
class counter;
class registry;
}  // namespace marquee::metrics

namespace marquee::api::detail {

class event_lookups {
public:
    /// Registers its metrics in `registry`; `data`, `cache_control` and `registry` must outlive it.
    event_lookups(const data_access& data, const server_options& options, std::string_view cache_control,
                  metrics::registry& registry);

    /// Whether event routes have a database to read from; handle_request answers them otherwise.
    bool enabled() const noexcept { return static_cast<bool>(data_.lookup_event); }

    /// The response to an event route request; runs on the session's executor. The views in
    /// `req` must stay valid until it completes. Never throws but std::bad_alloc.
    boost::asio::awaitable<response> answer(request req);

private:
    // The fresh answer, or null when the database did not answer by the deadline.
    boost::asio::awaitable<std::shared_ptr<const event_answer>> read(const event_target& target);

    const data_access& data_;
    std::chrono::steady_clock::duration max_age_;
    std::chrono::milliseconds timeout_;
    std::string_view cache_control_;
    event_cache cache_;
    metrics::counter& hits_;
    metrics::counter& misses_;
    metrics::counter& failed_;
    metrics::counter& stale_;
};

}  // namespace marquee::api::detail
