#include "marquee/api/server.hpp"

#include "descriptor_limit.hpp"
#include "gather_write.hpp"
#include "idle_connections.hpp"
#include "marquee/api/handler.hpp"
#include "marquee/api/response_cache.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

namespace marquee::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

// The request line and the header fields are limited separately by the parser (each to
// header_limit); the buffer holds both plus a pipelined request's beginning.
constexpr std::size_t buffer_limit = 2 * max_header_bytes + 8 * 1024;
constexpr std::size_t read_chunk = 4096;
// Deadlines are checked by one sweep per I/O thread rather than a timer per operation (which costs
// a timer-queue insertion and removal, and often a timerfd update, on every read and write), so a
// deadline fires up to this much late.
constexpr std::chrono::milliseconds sweep_interval{100};
// After "Connection: close" the unread rest of a request is drained this long, so closing with
// unread data does not reset the connection before the client has read the response.
constexpr std::chrono::milliseconds linger_timeout{500};
constexpr std::size_t linger_bytes = 64 * 1024;

constexpr std::array<unsigned, 9> statuses = {200, 304, 400, 404, 405, 414, 431, 500, 503};

std::size_t status_index(unsigned status) noexcept {
    for (std::size_t i = 0; i < statuses.size(); ++i)
        if (statuses[i] == status) return i;
    return statuses.size() - 2;  // 500: anything unexpected is our fault
}

// Reads what handle_request needs from the request line and fields into session-owned strings,
// storing nothing else, so parsing does not allocate once the strings have grown.
class request_parser final : public http::basic_parser<true> {
public:
    request_parser(std::string& method, std::string& target, std::string& if_none_match)
        : method_(method), target_(target), if_none_match_(if_none_match) {
        method_.clear();
        target_.clear();
        if_none_match_.clear();
    }

    bool got_request_line = false;
    bool target_too_long = false;
    int version = 11;

private:
    void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int v,
                         beast::error_code& ec) override {
        got_request_line = true;
        version = v;
        if (target.size() > max_target_bytes) {
            target_too_long = true;
            ec = http::error::bad_target;
            return;
        }
        method_.assign(method.data(), method.size());
        target_.assign(target.data(), target.size());
    }
    void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
    void on_field_impl(http::field name, beast::string_view, beast::string_view value, beast::error_code&) override {
        if (name != http::field::if_none_match) return;
        // Repeated fields are one comma-separated list (RFC 9110 5.3).
        if (!if_none_match_.empty()) if_none_match_.append(", ");
        if_none_match_.append(value.data(), value.size());
    }
    void on_header_impl(beast::error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
    std::size_t on_body_impl(beast::string_view body, beast::error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
        return body.size();
    }
    void on_finish_impl(beast::error_code&) override {}

    std::string& method_;
    std::string& target_;
    std::string& if_none_match_;
};

using steady = std::chrono::steady_clock;

struct session_slot {
    tcp::socket* socket;
    steady::time_point deadline;    // of the pending read or write; max() while computing
    bool idle;                      // waiting for a request's first byte: a stop closes it
    detail::idle_entry keep_alive;  // listed while waiting for a request after the first
};

// Evicting an idle connection admits the new one before the evicted one has closed; this many may
// be closing at once, so the descriptors in use stay within the cap plus reserved_descriptors.
constexpr std::size_t max_closing_evicted = detail::reserved_descriptors / 4;
// Accept failing (out of descriptors, typically) is retried after this pause rather than at once,
// which would spin on the same pending connection.
constexpr std::chrono::milliseconds accept_backoff{50};

void append_number(std::string& out, std::size_t value) {
    char digits[24];
    auto end = fmt::format_to(digits, "{}", value);
    out.append(digits, end);
}

}  // namespace

