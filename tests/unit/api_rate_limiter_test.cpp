// The API's per-client rate limit: the token buckets (driven by an injected time, never a sleep),
// their bounds, the client a request is counted for, and the 429 it gets.
#include "marquee/api/handler.hpp"
#include "marquee/api/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using marquee::api::client_key;
using marquee::api::forwarded_client;
using marquee::api::parse_client_address;
using marquee::api::rate_limit;
using marquee::api::rate_limiter;
using namespace std::chrono_literals;

namespace {

const rate_limiter::clock::time_point t0 = rate_limiter::clock::time_point{} + 1000h;

client_key key(const char* address) {
    auto k = parse_client_address(address);
    if (!k) throw std::invalid_argument(std::string("not an address: ") + address);
    return *k;
}

// The index-th of 2^32 distinct IPv4 clients.
client_key nth_client(std::uint32_t index) {
    return marquee::api::client_key_of(
        std::array<unsigned char, 4>{static_cast<unsigned char>(index >> 24), static_cast<unsigned char>(index >> 16),
                                     static_cast<unsigned char>(index >> 8), static_cast<unsigned char>(index)});
}

// How many of `n` requests at `now` pass.
int passes(rate_limiter& limiter, const client_key& client, rate_limiter::clock::time_point now, int n) {
    int passed = 0;
    for (int i = 0; i < n; ++i) passed += limiter.acquire(client, now).allowed ? 1 : 0;
    return passed;
}

}  // namespace

TEST(rate_limiter, a_quiet_client_passes_its_burst_at_once_then_gets_retry_after) {
    rate_limiter limiter(rate_limit{5, 5});
    auto client = key("203.0.113.7");
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.acquire(client, t0).allowed) << i;
    auto refused = limiter.acquire(client, t0);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 1s);
    EXPECT_FALSE(refused.shared);
    // Refused requests spend nothing: the next token still comes 200 ms after the burst.
    EXPECT_EQ(passes(limiter, client, t0, 100), 0);
    EXPECT_EQ(passes(limiter, client, t0 + 200ms, 2), 1);
}

TEST(rate_limiter, refills_one_token_per_interval_up_to_the_burst) {
    rate_limiter limiter(rate_limit{5, 5});
    auto client = key("203.0.113.7");
    ASSERT_EQ(passes(limiter, client, t0, 5), 5);
    EXPECT_EQ(passes(limiter, client, t0 + 199ms, 1), 0);
    EXPECT_EQ(passes(limiter, client, t0 + 200ms, 2), 1);
    EXPECT_EQ(passes(limiter, client, t0 + 600ms, 3), 2);
    // Long quiet: the bucket holds the burst, not a second's worth times the hours.
    EXPECT_EQ(passes(limiter, client, t0 + 1h, 20), 5);
    // A steady 5 per second passes forever.
    auto at = t0 + 2h;
    ASSERT_EQ(passes(limiter, client, at, 5), 5);
    for (int i = 1; i <= 50; ++i) EXPECT_EQ(passes(limiter, client, at + i * 200ms, 2), 1) << i;
}

TEST(rate_limiter, retry_after_is_whole_seconds_rounded_up_and_at_least_one) {
    struct expectation {
        double per_second;
        unsigned burst;
        std::chrono::nanoseconds after_burst;  // when the refused request comes
        std::chrono::seconds retry_after;
    };
    for (auto e : std::vector<expectation>{{1000, 1, 0ns, 1s},            // 1 ms to go: still 1, never 0
                                           {5, 5, 0ns, 1s},               // 200 ms
                                           {0.4, 1, 0ns, 3s},             // 2.5 s
                                           {0.4, 1, 2s, 1s},              // 0.5 s
                                           {0.4, 1, 2499999999ns, 1s},    // 1 ns
                                           {0.5, 3, 0ns, 2s},             // exactly 2 s: not rounded further up
                                           {0.5, 3, 1ns, 2s},             // 2 s less 1 ns
                                           {0.001, 1, 0ns, 1000s},        // the slowest rate
                                           {0.001, 1, 999999ms, 1s},      // its last millisecond
                                           {1e6, 1'000'000, 0ns, 1s}}) {  // the fastest
        rate_limiter limiter(rate_limit{e.per_second, e.burst});
        auto client = key("198.51.100.1");
        ASSERT_EQ(passes(limiter, client, t0, static_cast<int>(e.burst)), static_cast<int>(e.burst));
        auto refused = limiter.acquire(client, t0 + e.after_burst);
        EXPECT_FALSE(refused.allowed) << e.per_second << "/s, after " << e.after_burst.count() << " ns";
        EXPECT_EQ(refused.retry_after, e.retry_after) << e.per_second << "/s, after " << e.after_burst.count() << " ns";
        // And the request that comes after that many seconds passes.
        EXPECT_TRUE(limiter.acquire(client, t0 + e.after_burst + refused.retry_after).allowed) << e.per_second;
    }
}

