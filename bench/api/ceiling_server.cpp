// A minimal Beast HTTP/1.1 server answering from memory: the ceiling marquee-api is measured against
// (bench/api/run.sh). Usage: ceiling_server PORT BODY_FILE|ANSWERS_DIR [THREADS]
//   BODY_FILE    every request is answered 200 with these bytes;
//   ANSWERS_DIR  a request is answered by target from ANSWERS_DIR/index, lines "STATUS TARGET FILE"
//                (FILE in ANSWERS_DIR), 404 with no body for a target not listed: the mixed
//                workload's answers, recorded from marquee-api, served as canned bytes.
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
#include <boost/beast/http/status.hpp>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
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

canned make_canned(unsigned status, const std::string& body) {
    auto head = [&](const char* connection) {
        auto reason = http::obsolete_reason(static_cast<http::status>(status));
        return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason.data(), reason.size()) +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
               connection + "\r\n";
    };
    return {head("") + body, head("Connection: close\r\n") + body};
}

// One answer for every target, or one per target.
struct answers {
    canned any;
    std::unordered_map<std::string, canned> by_target;
    canned unknown = make_canned(404, "");

    const canned& to(beast::string_view target) const {
        if (by_target.empty()) return any;
        auto it = by_target.find(std::string(target));
        return it == by_target.end() ? unknown : it->second;
    }
};

asio::awaitable<void> session(tcp::socket socket, const answers& replies) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        stream.expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
        if (ec) break;
        bool keep = parser.get().keep_alive();
        const auto& reply = replies.to(parser.get().target());
        const auto& bytes = keep ? reply.keep_alive : reply.close;
        auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(bytes), nothrow);
        if (write_ec || !keep) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept(tcp::acceptor& acceptor, std::vector<std::unique_ptr<asio::io_context>>& contexts,
                             const answers& reply) {
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

bool read_file(const std::filesystem::path& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out = bytes.str();
    return true;
}

bool load(const std::filesystem::path& source, answers& out) {
    std::string body;
    if (!std::filesystem::is_directory(source)) {
        if (!read_file(source, body)) return false;
        out.any = make_canned(200, body);
        return true;
    }
    std::ifstream index(source / "index");
    unsigned status = 0;
    std::string target;
    std::string file;
    while (index >> status >> target >> file) {
        if (!read_file(source / file, body)) return false;
        out.by_target.emplace(target, make_canned(status, body));
    }
    return !out.by_target.empty();
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
    answers reply;
    if (!load(argv[2], reply)) {
        std::fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }

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