struct server::impl {
    struct worker {
        std::unordered_set<session_slot*> sessions;
        // Before `context`, so it outlives the frames whose entries it lists.
        detail::idle_list keep_alive;
        service_state state;
        std::uint64_t generation = ~std::uint64_t{0};
        std::time_t date_second = 0;
        char date[40] = {};
        std::size_t date_length = 0;
        // Last, so it is destroyed first: abandoned sessions unregister from `sessions` as their
        // coroutine frames are destroyed with the context.
        asio::io_context context{1};
    };

    impl(server_options o, data_access d, std::shared_ptr<const std::string> openapi, metrics::registry& r)
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
          accept_failures(
              r.make_counter("marquee_api_accept_failures_total",
                             "Failed accepts (out of descriptors, typically), each retried after a pause")) {
        for (std::size_t ri = 0; ri < route_count; ++ri) {
            auto name = std::string(route_name(static_cast<route>(ri)));
            for (std::size_t si = 0; si < statuses.size(); ++si)
                requests[ri][si] = &r.make_counter("marquee_api_requests_total", "HTTP requests answered",
                                                   {{"route", name}, {"status", std::to_string(statuses[si])}});
            latency[ri] = &r.make_histogram("marquee_api_request_duration_seconds",
                                            "Time from a complete request header to the response written",
                                            metrics::latency_buckets(), {{"route", name}});
        }
        unsigned n = std::max(1U, options.threads);
        for (unsigned i = 0; i < n; ++i) {
            auto w = std::make_unique<worker>();
            w->state.openapi_yaml = openapi;
            w->state.cache = &cache;
            w->state.search_cache_control = cache_control;
            w->state.render_metrics = [this] { return registry.render(); };
            keep_alive_lists.push_back(&w->keep_alive);
            workers.push_back(std::move(w));
        }
        acceptor.emplace(workers.front()->context);
    }

    ~impl() {
        // Sessions still alive after the grace period touch the members below when their frames
        // are destroyed with the contexts, so the contexts go first.
        acceptor.reset();
        workers.clear();
    }

    void refresh(worker& w) {
        auto g = data.generation();
        if (g != w.generation) {
            w.state.snapshot = data.current();
            w.generation = g;
        }
        w.state.database_reachable = data.database_reachable();
    }