TEST(rate_limiter, default_burst_is_one_seconds_worth_and_at_least_one) {
    EXPECT_EQ(rate_limiter(rate_limit{5, 0}).burst(), 5U);
    EXPECT_EQ(rate_limiter(rate_limit{2.5, 0}).burst(), 3U);
    EXPECT_EQ(rate_limiter(rate_limit{0.2, 0}).burst(), 1U);
    EXPECT_EQ(rate_limiter(rate_limit{5, 12}).burst(), 12U);
    rate_limiter limiter(rate_limit{0.2, 0});
    EXPECT_EQ(passes(limiter, key("192.0.2.1"), t0, 3), 1);
}

TEST(rate_limiter, rejects_rates_and_bursts_out_of_range) {
    for (double rate : {0.0, -1.0, 0.0009, 1e6 + 1, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity()})
        EXPECT_THROW(rate_limiter(rate_limit{rate, 1}), std::invalid_argument) << rate;
    EXPECT_THROW(rate_limiter(rate_limit{1, 1'000'001}), std::invalid_argument);
    EXPECT_NO_THROW(rate_limiter(rate_limit{0.001, 1'000'000}));
}

TEST(rate_limiter, clients_are_limited_independently) {
    rate_limiter limiter(rate_limit{1, 3});
    auto a = key("203.0.113.7");
    auto b = key("198.51.100.9");
    ASSERT_EQ(passes(limiter, a, t0, 3), 3);
    EXPECT_FALSE(limiter.acquire(a, t0).allowed);
    EXPECT_EQ(passes(limiter, b, t0, 5), 3) << "b has a full bucket of its own";
    EXPECT_FALSE(limiter.acquire(a, t0).allowed) << "b's requests gave a nothing back";
    EXPECT_EQ(limiter.clients(), 2U);
}

TEST(rate_limiter, a_time_before_the_last_one_gives_no_tokens) {
    rate_limiter limiter(rate_limit{1, 2});
    auto client = key("203.0.113.7");
    ASSERT_EQ(passes(limiter, client, t0, 2), 2);
    auto refused = limiter.acquire(client, t0 - 10s);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 11s) << "measured from the earlier time";
}

TEST(rate_limiter, keeps_at_most_its_share_of_buckets_per_shard_and_new_clients_beyond_share_one) {
    // One bucket per shard; burst 1, so a client's first request passes exactly when it has a bucket of
    // its own (or its shard's shared bucket still has its token).
    rate_limiter limiter(rate_limit{1, 1, 1});
    int passed = 0;
    int own_buckets = 0;
    for (std::uint32_t i = 0; i < 5000; ++i) {
        auto v = limiter.acquire(nth_client(i), t0);
        passed += v.allowed ? 1 : 0;
        own_buckets += v.shared ? 0 : 1;
        EXPECT_TRUE(v.shared || v.allowed) << "a new bucket is full";
        EXPECT_TRUE(v.allowed || v.retry_after == 1s);
    }
    EXPECT_LE(limiter.clients(), rate_limiter::shard_count);
    EXPECT_EQ(static_cast<std::size_t>(own_buckets), limiter.clients());
    // Each shard passed its one client and the shared bucket's one token: the rate all clients
    // together get stays bounded however many there are.
    EXPECT_LE(passed, static_cast<int>(2 * rate_limiter::shard_count));
    EXPECT_GT(passed, 0);
}

