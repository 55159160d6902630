#include "session.hpp"

#include "gather_write.hpp"
#include "request_parser.hpp"

#include "marquee/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::api::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

// The request line and the header fields are limited separately by the parser (each to
// max_header_bytes); the buffer holds both plus a pipelined request's beginning.
constexpr std::size_t buffer_limit = 2 * max_header_bytes + std::size_t{8} * 1024;
constexpr std::size_t read_chunk = 4096;
// After "Connection: close" the unread rest of a request is drained this long, so closing with
// unread data does not reset the connection before the client has read the response.
constexpr std::chrono::milliseconds linger_timeout{500};
constexpr std::size_t linger_bytes = std::size_t{64} * 1024;

// As http::async_read_header, but parses what is already buffered without suspending (the Beast
// operation posts its completion when no read was needed), and reads straight from the socket so
// asio can skip the speculative read that would find nothing after a response. `deadline` covers
// the whole head, so a slow sender cannot stretch it byte by byte.
asio::awaitable<beast::error_code> read_head(tcp::socket& socket, session_slot& slot, beast::flat_buffer& buffer,
                                             request_parser& parser, steady::time_point deadline) {
    beast::error_code ec;
    std::size_t searched = 0;  // leading bytes of `buffer` searched for the end of the head
    for (;;) {
        if (buffer.size() != 0) {
            auto consumed = parser.put(buffer.data(), ec);
            buffer.consume(consumed);
            if (ec != http::error::need_more) co_return ec;
            ec = {};
            // Beast asks for more when a request line ends too soon to hold a version ("GET / \r\n"
            // and no fields) even though the head is complete; more bytes may never come, so a
            // complete head the parser still wants more of is malformed: 400, not the read timeout.
            std::string_view buffered(static_cast<const char*>(buffer.data().data()), buffer.size());
            searched = searched > consumed ? searched - consumed : 0;
            if (buffered.find("\r\n\r\n", searched >= 3 ? searched - 3 : 0) != std::string_view::npos)
                co_return http::error::bad_version;
            searched = buffered.size();
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
// for room and goes on where the socket stopped. However many buffers: a large answer is sent from
// the snapshot's ranges, never copied together. One deadline for the whole response, so a slow
// reader cannot stretch it.
asio::awaitable<beast::error_code> write_all(tcp::socket& socket, session_slot& slot,
                                             std::span<const asio::const_buffer> buffers,
                                             std::chrono::milliseconds timeout) {
    gather_cursor cursor(buffers);
    auto deadline = steady::time_point::max();
    for (;;) {
        auto ec = cursor.send_some(socket.native_handle());
        if (cursor.done() || (ec && ec != asio::error::would_block)) co_return ec;
        if (deadline == steady::time_point::max()) deadline = steady::now() + timeout;
        slot.deadline = deadline;
        auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, nothrow_awaitable);
        slot.deadline = steady::time_point::max();
        if (wait_ec) co_return wait_ec;
    }
}

std::string peer_address(const tcp::socket& socket) {
    beast::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    return ec ? std::string("-") : endpoint.address().to_string();
}

// The peer as the rate limiter knows it; all zeros when the socket no longer has one.
client_key peer_key(const tcp::socket& socket) {
    beast::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (ec) return client_key{};
    auto address = endpoint.address();
    return address.is_v4() ? client_key_of(address.to_v4().to_bytes()) : client_key_of(address.to_v6().to_bytes());
}

// Spends a token of the request's client, when its route is limited: the client named by the
// configured header, else the TCP peer. The 429 when there was none; nothing when the request
// may go on.
std::optional<response> refuse_over_limit(rate_limiter& limiter, const session_services& services,
                                          std::string_view target, std::string_view forwarded,
                                          std::optional<client_key>& peer, const tcp::socket& socket,
                                          steady::time_point now) {
    auto which = target_route(target);
    if (!rate_limited(which)) return std::nullopt;
    std::optional<client_key> client;
    if (!forwarded.empty()) client = forwarded_client(forwarded);
    if (!client) {
        // Looked up once a connection: the peer does not change.
        if (!peer) peer = peer_key(socket);
        client = peer;
    }
    auto verdict = limiter.acquire(*client, now);
    if (verdict.shared) services.rate_shared.inc();
    if (verdict.allowed) return std::nullopt;
    services.rate_limited.inc();
    auto r = error_response(error_kind::too_many_requests, which);
    r.retry_after = verdict.retry_after;
    return r;
}

// Reads and drops what the client still sends, for a while, after "Connection: close".
asio::awaitable<void> linger(tcp::socket& socket, session_slot& slot) {
    slot.deadline = steady::now() + linger_timeout;
    std::size_t drained = 0;
    std::array<char, 4096> sink;
    while (drained < linger_bytes) {
        auto [ec, got] = co_await socket.async_read_some(asio::buffer(sink), nothrow_awaitable);
        if (ec) break;
        drained += got;
    }
}

}  // namespace

void io_thread::refresh(const data_access& data) {
    auto g = data.generation();
    if (g != generation) {
        state.snapshot = data.current();
        generation = g;
    }
    state.database_reachable = data.database_reachable();
}

asio::awaitable<void> refresh_every(io_thread& thread, const data_access& data, std::chrono::milliseconds interval) {
    asio::steady_timer tick(thread.context);
    for (;;) {
        tick.expires_after(interval);
        auto [ec] = co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        thread.refresh(data);
    }
}

asio::awaitable<void> serve_connection(tcp::socket socket, io_thread& thread, const session_services& services) {
    const auto& options = services.options;
    session_slot slot;
    slot.socket = &socket;
    thread.sweep.add(slot);
    struct unregister {
        io_thread& thread;
        session_slot& slot;
        connection_count& connections;
        ~unregister() {
            thread.sweep.remove(slot);
            // Also when the frame is destroyed while the session waits (at the end of a stop).
            thread.keep_alive.leave(slot.keep_alive);
            connections.closed(slot.keep_alive.evicted);
        }
    } guard{thread, slot, services.connections};

    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    beast::flat_buffer buffer(buffer_limit);
    std::string method;
    std::string target;
    std::string if_none_match;
    std::string client_request_id;
    std::string forwarded;           // the rightmost element of the client_address_header field
    std::string client;              // the peer's address, looked up for the first access log record
    std::optional<client_key> peer;  // the peer as the rate limiter knows it, looked up when first needed
    // Without a limit nobody needs the header: the parser does not look for it.
    std::string_view client_header = services.limiter ? std::string_view(options.client_address_header) : "";
    std::string head;
    // The head and the body's pieces, gathered into one sendmsg.
    std::vector<asio::const_buffer> buffers;
    target.reserve(256);
    head.reserve(512);
    buffers.reserve(max_gathered_ranges + 3);
    bool answered_close = false;
    // The first request is under the read timeout from the moment the connection was accepted: a
    // connection that sends nothing holds a descriptor only that long, not the idle timeout.
    bool first_request = true;

    while (!services.stopping.load(std::memory_order_relaxed)) {
        auto head_deadline = steady::time_point::max();
        if (first_request) head_deadline = steady::now() + options.read_timeout;
        if (buffer.size() == 0) {
            slot.idle = true;
            bool evicted = false;
            if (first_request) {
                slot.deadline = head_deadline;
            } else {
                // Between keep-alive requests: the idle timeout, and evictable at the cap.
                slot.deadline = steady::now() + options.idle_timeout;
                thread.keep_alive.enter(slot.keep_alive, socket.native_handle(), steady::now());
            }
            auto [ec, n] = co_await socket.async_read_some(buffer.prepare(read_chunk), nothrow_awaitable);
            if (!first_request) evicted = !thread.keep_alive.leave(slot.keep_alive);
            slot.deadline = steady::time_point::max();
            slot.idle = false;
            if (ec || evicted) break;
            buffer.commit(n);
        }
        // From the first byte of a keep-alive or pipelined request.
        if (!first_request) head_deadline = steady::now() + options.read_timeout;
        first_request = false;
        request_parser parser(method, target, if_none_match, client_request_id, client_header, forwarded);
        auto ec = co_await read_head(socket, slot, buffer, parser, head_deadline);
        auto started = steady::now();

        response r;
        bool close = false;
        bool head_only = false;
        if (ec) {
            auto failure = answerable_failure(parser, ec);
            if (!failure) break;  // timeout, reset, EOF or shutdown: there is nobody to answer
            r = error_response(*failure);
            close = true;
        } else {
            std::optional<response> refused;
            if (services.limiter)
                refused = refuse_over_limit(*services.limiter, services, target, forwarded, peer, socket, started);
            if (refused) {
                r = std::move(*refused);
            } else {
                thread.refresh(services.data);
                if (services.events.enabled() && is_event_route(target_route(target)))
                    r = co_await services.events.answer(request{method, target, if_none_match});
                else
                    r = handle_request(request{method, target, if_none_match}, thread.state);
            }
            head_only = method == "HEAD";
            // A request body is never read, so a request that has one ends the connection.
            close = !parser.keep_alive() || !parser.is_done() || services.stopping.load(std::memory_order_relaxed);
        }

        std::size_t body_size = r.body ? r.body->size() : 0;
        auto request_id = thread.ids.id_for(client_request_id);
        write_response_head(head, r, thread.date.now(), body_size, close, parser.version, request_id);
        buffers.clear();
        buffers.emplace_back(asio::buffer(head));
        // `r` keeps the body, and through it the snapshot its pieces point into, until written.
        if (!head_only && r.body)
            for (auto piece : r.body->pieces())
                if (!piece.empty()) buffers.push_back(asio::buffer(piece.data(), piece.size()));
        auto write_ec = co_await write_all(socket, slot, buffers, options.write_timeout);

        auto took = std::chrono::duration<double>(steady::now() - started);
        services.metrics.record(r.which, r.status, took.count());
        if (thread.access.wants(r.status)) {
            if (client.empty()) client = peer_address(socket);
            thread.access.record({client, method, target, r.status, head_only ? 0 : body_size, took, request_id});
        }
        if (write_ec) break;
        if (close) {
            answered_close = true;
            break;
        }
    }

    socket.shutdown(tcp::socket::shutdown_send, ignored);
    if (answered_close) co_await linger(socket, slot);
    socket.close(ignored);
}

}  // namespace marquee::api::detail
