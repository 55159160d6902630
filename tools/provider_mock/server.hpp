#pragma once
// The mock's HTTP/1.1 server: one io_context, one coroutine per connection, a deadline on every read
// and write. It asks mock_provider what to answer and carries the answer out (files are streamed
// from disk, the oversize body is generated as it is sent). Given a TLS context it speaks HTTPS
// instead (for testing what a fetcher does with https feeds).
#include "mock_provider.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <filesystem>

namespace marquee::provider_mock {

/// Where held replies wait (see mock_provider::take_hold): open() wakes every one waiting now. Shared
/// by the plain and the TLS server, on the one io_context thread.
class release_gate {
public:
    explicit release_gate(boost::asio::io_context& io);
    /// Returns at the next open().
    boost::asio::awaitable<void> wait();
    /// Throws boost::system::system_error when the timer cannot be cancelled.
    void open();

private:
    boost::asio::steady_timer closed_;
};

class server {
public:
    /// Binds and listens at once; throws boost::system::system_error when the address is unusable.
    /// With `tls` (which must outlive the server) every connection starts with a TLS handshake.
    /// `gate` (which must outlive the server) is where held replies wait.
    server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& listen, mock_provider& provider,
           release_gate& gate, std::filesystem::path sample_dir, boost::asio::ssl::context* tls = nullptr);

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    /// Starts accepting on the io_context.
    void start();
    /// Stops accepting; connections end when the io_context stops.
    void stop() noexcept;

private:
    using request = boost::beast::http::request<boost::beast::http::empty_body>;

    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> plain_session(boost::asio::ip::tcp::socket socket);
    boost::asio::awaitable<void> tls_session(boost::asio::ip::tcp::socket socket);
    // Stream: boost::beast::tcp_stream or boost::beast::ssl_stream over one (defined in server.cpp).
    template <typename Stream>
    boost::asio::awaitable<void> session(Stream& stream);
    // Each returns whether the connection may serve another request.
    template <typename Stream>
    boost::asio::awaitable<bool> send(Stream& stream, const request& req, const file_reply& r);
    template <typename Stream>
    boost::asio::awaitable<bool> send_held(Stream& stream, const request& req, const std::filesystem::path& path);
    template <typename Stream>
    boost::asio::awaitable<bool> send(Stream& stream, const request& req, const text_reply& r);
    template <typename Stream>
    boost::asio::awaitable<bool> send(Stream& stream, const request& req, const oversize_reply& r);

    boost::asio::ip::tcp::acceptor acceptor_;
    mock_provider& provider_;
    release_gate& gate_;
    std::filesystem::path sample_dir_;
    boost::asio::ssl::context* tls_;
};

}  // namespace marquee::provider_mock
