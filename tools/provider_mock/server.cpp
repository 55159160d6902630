#include "server.hpp"

#include "marquee/log/log.hpp"
#include "oversize_body.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <sstream>
#include <variant>

namespace marquee::provider_mock {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto read_timeout = 60s;   // an idle keep-alive connection is closed after this
constexpr auto write_timeout = 60s;  // per write; a client that stops reading is dropped
constexpr auto handshake_timeout = 10s;
constexpr std::size_t chunk_size = std::size_t{64} * 1024;

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

beast::tcp_stream& lowest(beast::tcp_stream& stream) {
    return stream;
}
beast::tcp_stream& lowest(tls_stream& stream) {
    return beast::get_lowest_layer(stream);
}

// Ends a connection after its last response: the peer reads to the end of what was sent.
asio::awaitable<void> finish(beast::tcp_stream& stream) {
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    co_return;
}
asio::awaitable<void> finish(tls_stream& stream) {
    lowest(stream).expires_after(handshake_timeout);
    co_await stream.async_shutdown(use_tuple);
}

// Header bytes exactly as they go on the wire, for the responses whose body does not match the
// Content-Length on purpose (truncate) or is produced piece by piece (oversize).
std::string header_text(const http::response<http::empty_body>& res) {
    std::ostringstream out;
    out << res.base();
    return std::move(out).str();
}

}  // namespace

release_gate::release_gate(asio::io_context& io) : closed_(io, asio::steady_timer::time_point::max()) {}

asio::awaitable<void> release_gate::wait() {
    // open() cancels the wait; the timer itself never expires.
    co_await closed_.async_wait(use_tuple);
}

void release_gate::open() {
    closed_.cancel();
}

server::server(asio::io_context& io, const asio::ip::tcp::endpoint& listen, mock_provider& provider, release_gate& gate,
               std::filesystem::path sample_dir, asio::ssl::context* tls)
    : acceptor_(io, listen), provider_(provider), gate_(gate), sample_dir_(std::move(sample_dir)), tls_(tls) {}

void server::start() {
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void server::stop() noexcept {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

asio::awaitable<void> server::accept_loop() {
    while (acceptor_.is_open()) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
            log::warn("accept failed: {}", ec.message());
            // Out of descriptors, typically: back off instead of spinning.
            asio::steady_timer pause(acceptor_.get_executor(), 100ms);
            co_await pause.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(acceptor_.get_executor(),
                       tls_ ? tls_session(std::move(socket)) : plain_session(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> server::plain_session(asio::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    co_await session(stream);
}

asio::awaitable<void> server::tls_session(asio::ip::tcp::socket socket) {
    tls_stream stream(beast::tcp_stream(std::move(socket)), *tls_);
    lowest(stream).expires_after(handshake_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) {
        log::debug("TLS handshake failed: {}", ec.message());
        co_return;
    }
    co_await session(stream);
}

template <typename Stream>
asio::awaitable<void> server::session(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(16 * 1024);
        lowest(stream).expires_after(read_timeout);
        auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (ec) break;  // end of stream, timeout or a malformed request: nothing more to answer
        const auto& req = parser.get();
        log::debug("{} {}", std::string_view(req.method_string()), std::string_view(req.target()));
        auto answer = provider_.handle(req.method_string(), req.target());
        if (provider_.take_hold()) {
            if (auto* file = std::get_if<file_reply>(&answer); file != nullptr && !file->truncate) {
                file->hold_body = true;
            } else {
                log::info("holding the reply to {} until /_control/release", std::string_view(req.target()));
                co_await gate_.wait();
                provider_.held_reply_sent();
            }
        }
        const bool keep_alive = co_await std::visit([&](const auto& r) { return send(stream, req, r); }, answer);
        if (!keep_alive) break;
    }
    co_await finish(stream);
}

template <typename Stream>
asio::awaitable<bool> server::send(Stream& stream, const request& req, const file_reply& r) {
    if (r.delay > 0ms) {
        asio::steady_timer timer(co_await asio::this_coro::executor, r.delay);
        co_await timer.async_wait(use_tuple);
    }
    const auto path = sample_dir_ / r.name;
    if (r.truncate) {
        std::ifstream file(path, std::ios::binary);
        if (!file) co_return co_await send(stream, req, text_reply{500, "text/plain", "cannot open sample file\n"});
        std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        http::response<http::empty_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "application/xml");
        res.content_length(content.size());
        res.keep_alive(false);
        auto wire = header_text(res) + content.substr(0, content.size() / 2);
        lowest(stream).expires_after(write_timeout);
        co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
        co_return false;
    }
    if (r.hold_body) co_return co_await send_held(stream, req, path);

    http::response<http::file_body> res{http::status::ok, req.version()};
    beast::error_code ec;
    res.body().open(path.c_str(), beast::file_mode::scan, ec);
    if (ec) {
        log::error("cannot open {}: {}", path.string(), ec.message());
        co_return co_await send(stream, req, text_reply{500, "text/plain", "cannot open sample file\n"});
    }
    res.set(http::field::content_type, "application/xml");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    lowest(stream).expires_after(write_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, res, use_tuple);
    co_return !write_ec && req.keep_alive();
}

template <typename Stream>
asio::awaitable<bool> server::send_held(Stream& stream, const request& req, const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        provider_.held_reply_sent();
        co_return co_await send(stream, req, text_reply{500, "text/plain", "cannot open sample file\n"});
    }
    std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/xml");
    res.content_length(content.size());
    res.keep_alive(req.keep_alive());
    // The head and the body's first byte at once: a client's first-byte deadline is met, so only
    // its total deadline can run out while the rest waits for the release.
    const auto first = std::min<std::size_t>(content.size(), 1);
    const auto wire = header_text(res) + content.substr(0, first);
    lowest(stream).expires_after(write_timeout);
    auto [head_ec, head_bytes] = co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
    if (!head_ec) {
        log::info("holding the rest of {} until /_control/release", path.filename().string());
        lowest(stream).expires_never();  // the test decides how long
        co_await gate_.wait();
    }
    provider_.held_reply_sent();
    if (head_ec) co_return false;
    lowest(stream).expires_after(write_timeout);
    auto [rest_ec, rest_bytes] =
        co_await asio::async_write(stream, asio::buffer(content.data() + first, content.size() - first), use_tuple);
    co_return !rest_ec && req.keep_alive();
}

template <typename Stream>
asio::awaitable<bool> server::send(Stream& stream, const request& req, const text_reply& r) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    if (!r.location.empty()) res.set(http::field::location, r.location);
    res.body() = r.body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    lowest(stream).expires_after(write_timeout);
    auto [ec, written] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec && req.keep_alive();
}

template <typename Stream>
asio::awaitable<bool> server::send(Stream& stream, const request& req, const oversize_reply& r) {
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/xml");
    res.content_length(r.size);
    res.keep_alive(req.keep_alive());
    const auto head = header_text(res);
    lowest(stream).expires_after(write_timeout);
    if (auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), use_tuple); ec) co_return false;

    const oversize_body body(r.size);
    std::array<char, chunk_size> chunk{};
    for (std::uint64_t offset = 0; offset < body.size();) {
        const auto count = body.read(offset, chunk);
        lowest(stream).expires_after(write_timeout);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(chunk.data(), count), use_tuple);
        if (ec) co_return false;  // the client gave up reading, as a size-limited fetcher should
        offset += count;
    }
    co_return req.keep_alive();
}

}  // namespace marquee::provider_mock