TEST(rate_limiter, a_full_shard_drops_buckets_that_are_full_again_and_keeps_busy_ones) {
    rate_limiter limiter(rate_limit{1, 2, 1});  // one bucket per shard
    // Fill every shard with a client that spent its whole burst: busy until t0 + 2 s.
    std::vector<client_key> busy;
    for (std::uint32_t i = 0; busy.size() < rate_limiter::shard_count && i < 100'000; ++i) {
        auto client = nth_client(i);
        auto v = limiter.acquire(client, t0);
        if (v.shared) continue;
        ASSERT_TRUE(limiter.acquire(client, t0).allowed);
        busy.push_back(client);
    }
    ASSERT_EQ(busy.size(), rate_limiter::shard_count);

    // 1.5 s later (past the sweep pause) a flood of new clients finds every bucket still in use:
    // none is dropped, the newcomers share.
    for (std::uint32_t i = 200'000; i < 201'000; ++i) EXPECT_TRUE(limiter.acquire(nth_client(i), t0 + 1500ms).shared);
    EXPECT_EQ(limiter.clients(), rate_limiter::shard_count);
    for (const auto& client : busy) {
        // Its own half-refilled bucket: one token and a half, so one passes and the next waits.
        auto first = limiter.acquire(client, t0 + 1500ms);
        EXPECT_TRUE(first.allowed);
        EXPECT_FALSE(first.shared);
        EXPECT_FALSE(limiter.acquire(client, t0 + 1500ms).allowed);
    }

    // Once they are full again (at t0 + 3 s) a new client takes the place of its shard's one.
    auto later = t0 + 10s;
    std::set<client_key> newcomers_with_a_bucket;
    for (std::uint32_t i = 300'000; i < 305'000; ++i) {
        auto v = limiter.acquire(nth_client(i), later);
        if (!v.shared) newcomers_with_a_bucket.insert(nth_client(i));
    }
    EXPECT_EQ(newcomers_with_a_bucket.size(), rate_limiter::shard_count) << "one per shard";
    EXPECT_EQ(limiter.clients(), rate_limiter::shard_count);
}

TEST(rate_limiter, is_consistent_under_threads) {
    // Four threads spend one client's tokens at the same instant: exactly the burst passes.
    rate_limiter limiter(rate_limit{1, 1000});
    auto client = key("203.0.113.7");
    std::atomic<int> passed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back([&] { passed += passes(limiter, client, t0, 1000); });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(passed.load(), 1000);
}