    std::string_view date_of(worker& w) {
        auto now = std::time(nullptr);
        if (now != w.date_second) {
            std::tm tm{};
            ::gmtime_r(&now, &tm);
            w.date_length = std::strftime(w.date, sizeof w.date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            w.date_second = now;
        }
        return {w.date, w.date_length};
    }

    void write_head(std::string& head, worker& w, const response& r, std::size_t body_size, bool close, int version) {
        head.clear();
        head.append("HTTP/1.1 ");
        append_number(head, r.status);
        head.push_back(' ');
        head.append(http::obsolete_reason(static_cast<http::status>(r.status)));
        head.append("\r\nDate: ");
        head.append(date_of(w));
        head.append("\r\n");
        if (r.status != 304) {
            if (!r.content_type.empty()) {
                head.append("Content-Type: ");
                head.append(r.content_type);
                head.append("\r\n");
            }
            head.append("Content-Length: ");
            append_number(head, body_size);
            head.append("\r\n");
        }
        if (r.etag_length != 0) {
            head.append("ETag: ");
            head.append(r.etag());
            head.append("\r\n");
        }
        if (!r.cache_control.empty()) {
            head.append("Cache-Control: ");
            head.append(r.cache_control);
            head.append("\r\n");
        }
        if (!r.allow.empty()) {
            head.append("Allow: ");
            head.append(r.allow);
            head.append("\r\n");
        }
        if (close)
            head.append("Connection: close\r\n");
        else if (version == 10)
            head.append("Connection: keep-alive\r\n");
        head.append("\r\n");
    }

    // Cancels the pending operation of every session of `w` whose deadline has passed. A session
    // only waits in an I/O operation, so its deadline covers exactly that operation; one that
    // completed in the meantime sets a new deadline before it waits again.
    asio::awaitable<void> sweep_loop(worker& w) {
        asio::steady_timer tick(w.context);
        for (;;) {
            tick.expires_after(sweep_interval);
            auto [ec] = co_await tick.async_wait(nothrow_awaitable);
            if (ec) co_return;
            auto now = steady::now();
            for (auto* slot : w.sessions) {
                if (slot->deadline > now) continue;
                slot->deadline = steady::time_point::max();
                beast::error_code ignored;
                slot->socket->cancel(ignored);
            }
        }
    }

    // As http::async_read_header, but parses what is already buffered without suspending (the
    // Beast operation posts its completion when no read was needed), and reads straight from the
    // socket so asio can skip the speculative read that would find nothing after a response.
    // `deadline` covers the whole header, so a slow sender cannot stretch it byte by byte.
    asio::awaitable<beast::error_code> read_header(tcp::socket& socket, session_slot& slot, beast::flat_buffer& buffer,
                                                   request_parser& parser, steady::time_point deadline) {
        beast::error_code ec;
        for (;;) {
            if (buffer.size() != 0) {
                buffer.consume(parser.put(buffer.data(), ec));
                if (ec != http::error::need_more) co_return ec;
                ec = {};
            }
            auto room = std::min(std::max<std::size_t>(512, buffer.capacity() - buffer.size()),
                                 std::min<std::size_t>(65536, buffer.max_size() - buffer.size()));
            if (room == 0) co_return http::error::buffer_overflow;
            slot.deadline = deadline;
            auto [read_ec, n] = co_await socket.async_read_some(buffer.prepare(room), nothrow_awaitable);
            slot.deadline = steady::time_point::max();
            buffer.commit(n);
            if (read_ec == asio::error::eof) {
                if (!parser.got_some()) co_return http::error::end_of_stream;
                parser.put_eof(ec);
                co_return ec;
            }
            if (read_ec) co_return read_ec;
        }
    }

    // Writes `buffers` at once when the socket takes them (the usual case: one sendmsg), so the
    // session does not suspend and resume through the scheduler for every response; otherwise waits
    // for room and goes on where the socket stopped. However many buffers: a large answer is sent
    // from the snapshot's ranges, never copied together. One deadline for the whole response, so a
    // slow reader cannot stretch it.
    asio::awaitable<beast::error_code> write_all(tcp::socket& socket, session_slot& slot,
                                                 std::span<const asio::const_buffer> buffers) {
        detail::gather_cursor cursor(buffers);
        auto deadline = steady::time_point::max();
        for (;;) {
            auto ec = cursor.send_some(socket.native_handle());
            if (cursor.done() || (ec && ec != asio::error::would_block)) co_return ec;
            if (deadline == steady::time_point::max()) deadline = steady::now() + options.write_timeout;
            slot.deadline = deadline;
            auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, nothrow_awaitable);
            slot.deadline = steady::time_point::max();
            if (wait_ec) co_return wait_ec;
        }
    }

