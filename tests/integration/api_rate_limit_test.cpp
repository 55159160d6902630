// marquee-api's per-client rate limit (API_RATE_LIMIT, API_RATE_BURST, API_CLIENT_ADDRESS_HEADER):
// 429 in the envelope with Retry-After, the probes and the scrape never limited, clients behind a
// trusted proxy told apart by the rightmost X-Forwarded-For address, the metric, and no limit at
// all by default. Rates of one token per 100 s keep the answers independent of the machine's speed.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* seed_sql = R"sql(
INSERT INTO providers (name, url, time_zone) VALUES ('p', 'http://127.0.0.1:1/feed', 'UTC');
INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at) VALUES
 ('00000000-0000-5000-8000-000000000001', 'p', '1', '1', 'Concert', 'online',
  '2021-06-30 21:00:00', '2021-06-30 22:00:00', '2021-06-30 21:00:00Z', '2021-06-30 22:00:00Z',
  15.00, 30.50, 2, true, 1, now(), now(), now());
)sql";

const std::string rate_limited_total = "marquee_api_rate_limited_total";

class api_rate_limit : public ::testing::Test {
protected:
    void SetUp() override { mt::execute(db_.url(), seed_sql); }

    void start(std::map<std::string, std::string> env) {
        port_ = mt::free_port();
        env["DATABASE_URL"] = db_.url();
        env["API_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
        env["API_THREADS"] = "2";
        api_ = std::make_unique<mt::process>("marquee-api", std::vector<std::string>{}, env);
        // /readyz is exempt: waiting for it spends no token.
        ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "marquee-api is ready"));
    }

    mt::http_response get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
        return mt::http_get("127.0.0.1", port_, target, headers, 10s);
    }

    // The /search status for a client a proxy named `forwarded_for` (no header when empty).
    unsigned search_as(const std::string& forwarded_for) {
        if (forwarded_for.empty()) return get("/search").status;
        return get("/search", {{"X-Forwarded-For", forwarded_for}}).status;
    }

    double metric(const std::string& series) {
        auto body = get("/metrics").body;
        return mt::metric_sample(body, series).value_or(-1);
    }

    mt::database db_ = mt::fresh_database();
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> api_;
};

// Checks a 429: the envelope, Retry-After in whole seconds within [min, max], not cached.
void expect_too_many_requests(const mt::http_response& r, long min_seconds, long max_seconds) {
    ASSERT_EQ(r.status, 429U) << r.error << r.body;
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(r.headers.at("cache-control"), "no-store");
    EXPECT_FALSE(r.headers.at("x-request-id").empty());
    ASSERT_TRUE(r.headers.contains("retry-after"));
    auto seconds = std::stol(r.headers.at("retry-after"));
    EXPECT_GE(seconds, min_seconds) << r.headers.at("retry-after");
    EXPECT_LE(seconds, max_seconds) << r.headers.at("retry-after");
    EXPECT_EQ(std::to_string(seconds), r.headers.at("retry-after")) << "an integer, nothing else";
    auto envelope = boost::json::parse(r.body).as_object();
    EXPECT_TRUE(envelope.at("data").is_null()) << r.body;
    EXPECT_EQ(envelope.at("error").at("code").as_string(), "too_many_requests") << r.body;
    EXPECT_FALSE(envelope.at("error").at("message").as_string().empty()) << r.body;
}

}  // namespace

TEST_F(api_rate_limit, a_burst_beyond_the_limit_gets_429_with_retry_after_and_is_counted) {
    start({{"API_RATE_LIMIT", "5"}, {"API_RATE_BURST", "5"}});
    std::vector<mt::http_response> answers;
    int refused = 0;
    auto began = std::chrono::steady_clock::now();
    while (refused < 3 && answers.size() < 500) {
        answers.push_back(get("/search"));
        if (answers.back().status == 429) ++refused;
    }
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    ASSERT_EQ(refused, 3) << "no 429 in " << answers.size() << " requests";
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(answers[i].status, 200U) << "request " << i << " of a full bucket";
    int passed = 0;
    for (const auto& r : answers) {
        if (r.status == 200) {
            ++passed;
            EXPECT_FALSE(r.headers.contains("retry-after"));
            continue;
        }
        // At 5 per second a token is never more than 200 ms away: 1 s, rounded up.
        expect_too_many_requests(r, 1, 1);
    }
    EXPECT_EQ(passed + refused, static_cast<int>(answers.size())) << "only 200 and 429";
    EXPECT_LE(passed, 5 + static_cast<int>(5 * took) + 1) << "the burst and what refilled in " << took << " s";

    // Counted when refused, before the 429 is written; the request counters once it is written.
    EXPECT_EQ(metric(rate_limited_total), refused);
    EXPECT_TRUE(
        mt::wait_until([&] { return metric(R"(marquee_api_requests_total{route="search",status="429"})") == refused; },
                       10s, "the 429s in the request counters"));
    EXPECT_TRUE(
        mt::wait_until([&] { return metric(R"(marquee_api_requests_total{route="search",status="200"})") == passed; },
                       10s, "the 200s in the request counters"));
    EXPECT_EQ(metric("marquee_api_rate_limit_shared_total"), 0);
}