TEST(client_address, ipv4_and_its_mapped_form_are_one_client_and_ipv6_counts_by_64_prefix) {
    EXPECT_EQ(key("203.0.113.7"), key("::ffff:203.0.113.7"));
    EXPECT_NE(key("203.0.113.7"), key("203.0.113.8"));
    EXPECT_EQ(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    EXPECT_NE(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    EXPECT_NE(key("::ffff:203.0.113.7"), key("::ffff:203.0.113.8")) << "mapped IPv4 is not cut to a /64";
    EXPECT_EQ(key("[2001:db8::1]"), key("2001:db8::1"));
    EXPECT_EQ(key("[2001:db8::1]:443"), key("2001:db8::1"));
    EXPECT_EQ(key("203.0.113.7:51234"), key("203.0.113.7"));
}

TEST(client_address, anything_but_an_address_is_no_client) {
    for (const std::string& text :
         {std::string(), std::string(" 203.0.113.7"), std::string("203.0.113.7 "), std::string("unknown"),
          std::string("203.0.113"), std::string("256.0.113.7"), std::string("203.0.113.7:"),
          std::string("203.0.113.7:123456"), std::string("203.0.113.7:80:80"), std::string("[2001:db8::1"),
          std::string("[2001:db8::1]x"), std::string("[203.0.113.7]"), std::string("2001:db8::1]:443"),
          std::string("fe80::1%eth0"), std::string("example.com"), std::string("203.0.113.7\0garbage", 19),
          std::string(200, '1')})
        EXPECT_FALSE(parse_client_address(text)) << '"' << text << '"';
}

TEST(client_address, forwarded_for_names_its_rightmost_element) {
    auto client = key("203.0.113.7");
    EXPECT_EQ(forwarded_client("203.0.113.7"), client);
    EXPECT_EQ(forwarded_client("6.6.6.6, 203.0.113.7"), client);
    EXPECT_EQ(forwarded_client("6.6.6.6,203.0.113.7"), client);
    EXPECT_EQ(forwarded_client("unknown, 10.0.0.1, \t203.0.113.7 \t"), client);
    EXPECT_EQ(forwarded_client("2001:db8::1, 203.0.113.7"), client);
    EXPECT_EQ(forwarded_client("203.0.113.7, 2001:db8::1"), key("2001:db8::"));
    // The rightmost element is the trusted one: when it is no address, nothing to its left counts.
    for (const char* garbage : {"", " ", "203.0.113.7,", "203.0.113.7, ", "203.0.113.7, unknown",
                                "203.0.113.7, 1.2.3.4 5.6.7.8", "203.0.113.7, _hidden", ",,,"})
        EXPECT_FALSE(forwarded_client(garbage)) << '"' << garbage << '"';
}

TEST(client_address, elements_a_client_forges_to_the_left_never_change_its_key) {
    std::mt19937 random(20240611);
    const std::string alphabet = "0123456789abcdef.:,[] \t\"x";
    for (int i = 0; i < 2000; ++i) {
        std::string forged;
        auto length = random() % 40;
        for (std::size_t j = 0; j < length; ++j) forged += alphabet[random() % alphabet.size()];
        EXPECT_EQ(forwarded_client(forged + ", 198.51.100.23"), key("198.51.100.23")) << '"' << forged << '"';
        EXPECT_EQ(forwarded_client(forged + ",2001:db8:5::9"), key("2001:db8:5::")) << '"' << forged << '"';
    }
}

TEST(api_rate_limit, probes_and_the_scrape_are_exempt_and_everything_else_is_limited) {
    using marquee::api::route;
    using marquee::api::target_route;
    EXPECT_FALSE(marquee::api::rate_limited(target_route("/healthz")));
    EXPECT_FALSE(marquee::api::rate_limited(target_route("/readyz")));
    EXPECT_FALSE(marquee::api::rate_limited(target_route("/metrics")));
    EXPECT_FALSE(marquee::api::rate_limited(target_route("http://api.example/metrics")));
    EXPECT_TRUE(marquee::api::rate_limited(target_route("/search?starts_at=2021-01-01T00:00:00Z")));
    EXPECT_TRUE(marquee::api::rate_limited(target_route("/openapi.yaml")));
    EXPECT_TRUE(marquee::api::rate_limited(target_route("/docs")));
    EXPECT_TRUE(marquee::api::rate_limited(target_route("/healthz/")));
    EXPECT_TRUE(marquee::api::rate_limited(target_route("/nope")));
    EXPECT_EQ(target_route("/search?x=1#y"), route::search);
}

TEST(api_rate_limit, too_many_requests_is_429_in_the_envelope) {
    using marquee::api::error_kind;
    EXPECT_EQ(marquee::api::map_error(error_kind::too_many_requests).status, 429U);
    auto r = marquee::api::error_response(error_kind::too_many_requests, marquee::api::route::search);
    EXPECT_EQ(r.status, 429U);
    EXPECT_EQ(r.which, marquee::api::route::search);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.cache_control, "no-store");
    ASSERT_TRUE(r.body);
    EXPECT_EQ(r.body->materialise(),
              R"({"error":{"code":"too_many_requests","message":"too many requests; retry after the seconds in )"
              R"(Retry-After"},"data":null})");
    EXPECT_EQ(marquee::api::response_statuses[marquee::api::response_status_index(429)], 429U);
}
