#include "marquee/api/server.hpp"

#include "connection_count.hpp"
#include "descriptor_limit.hpp"
#include "idle_connections.hpp"
#include "request_metrics.hpp"
#include "session.hpp"

#include "marquee/api/handler.hpp"
#include "marquee/api/rate_limiter.hpp"
#include "marquee/api/response_cache.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace marquee::api {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

// Accept failing (out of descriptors, typically) is retried after this pause rather than at once,
// which would spin on the same pending connection.
constexpr std::chrono::milliseconds accept_backoff{50};

std::unique_ptr<rate_limiter> make_limiter(const server_options& options) {
    if (options.rate_limit == 0) return nullptr;
    auto limiter =
        std::make_unique<rate_limiter>(rate_limit{options.rate_limit, options.rate_burst, options.rate_limit_clients});
    log::info("rate limit: {}/s per client, bursts of {}; the client is {}", options.rate_limit, limiter->burst(),
              options.client_address_header.empty()
                  ? std::string("the TCP peer")
                  : fmt::format("the rightmost address in {}, else the TCP peer", options.client_address_header));
    return limiter;
}

}  // namespace

// Accepts on the first I/O thread and hands each connection to the threads in turn; each thread
// runs its sessions and its deadline sweep (detail::serve_connection, detail::deadline_sweep).
struct server::impl {
    impl(server_options o, data_access d, const std::shared_ptr<const std::string>& openapi, metrics::registry& r)
        : options(std::move(o)),
          data(std::move(d)),
          registry(r),
          cache_hits(r.make_counter("marquee_api_response_cache_hits_total", "Searches answered from the cache")),
          cache_misses(r.make_counter("marquee_api_response_cache_misses_total", "Searches rendered anew")),
          cache(options.cache_entries, options.cache_bytes, &cache_hits, &cache_misses),
          cache_control(cache_control_for(options.cache_max_age)),
          connections_open(r.make_gauge("marquee_api_connections_open", "Open client connections")),
          connections_rejected(r.make_counter("marquee_api_connections_rejected_total",
                                              "Connections closed at once because --max-connections were open")),
          connections_evicted(r.make_counter(
              "marquee_api_connections_evicted_total",
              "Idle keep-alive connections closed to admit a new one while --max-connections were open")),
          connections_max(r.make_gauge("marquee_api_connections_max",
                                       "Connections open at most: --max-connections, fitted to the open-file limit")),
          accept_failures(r.make_counter("marquee_api_accept_failures_total",
                                         "Failed accepts (out of descriptors, typically), each retried after a pause")),
          rate_limited(r.make_counter("marquee_api_rate_limited_total",
                                      "Requests answered 429 because their client was over --rate-limit")),
          rate_shared(r.make_counter(
              "marquee_api_rate_limit_shared_total",
              "Requests of clients the rate limiter had no room for, limited together in a shared bucket")),
          request_counts(r),
          connections(connections_open, connections_evicted),
          limiter(make_limiter(options)),
          events(data, options, cache_control, r) {
        unsigned n = std::max(1U, options.threads);
        for (unsigned i = 0; i < n; ++i) {
            auto t = std::make_unique<detail::io_thread>(options.access_log);
            t->state.openapi_yaml = openapi;
            t->state.cache = &cache;
            t->state.search_cache_control = cache_control;
            t->state.render_metrics = [this] { return registry.render(); };
            keep_alive_lists.push_back(&t->keep_alive);
            threads.push_back(std::move(t));
        }
        acceptor.emplace(threads.front()->context);
    }

    ~impl() {
        // Sessions still alive after the grace period touch the members below when their frames
        // are destroyed with the contexts, so the contexts go first.
        acceptor.reset();
        threads.clear();
    }