    asio::awaitable<void> session(tcp::socket socket, worker& w) {
        session_slot slot{&socket, steady::time_point::max(), true, {}};
        w.sessions.insert(&slot);
        struct unregister {
            impl& self;
            worker& w;
            session_slot& slot;
            ~unregister() {
                w.sessions.erase(&slot);
                // Also when the frame is destroyed while the session waits (at the end of a stop).
                w.keep_alive.leave(slot.keep_alive);
                if (slot.keep_alive.evicted) self.closing_evicted.fetch_sub(1);
                self.connections_open.add(-1);
                if (self.open.fetch_sub(1) == 1 && self.stopping.load()) {
                    std::lock_guard lock(self.mutex);
                    self.changed.notify_all();
                }
            }
        } guard{*this, w, slot};

        beast::error_code ignored;
        socket.non_blocking(true, ignored);
        beast::flat_buffer buffer(buffer_limit);
        std::string method;
        std::string target;
        std::string if_none_match;
        std::string head;
        // The head and the body's pieces, gathered into one sendmsg.
        std::vector<asio::const_buffer> buffers;
        target.reserve(256);
        head.reserve(512);
        buffers.reserve(max_gathered_ranges + 3);
        bool answered_close = false;
        // The first request is under the read timeout from the moment the connection was accepted:
        // a connection that sends nothing holds a descriptor only that long, not the idle timeout.
        bool first_request = true;

        while (!stopping.load(std::memory_order_relaxed)) {
            auto header_deadline = steady::time_point::max();
            if (first_request) header_deadline = steady::now() + options.read_timeout;
            if (buffer.size() == 0) {
                slot.idle = true;
                bool evicted = false;
                if (first_request) {
                    slot.deadline = header_deadline;
                } else {
                    // Between keep-alive requests: the idle timeout, and evictable at the cap.
                    slot.deadline = steady::now() + options.idle_timeout;
                    w.keep_alive.enter(slot.keep_alive, socket.native_handle(), steady::now());
                }
                auto [ec, n] = co_await socket.async_read_some(buffer.prepare(read_chunk), nothrow_awaitable);
                if (!first_request) evicted = !w.keep_alive.leave(slot.keep_alive);
                slot.deadline = steady::time_point::max();
                slot.idle = false;
                if (ec || evicted) break;
                buffer.commit(n);
            }
            // From the first byte of a keep-alive or pipelined request.
            if (!first_request) header_deadline = steady::now() + options.read_timeout;
            first_request = false;
            request_parser parser(method, target, if_none_match);
            parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
            auto ec = co_await read_header(socket, slot, buffer, parser, header_deadline);
            auto started = steady::now();

            response r;
            bool close = false;
            bool head_only = false;
            if (ec) {
                bool too_big = ec == http::error::header_limit || ec == http::error::buffer_overflow;
                if (parser.target_too_long || (too_big && !parser.got_request_line))
                    r = error_response(error_kind::uri_too_long);
                else if (too_big)
                    r = error_response(error_kind::header_too_large);
                else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
                         ec != http::error::end_of_stream && ec != http::error::partial_message)
                    r = error_response(error_kind::bad_request);
                else
                    break;  // timeout, reset, EOF or shutdown: there is nobody to answer
                close = true;
            } else {
                refresh(w);
                r = handle_request(request{method, target, if_none_match}, w.state);
                head_only = method == "HEAD";
                // A request body is never read, so a request that has one ends the connection.
                close = !parser.keep_alive() || !parser.is_done() || stopping.load(std::memory_order_relaxed);
            }

            std::size_t body_size = r.body ? r.body->size() : 0;
            write_head(head, w, r, body_size, close, parser.version);
            buffers.clear();
            buffers.push_back(asio::buffer(head));
            // `r` keeps the body, and through it the snapshot its pieces point into, until written.
            if (!head_only && r.body)
                for (auto piece : r.body->pieces())
                    if (!piece.empty()) buffers.push_back(asio::buffer(piece.data(), piece.size()));
            auto write_ec = co_await write_all(socket, slot, buffers);

            auto ri = static_cast<std::size_t>(r.which);
            requests[ri][status_index(r.status)]->inc();
            latency[ri]->observe(std::chrono::duration<double>(steady::now() - started).count());
            if (write_ec) break;
            if (close) {
                answered_close = true;
                break;
            }
        }

