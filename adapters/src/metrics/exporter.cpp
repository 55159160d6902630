#include "marquee/metrics/exporter.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

#include <pthread.h>

#include <csignal>
#include <exception>
#include <thread>

namespace marquee::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// A scrape request is a request line and a few headers; anything larger is not one.
constexpr std::uint32_t header_limit = 8 * 1024;

void log_failure(const std::exception_ptr& failure, std::string_view what) {
    if (!failure) return;
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        log::warn("metrics exporter: {}: {}", what, e.what());
    }
}

}  // namespace

struct exporter::impl {
    impl(const registry& from, exporter_options settings) : source(from), options(std::move(settings)) {}

    http::response<http::string_body> respond(const http::request<http::empty_body>& request) const {
        http::response<http::string_body> response;
        response.version(request.version());
        response.keep_alive(request.keep_alive());
        auto target = std::string_view(request.target());
        auto path = target.substr(0, target.find('?'));
        if (path != "/metrics") {
            response.result(http::status::not_found);
            response.set(http::field::content_type, "text/plain; charset=utf-8");
            response.body() = "not found; metrics are at /metrics\n";
        } else if (request.method() != http::verb::get) {
            response.result(http::status::method_not_allowed);
            response.set(http::field::allow, "GET");
            response.set(http::field::content_type, "text/plain; charset=utf-8");
            response.body() = "only GET is served\n";
        } else {
            response.result(http::status::ok);
            response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            response.body() = source.render();
        }
        response.prepare_payload();
        return response;
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::empty_body> parser;
            parser.header_limit(header_limit);
            stream.expires_after(options.io_timeout);
            auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
            // Closed, idle too long or not HTTP: nothing worth answering.
            if (read_error) break;
            auto response = respond(parser.get());
            stream.expires_after(options.io_timeout);
            auto [write_error, written] = co_await http::async_write(stream, response, use_tuple);
            if (write_error || !response.keep_alive()) break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [accept_error, socket] = co_await acceptor.async_accept(use_tuple);
            if (accept_error == asio::error::operation_aborted) co_return;
            if (accept_error) {
                // Out of descriptors, typically: give the process a moment instead of spinning.
                log::warn("metrics exporter: accept failed: {}", accept_error.message());
                asio::steady_timer pause(io, std::chrono::milliseconds{100});
                co_await pause.async_wait(use_tuple);
                continue;
            }
            if (open >= options.max_connections) continue;  // the socket closes as it goes out of scope
            ++open;
            asio::co_spawn(io, serve(std::move(socket)), [this](const std::exception_ptr& failure) {
                --open;
                log_failure(failure, "connection");
            });
        }
    }

    const registry& source;
    exporter_options options;
    std::uint16_t port = 0;  // as bound; read from any thread
    std::size_t open = 0;    // touched only on the I/O thread
    // Declared after what the coroutines use: destroying the io_context destroys their frames.
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
};

exporter::exporter(const registry& source, exporter_options options)
    : impl_(std::make_unique<impl>(source, std::move(options))) {
    auto& i = *impl_;
    try {
        tcp::resolver resolver(i.io);
        auto endpoints = resolver.resolve(i.options.host, std::to_string(i.options.port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service);
        auto endpoint = endpoints.begin()->endpoint();
        i.acceptor.open(endpoint.protocol());
        i.acceptor.set_option(tcp::acceptor::reuse_address(true));
        i.acceptor.bind(endpoint);
        i.acceptor.listen();
        i.port = i.acceptor.local_endpoint().port();
    } catch (const boost::system::system_error& e) {
        throw error(
            fmt::format("metrics: cannot listen on {}:{}: {}", i.options.host, i.options.port, e.code().message()));
    }
    asio::co_spawn(i.io, i.accept_loop(),
                   [](const std::exception_ptr& failure) { log_failure(failure, "accept loop"); });
    // The I/O thread takes no signals, so they reach whichever thread the application chose (the
    // worker sigwaits for SIGTERM in its main thread).
    sigset_t all_signals;
    sigset_t previous;
    sigfillset(&all_signals);
    pthread_sigmask(SIG_SETMASK, &all_signals, &previous);
    try {
        i.thread = std::thread([&i] { i.io.run(); });
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

exporter::~exporter() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t exporter::port() const noexcept {
    return impl_->port;
}

}  // namespace marquee::metrics