TEST_F(api_rate_limit, health_readiness_and_metrics_answer_while_the_client_is_limited) {
    start({{"API_RATE_LIMIT", "0.01"}, {"API_RATE_BURST", "1"}});  // one token per 100 s
    ASSERT_EQ(get("/search").status, 200U);
    expect_too_many_requests(get("/search"), 90, 100);
    for (int i = 0; i < 20; ++i)
        for (const char* exempt : {"/healthz", "/readyz", "/metrics"}) {
            auto r = get(exempt);
            EXPECT_EQ(r.status, 200U) << exempt << ": " << r.body;
            EXPECT_FALSE(r.headers.contains("retry-after")) << exempt;
        }
    // Limited all along: the exempt requests neither needed nor spent a token.
    expect_too_many_requests(get("/search"), 90, 100);
    EXPECT_EQ(metric(rate_limited_total), 2);
}

TEST_F(api_rate_limit, the_spec_the_docs_and_unknown_paths_are_limited_with_search) {
    start({{"API_RATE_LIMIT", "0.01"}, {"API_RATE_BURST", "3"}});
    EXPECT_EQ(get("/openapi.yaml").status, 200U);
    EXPECT_EQ(get("/docs").status, 200U);
    EXPECT_EQ(get("/nope").status, 404U);
    // All three spent the client's tokens; every limited route now answers 429, under its own route.
    for (const char* target : {"/search", "/openapi.yaml", "/docs", "/nope"}) {
        SCOPED_TRACE(target);
        expect_too_many_requests(get(target), 1, 300);
    }
    EXPECT_EQ(metric(rate_limited_total), 4);
    EXPECT_TRUE(mt::wait_until([&] { return metric(R"(marquee_api_requests_total{route="docs",status="429"})") == 1; },
                               10s, "the /docs 429 counted under its route"));
    EXPECT_EQ(metric(R"(marquee_api_requests_total{route="other",status="429"})"), 1);
}

TEST_F(api_rate_limit, clients_behind_a_trusted_proxy_are_limited_independently_by_the_rightmost_address) {
    start({{"API_RATE_LIMIT", "0.01"}, {"API_RATE_BURST", "2"}, {"API_CLIENT_ADDRESS_HEADER", "X-Forwarded-For"}});
    const std::string a = "203.0.113.7";
    const std::string b = "198.51.100.9";
    EXPECT_EQ(search_as(a), 200U);
    EXPECT_EQ(search_as(a), 200U);
    EXPECT_EQ(search_as(a), 429U);
    // What the client wrote to the left of the proxy's address changes nothing.
    EXPECT_EQ(search_as("10.9.8.7, " + a), 429U);
    EXPECT_EQ(search_as(a + ", 10.9.8.7"), 200U) << "10.9.8.7 is another client";
    // b has a bucket of its own, whatever a did; and a stays limited, whatever b does.
    EXPECT_EQ(search_as(b), 200U);
    EXPECT_EQ(search_as("  " + b + "\t"), 200U);
    EXPECT_EQ(search_as(b), 429U);
    EXPECT_EQ(search_as(a), 429U);
    // IPv6 clients count by /64.
    EXPECT_EQ(search_as("2001:db8:0:1::1"), 200U);
    EXPECT_EQ(search_as("2001:db8:0:1::2"), 200U);
    EXPECT_EQ(search_as("2001:db8:0:1::3"), 429U);
    EXPECT_EQ(search_as("2001:db8:0:2::1"), 200U);
    EXPECT_EQ(metric(rate_limited_total), 5);
}

