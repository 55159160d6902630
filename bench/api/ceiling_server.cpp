// A minimal Beast HTTP/1.1 server answering every request with the same bytes from memory: the
// ceiling marquee-api is measured against (bench/api/run.sh). Usage: ceiling_server PORT BODY_FILE [THREADS]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

struct canned {
    std::string keep_alive;  // head + body
    std::string close;
};

asio::awaitable<void> session(tcp::socket socket, const canned& reply) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        stream.expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
        if (ec) break;
        bool keep = parser.get().keep_alive();
        const auto& bytes = keep ? reply.keep_alive : reply.close;
        auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(bytes), nothrow);
        if (write_ec || !keep) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept(tcp::acceptor& acceptor, std::vector<std::unique_ptr<asio::io_context>>& contexts,
                             const canned& reply) {
    std::size_t next = 0;
    for (;;) {
        auto& context = *contexts[next++ % contexts.size()];
        auto [ec, socket] = co_await acceptor.async_accept(context, nothrow);
        if (ec) co_return;
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(context, session(std::move(socket), reply), asio::detached);
    }
}

bool parse_unsigned(const char* text, unsigned& value) {
    std::string_view s(text);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
    unsigned port = 0;
    unsigned threads = std::max(1U, std::thread::hardware_concurrency());
    if (argc < 3 || !parse_unsigned(argv[1], port) || port == 0 || port > 65535 ||
        (argc > 3 && !parse_unsigned(argv[3], threads))) {
        std::fprintf(stderr, "usage: %s PORT BODY_FILE [THREADS]\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }
    std::ostringstream body;
    body << in.rdbuf();
    auto head = [&](const char* connection) {
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.str().size()) + "\r\n" + connection + "\r\n";
    };
    const canned reply{head("") + body.str(), head("Connection: close\r\n") + body.str()};

    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (unsigned i = 0; i < std::max(1U, threads); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    tcp::acceptor acceptor(*contexts[0], {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    asio::signal_set signals(*contexts[0], SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code&, int) {
        for (auto& c : contexts) c->stop();
    });
    asio::co_spawn(*contexts[0], accept(acceptor, contexts, reply), asio::detached);
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < contexts.size(); ++i)
        pool.emplace_back([&c = *contexts[i]] {
            auto guard = asio::make_work_guard(c);
            c.run();
        });
    contexts[0]->run();
    for (auto& t : pool) t.join();
    return 0;
}