        socket.shutdown(tcp::socket::shutdown_send, ignored);
        if (answered_close) {
            slot.deadline = steady::now() + linger_timeout;
            std::size_t drained = 0;
            std::array<char, 4096> sink;
            while (drained < linger_bytes) {
                auto [drain_ec, got] = co_await socket.async_read_some(asio::buffer(sink), nothrow_awaitable);
                if (drain_ec) break;
                drained += got;
            }
        }
        socket.close(ignored);
    }

    // At the cap, makes room by evicting the connection idle longest. False when none is idle, or
    // when too many evicted ones are still closing to admit another descriptor.
    bool make_room() {
        if (closing_evicted.fetch_add(1) >= max_closing_evicted || !detail::idle_list::evict_oldest(keep_alive_lists)) {
            closing_evicted.fetch_sub(1);
            return false;
        }
        connections_evicted.inc();
        return true;
    }

    asio::awaitable<void> accept_loop() {
        std::size_t next = 0;
        std::size_t failures_in_a_row = 0;
        asio::steady_timer pause(workers.front()->context);
        while (acceptor->is_open()) {
            auto& w = *workers[next++ % workers.size()];
            auto [ec, socket] = co_await acceptor->async_accept(w.context, nothrow_awaitable);
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
            if (stopping.load() || (open.load() >= options.max_connections && !make_room())) {
                connections_rejected.inc();
                beast::error_code ignored;
                socket.close(ignored);
                continue;
            }
            open.fetch_add(1);
            connections_open.add(1);
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            asio::co_spawn(w.context, session(std::move(socket), w), asio::detached);
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

    void run(bool handle_signals) {
        if (!acceptor->is_open()) listen();
        auto& first = workers.front()->context;
        asio::co_spawn(first, accept_loop(), asio::detached);
        asio::signal_set signals(first);
        if (handle_signals) {
            signals.add(SIGINT);
            signals.add(SIGTERM);
            signals.async_wait([this](const beast::error_code& ec, int signal) {
                if (ec) return;
                log::info("signal {}: stopping", signal);
                request_stop();
            });
        }
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        std::vector<std::thread> threads;
        for (auto& w : workers) {
            asio::co_spawn(w->context, sweep_loop(*w), asio::detached);
            guards.emplace_back(w->context.get_executor());
            threads.emplace_back([&context = w->context] { context.run(); });
        }
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [this] { return stop_requested; });
        }

        // Stop accepting, then close connections waiting for a request; the others finish the
        // request they are reading or answering and close after it.
        stopping.store(true);
        asio::post(first, [this, &signals] {
            beast::error_code ignored;
            acceptor->close(ignored);
            signals.cancel(ignored);
        });
        for (auto& w : workers) {
            asio::post(w->context, [&w = *w] {
                for (auto* slot : w.sessions)
                    if (slot->idle) {
                        beast::error_code ignored;
                        slot->socket->cancel(ignored);
                    }
            });
        }
        guards.clear();
        {
            std::unique_lock lock(mutex);
            if (!changed.wait_for(lock, options.shutdown_grace, [this] { return open.load() == 0; }))
                log::warn("{} connections still open after the grace period; closing them", open.load());
        }
        for (auto& w : workers) w->context.stop();
        for (auto& t : threads) t.join();
    }

    server_options options;
    data_access data;
    metrics::registry& registry;
    metrics::counter& cache_hits;
    metrics::counter& cache_misses;
    response_cache cache;
    std::string cache_control;
    metrics::gauge& connections_open;
    metrics::counter& connections_rejected;
    metrics::counter& connections_evicted;
    metrics::gauge& connections_max;
    metrics::counter& accept_failures;
    std::array<std::array<metrics::counter*, statuses.size()>, route_count> requests{};
    std::array<metrics::histogram*, route_count> latency{};
    std::vector<std::unique_ptr<worker>> workers;
    std::optional<tcp::acceptor> acceptor;
    std::vector<detail::idle_list*> keep_alive_lists;
    std::atomic<std::size_t> open{0};
    // Evicted connections admitted over the cap but not closed yet.
    std::atomic<std::size_t> closing_evicted{0};
    bool cap_fitted = false;
    std::atomic<bool> stopping{false};
    std::mutex mutex;
    std::condition_variable changed;
    bool stop_requested = false;
};

server::server(server_options options, data_access data, std::shared_ptr<const std::string> openapi_yaml,
               metrics::registry& registry)
    : impl_(std::make_unique<impl>(std::move(options), std::move(data), std::move(openapi_yaml), registry)) {}

server::~server() = default;

std::uint16_t server::listen() {
    return impl_->listen();
}

void server::run(bool handle_signals) {
    impl_->run(handle_signals);
}

void server::stop() noexcept {
    impl_->request_stop();
}

}  // namespace marquee::api