TEST_F(api_rate_limit, without_a_usable_forwarded_address_the_tcp_peer_is_the_client) {
    start({{"API_RATE_LIMIT", "0.01"}, {"API_RATE_BURST", "2"}, {"API_CLIENT_ADDRESS_HEADER", "X-Forwarded-For"}});
    EXPECT_EQ(search_as(""), 200U) << "no header: 127.0.0.1";
    EXPECT_EQ(search_as("203.0.113.7, not-an-address"), 200U) << "the rightmost element is garbage: 127.0.0.1";
    EXPECT_EQ(search_as("203.0.113.7, "), 429U) << "an empty rightmost element: 127.0.0.1, now limited";
    EXPECT_EQ(search_as(""), 429U);
    EXPECT_EQ(search_as("127.0.0.1"), 429U) << "the peer's own address names the same client";
    EXPECT_EQ(search_as("203.0.113.7"), 200U) << "a usable address is its own client";
}

TEST_F(api_rate_limit, forwarded_for_is_not_trusted_unless_configured) {
    start({{"API_RATE_LIMIT", "0.01"}, {"API_RATE_BURST", "1"}});
    EXPECT_EQ(search_as("203.0.113.7"), 200U);
    EXPECT_EQ(search_as("198.51.100.9"), 429U) << "both are 127.0.0.1";
    EXPECT_EQ(search_as(""), 429U);
}

TEST_F(api_rate_limit, each_request_on_a_shared_connection_is_counted_for_its_own_client) {
    // A load balancer sends many clients' requests over one keep-alive connection.
    start({{"API_RATE_LIMIT", "0.01"}, {"API_RATE_BURST", "1"}, {"API_CLIENT_ADDRESS_HEADER", "x-forwarded-for"}});
    namespace asio = boost::asio;
    namespace http = boost::beast::http;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port_});
    // A read that waits longer fails the test instead of hanging it.
    timeval read_timeout{10, 0};
    ASSERT_EQ(::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof read_timeout), 0);
    std::string pipelined;
    for (const char* client : {"203.0.113.7", "203.0.113.7", "198.51.100.9", "203.0.113.7", "198.51.100.9"})
        pipelined += std::string("GET /search HTTP/1.1\r\nHost: api\r\nX-Forwarded-For: 10.0.0.1\r\n") +
                     "X-Forwarded-For: " + client + "\r\n\r\n";
    asio::write(socket, asio::buffer(pipelined));
    boost::beast::flat_buffer buffer;
    std::vector<unsigned> statuses;
    for (int i = 0; i < 5; ++i) {
        http::response<http::string_body> response;
        http::read(socket, buffer, response);
        statuses.push_back(response.result_int());
        EXPECT_TRUE(response.keep_alive()) << "a 429 keeps the connection";
    }
    EXPECT_EQ(statuses, (std::vector<unsigned>{200, 429, 200, 429, 429}));
}

TEST_F(api_rate_limit, without_a_limit_nothing_is_ever_429) {
    start({});
    for (int i = 0; i < 300; ++i) {
        auto r = i % 2 == 0 ? get("/search") : get("/search", {{"X-Forwarded-For", "203.0.113.7"}});
        ASSERT_EQ(r.status, 200U) << "request " << i << ": " << r.error << r.body;
        EXPECT_FALSE(r.headers.contains("retry-after"));
    }
    EXPECT_EQ(metric(rate_limited_total), 0);
    EXPECT_EQ(metric(R"(marquee_api_requests_total{route="search",status="429"})"), 0);
}

TEST(api_rate_limit_settings, malformed_ones_stop_the_api_with_one_line_and_exit_code_2) {
    struct setting {
        std::string variable;
        std::string flag;
        std::string value;
    };
    for (const auto& [variable, flag, value] :
         std::vector<setting>{{"API_RATE_LIMIT", "--rate-limit", "-1"},
                              {"API_RATE_LIMIT", "--rate-limit", "fast"},
                              {"API_RATE_LIMIT", "--rate-limit", "0.0001"},
                              {"API_RATE_LIMIT", "--rate-limit", "2000000"},
                              {"API_RATE_BURST", "--rate-burst", "-1"},
                              {"API_RATE_BURST", "--rate-burst", "1000001"},
                              {"API_CLIENT_ADDRESS_HEADER", "--client-address-header", "X Forwarded For"},
                              {"API_CLIENT_ADDRESS_HEADER", "--client-address-header", "X-Forwarded-For:"}}) {
        SCOPED_TRACE(variable + "=" + value);
        mt::process api("marquee-api", {},
                        {{"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"},
                         {"API_LISTEN", "127.0.0.1:" + std::to_string(mt::free_port())},
                         {variable, value}});
        EXPECT_EQ(api.wait_exit(30s), 2) << api.log_text();
        auto log = api.log_text();
        EXPECT_NE(log.find("marquee-api: " + flag + ": "), std::string::npos) << log;
        EXPECT_EQ(log.find('\n'), log.size() - 1) << "one line: " << log;
    }
}