    asio::awaitable<void> accept_loop() {
        std::size_t next = 0;
        std::size_t failures_in_a_row = 0;
        asio::steady_timer pause(threads.front()->context);
        while (acceptor->is_open()) {
            auto& t = *threads[next++ % threads.size()];
            auto [ec, socket] = co_await acceptor->async_accept(t.context, nothrow_awaitable);
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor->is_open()) break;
                // Out of descriptors (EMFILE, ENFILE), typically: the connection stays queued, so
                // retrying at once would spin; pause to let connections close. Logged once a streak.
                accept_failures.inc();
                if (failures_in_a_row++ == 0)
                    log::warn("accept failed: {}; retrying every {} ms", ec.message(), accept_backoff.count());
                pause.expires_after(accept_backoff);
                co_await pause.async_wait(nothrow_awaitable);
                continue;
            }
            if (failures_in_a_row != 0) {
                log::info("accepting again after {} failed accepts", failures_in_a_row);
                failures_in_a_row = 0;
            }
            boost::system::error_code ignored;
            if (stopping.load() || !connections.admit(options.max_connections, keep_alive_lists)) {
                connections_rejected.inc();
                socket.close(ignored);
                continue;
            }
            connections.opened();
            socket.set_option(tcp::no_delay(true), ignored);
            asio::co_spawn(t.context, detail::serve_connection(std::move(socket), t, services), asio::detached);
        }
    }

    std::uint16_t listen() {
        if (!cap_fitted) {
            options.max_connections = detail::fit_connection_cap(options.max_connections);
            connections_max.set(static_cast<double>(options.max_connections));
            cap_fitted = true;
        }
        try {
            tcp::endpoint endpoint(asio::ip::make_address(options.host), options.port);
            acceptor->open(endpoint.protocol());
            acceptor->set_option(tcp::acceptor::reuse_address(true));
            acceptor->bind(endpoint);
            acceptor->listen(asio::socket_base::max_listen_connections);
            return acceptor->local_endpoint().port();
        } catch (const std::exception& e) {
            throw error(fmt::format("cannot listen on {}:{}: {}", options.host, options.port, e.what()));
        }
    }

    void request_stop() noexcept {
        std::lock_guard lock(mutex);
        stop_requested = true;
        changed.notify_all();
    }

    void run() {
        if (!acceptor->is_open()) listen();
        auto& first = threads.front()->context;
        asio::co_spawn(first, accept_loop(), asio::detached);
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        std::vector<std::thread> running;
        for (auto& t : threads) {
            asio::co_spawn(t->context, t->sweep.run(t->context), asio::detached);
            asio::co_spawn(t->context, detail::flush_every(t->access, t->context, detail::sweep_interval),
                           asio::detached);
            asio::co_spawn(t->context, detail::refresh_every(*t, data, detail::sweep_interval), asio::detached);
            guards.emplace_back(t->context.get_executor());
            running.emplace_back([&context = t->context] { context.run(); });
        }
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [this] { return stop_requested; });
        }

        // Stop accepting, then close connections waiting for a request; the others finish the
        // request they are reading or answering and close after it.
        stopping.store(true);
        asio::post(first, [this] {
            boost::system::error_code ignored;
            acceptor->close(ignored);
        });
        for (auto& t : threads) asio::post(t->context, [&t = *t] { t.sweep.cancel_idle(); });
        guards.clear();
        if (!connections.wait_until_none_open(options.shutdown_grace))
            log::warn("{} connections still open after the grace period; closing them", connections.open());
        for (auto& t : threads) t->context.stop();
        for (auto& r : running) r.join();
        for (auto& t : threads) t->access.flush();
    }

    server_options options;
    data_access data;
    metrics::registry& registry;
    metrics::counter& cache_hits;
    metrics::counter& cache_misses;
    response_cache cache;
    std::string cache_control;
    // Registered in this order, which is the order of /metrics.
    metrics::gauge& connections_open;
    metrics::counter& connections_rejected;
    metrics::counter& connections_evicted;
    metrics::gauge& connections_max;
    metrics::counter& accept_failures;
    metrics::counter& rate_limited;
    metrics::counter& rate_shared;
    detail::request_metrics request_counts;
    detail::connection_count connections;
    std::unique_ptr<rate_limiter> limiter;  // null when there is no limit
    detail::event_lookups events;
    std::atomic<bool> stopping{false};
    detail::session_services services{options,       data,         stopping,    request_counts, connections,
                                      limiter.get(), rate_limited, rate_shared, events};
    std::vector<std::unique_ptr<detail::io_thread>> threads;
    std::optional<tcp::acceptor> acceptor;
    std::vector<detail::idle_list*> keep_alive_lists;
    bool cap_fitted = false;
    std::mutex mutex;
    std::condition_variable changed;
    bool stop_requested = false;
};

server::server(server_options options, data_access data, const std::shared_ptr<const std::string>& openapi_yaml,
               metrics::registry& registry)
    : impl_(std::make_unique<impl>(std::move(options), std::move(data), openapi_yaml, registry)) {}

server::~server() = default;

std::uint16_t server::listen() {
    return impl_->listen();
}

void server::run() {
    impl_->run();
}

void server::stop() noexcept {
    impl_->request_stop();
}

}  // namespace marquee::api
