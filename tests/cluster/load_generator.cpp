#include "load_generator.hpp"

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace marquee::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using std::chrono::steady_clock;

struct load_generator::state {
    load_options options;
    asio::io_context io;
    std::vector<std::thread> threads;
    std::atomic<bool> stopping{false};
    bool stopped = false;
    steady_clock::time_point started = steady_clock::now();
    steady_clock::time_point finished;
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> failures{0};
    std::mutex mutex;  // guards failures_seen and latencies_us
    std::vector<load_failure> failures_seen;
    std::vector<std::uint32_t> latencies_us;

    void record(steady_clock::time_point sent, const std::string& failure, std::vector<std::uint32_t>& latencies) {
        const auto now = steady_clock::now();
        requests.fetch_add(1, std::memory_order_relaxed);
        latencies.push_back(static_cast<std::uint32_t>(
            std::min<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count(),
                                   std::numeric_limits<std::uint32_t>::max())));
        if (failure.empty()) return;
        failures.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mutex);
        if (failures_seen.size() < 1000) failures_seen.push_back({now, failure});
    }

    // One connection: a request every `interval`, reconnecting after a failure or a close.
    asio::awaitable<void> connection(unsigned index) {
        constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
        const auto interval = std::chrono::duration_cast<steady_clock::duration>(
            std::chrono::duration<double>(options.connections / options.requests_per_second));
        const auto endpoint = asio::ip::tcp::endpoint(asio::ip::make_address(options.host), options.port);
        auto executor = co_await asio::this_coro::executor;
        beast::tcp_stream stream(executor);
        asio::steady_timer timer(executor);
        beast::flat_buffer buffer;
        bool connected = false;
        std::size_t target = index;
        std::vector<std::uint32_t> latencies;
        latencies.reserve(1 << 16);
        // Spread the connections' first requests over one interval.
        auto due = started + interval * index / options.connections;
        while (!stopping.load(std::memory_order_relaxed)) {
            const auto now = steady_clock::now();
            if (due > now) {
                timer.expires_at(due);
                co_await timer.async_wait(use_tuple);
            } else if (now - due > std::chrono::seconds(1)) {
                due = now;  // far behind (a stall): carry on at the pace rather than in a burst
            }
            due += interval;
            if (stopping.load(std::memory_order_relaxed)) break;

            const auto sent = steady_clock::now();
            std::string failure;
            bool keep_alive = false;
            if (!connected) {
                buffer.clear();
                stream.expires_after(options.timeout);
                auto [ec] = co_await stream.async_connect(endpoint, use_tuple);
                if (ec)
                    failure = "connect: " + ec.message();
                else
                    connected = true;
            }
            if (failure.empty()) {
                http::request<http::empty_body> request{http::verb::get,
                                                        options.targets[target++ % options.targets.size()], 11};
                request.set(http::field::host, fmt::format("{}:{}", options.host, options.port));
                request.set(http::field::user_agent, "marquee-cluster-test");
                stream.expires_after(options.timeout);
                auto [write_ec, written] = co_await http::async_write(stream, request, use_tuple);
                if (write_ec) {
                    failure = "write: " + write_ec.message();
                } else {
                    http::response_parser<http::string_body> parser;
                    parser.body_limit(64 * 1024 * 1024);
                    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
                    if (read_ec)
                        failure = "read: " + read_ec.message();
                    else if (parser.get().result_int() != 200)
                        failure = fmt::format("status {}", parser.get().result_int());
                    else
                        keep_alive = parser.keep_alive();
                }
            }
            record(sent, failure, latencies);
            if (!keep_alive && connected) {
                beast::error_code ignored;
                stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                stream.close();
                connected = false;
            }
        }
        std::lock_guard lock(mutex);
        latencies_us.insert(latencies_us.end(), latencies.begin(), latencies.end());
    }
};

load_generator::load_generator(load_options options) : state_(std::make_unique<state>()) {
    if (options.targets.empty()) throw std::invalid_argument("load_generator: no targets");
    if (options.connections == 0 || options.threads == 0 || !(options.requests_per_second > 0))
        throw std::invalid_argument("load_generator: connections, threads and rate must be positive");
    state_->options = std::move(options);
    state_->started = steady_clock::now();
    for (unsigned i = 0; i < state_->options.connections; ++i)
        asio::co_spawn(state_->io, state_->connection(i), asio::detached);
    for (unsigned i = 0; i < state_->options.threads; ++i) state_->threads.emplace_back([this] { state_->io.run(); });
}

load_generator::~load_generator() {
    if (!state_->stopped) stop();
}

std::uint64_t load_generator::requests() const noexcept {
    return state_->requests.load(std::memory_order_relaxed);
}

std::uint64_t load_generator::failures() const noexcept {
    return state_->failures.load(std::memory_order_relaxed);
}

load_report load_generator::stop() {
    state_->stopping = true;
    for (auto& thread : state_->threads) thread.join();
    state_->stopped = true;
    state_->finished = steady_clock::now();

    load_report report;
    report.started = state_->started;
    report.requests = requests();
    report.failures = failures();
    report.seconds = std::chrono::duration<double>(state_->finished - state_->started).count();
    report.rate = report.seconds > 0 ? static_cast<double>(report.requests) / report.seconds : 0;
    report.failures_seen = state_->failures_seen;
    auto& latencies = state_->latencies_us;
    if (!latencies.empty()) {
        auto quantile = [&](double q) {
            auto at = latencies.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(latencies.size() - 1));
            std::nth_element(latencies.begin(), at, latencies.end());
            return *at / 1000.0;
        };
        report.p50_ms = quantile(0.5);
        report.p99_ms = quantile(0.99);
        report.p999_ms = quantile(0.999);
        report.max_ms = *std::max_element(latencies.begin(), latencies.end()) / 1000.0;
    }
    return report;
}

}  // namespace marquee::testing
