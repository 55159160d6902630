#include "marquee/api/handler.hpp"
#include "marquee/api/response_cache.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using marquee::api::handle_request;
using marquee::api::request;
using marquee::api::response;
using marquee::api::service_state;

namespace {

marquee::time::instant at(const char* rfc3339) {
    return *marquee::time::parse_rfc3339(rfc3339);
}

std::shared_ptr<const marquee::search::snapshot> sample_snapshot(std::int64_t version = 42) {
    std::vector<marquee::search::event> events;
    marquee::search::event e;
    e.id = "00000000-0000-5000-8000-000000000001";
    e.title = "Concert";
    e.start_date = "2021-06-30";
    e.start_time = "21:00:00";
    e.end_date = "2021-06-30";
    e.end_time = "23:00:00";
    e.min_price = "20.00";
    e.max_price = "20.00";
    e.starts_at = at("2021-06-30T19:00:00Z");
    e.ends_at = at("2021-06-30T21:00:00Z");
    events.push_back(e);
    return std::make_shared<const marquee::search::snapshot>(version, std::move(events));
}

service_state ready_state() {
    service_state s;
    s.snapshot = sample_snapshot();
    s.database_reachable = true;
    s.openapi_yaml = std::make_shared<const std::string>("openapi: 3.0.0\n");
    s.render_metrics = [] { return std::string("marquee_x 1\n"); };
    return s;
}

response get(const service_state& s, std::string_view target, std::string_view if_none_match = {}) {
    return handle_request(request{"GET", target, if_none_match}, s);
}

std::string body_of(const response& r) {
    return r.body ? r.body->materialise() : std::string();
}

const std::string concert_json =
    R"({"id":"00000000-0000-5000-8000-000000000001","title":"Concert","start_date":"2021-06-30",)"
    R"("start_time":"21:00:00","end_date":"2021-06-30","end_time":"23:00:00","min_price":20.00,"max_price":20.00})";

}  // namespace

TEST(api_handler, search_returns_events_in_the_envelope) {
    auto r = get(ready_state(), "/search?starts_at=2021-06-30T00:00:00Z");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(body_of(r), R"({"data":{"events":[)" + concert_json + R"(]},"error":null})");
    EXPECT_EQ(r.cache_control, "public, max-age=5");
}

TEST(api_handler, search_bounds_are_inclusive) {
    auto r = get(ready_state(), "/search?starts_at=2021-06-30T19:00:00Z&ends_at=2021-06-30T23:00:00%2B02:00");
    EXPECT_EQ(body_of(r), R"({"data":{"events":[)" + concert_json + R"(]},"error":null})");
}

TEST(api_handler, search_outside_the_range_is_empty) {
    auto r = get(ready_state(), "/search?ends_at=2021-06-30T20:59:59Z");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(body_of(r), R"({"data":{"events":[]},"error":null})");
}

TEST(api_handler, bad_query_is_400_with_code_and_message) {
    auto r = get(ready_state(), "/search?starts_at=tomorrow");
    EXPECT_EQ(r.status, 400U);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(body_of(r),
              R"json({"error":{"code":"invalid_parameter","message":"starts_at is not an RFC 3339 date-time )json"
              R"json((e.g. 2021-07-21T17:32:28Z)"},"data":null})json");
    EXPECT_EQ(r.cache_control, "no-store");
}

TEST(api_handler, inverted_range_is_400_invalid_range) {
    auto r = get(ready_state(), "/search?starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-01T00:00:00Z");
    EXPECT_EQ(r.status, 400U);
    EXPECT_NE(body_of(r).find("\"code\":\"invalid_range\""), std::string::npos);
}

TEST(api_handler, query_errors_win_over_missing_data) {
    service_state s;
    EXPECT_EQ(get(s, "/search?starts_at=").status, 400U);
}

TEST(api_handler, search_before_the_first_load_is_503) {
    service_state s;
    auto r = get(s, "/search");
    EXPECT_EQ(r.status, 503U);
    EXPECT_EQ(body_of(r), R"({"error":{"code":"unavailable","message":"search data is not loaded yet"},"data":null})");
}

TEST(api_handler, unknown_path_is_404) {
    for (auto target : {"/", "/search/", "/Search", "/sea%72ch", "*", "/searchx?starts_at=1"}) {
        auto r = get(ready_state(), target);
        EXPECT_EQ(r.status, 404U) << target;
        EXPECT_EQ(body_of(r), R"({"error":{"code":"not_found","message":"no such resource"},"data":null})");
    }
}

TEST(api_handler, other_methods_on_search_are_405_with_allow) {
    for (auto method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "BREW"}) {
        auto r = handle_request(request{method, "/search", {}}, ready_state());
        EXPECT_EQ(r.status, 405U) << method;
        EXPECT_EQ(r.allow, "GET, HEAD");
        EXPECT_NE(body_of(r).find("\"code\":\"method_not_allowed\""), std::string::npos);
    }
}

TEST(api_handler, head_is_answered_like_get) {
    // The same response in every part: the server then sends the head and the body's length only
    // (the integration test api.head_is_answered_like_get_without_a_body checks the wire).
    auto state = ready_state();
    for (auto target : {"/search", "/search?starts_at=2021-06-30T00:00:00Z", "/search?starts_at=bad", "/healthz",
                        "/readyz", "/openapi.yaml", "/nope"}) {
        auto full = get(state, target);
        auto head = handle_request(request{"HEAD", target, {}}, state);
        EXPECT_EQ(head.status, full.status) << target;
        EXPECT_EQ(head.which, full.which) << target;
        EXPECT_EQ(head.content_type, full.content_type) << target;
        EXPECT_EQ(head.cache_control, full.cache_control) << target;
        EXPECT_EQ(head.allow, full.allow) << target;
        EXPECT_EQ(head.etag(), full.etag()) << target;
        ASSERT_TRUE(head.body && full.body) << target;
        EXPECT_EQ(head.body->size(), full.body->size()) << target;
        EXPECT_EQ(head.body->materialise(), full.body->materialise()) << target;
    }
    // A conditional HEAD is answered 304 like a conditional GET.
    auto tag = std::string(get(state, "/search").etag());
    EXPECT_EQ(handle_request(request{"HEAD", "/search", tag}, state).status, 304U);
}

TEST(api_handler, absolute_form_target_is_routed_by_path) {
    EXPECT_EQ(get(ready_state(), "http://127.0.0.1:8080/search?starts_at=2021-06-30T00:00:00Z").status, 200U);
}

TEST(api_handler, etag_names_data_version_and_normalised_query) {
    auto s = ready_state();
    auto a = get(s, "/search?starts_at=2021-06-30T19:00:00Z&foo=1");
    auto b = get(s, "/search?starts_at=2021-06-30T21:00:00%2B02:00");
    EXPECT_FALSE(a.etag().empty());
    EXPECT_EQ(a.etag(), b.etag());
    EXPECT_NE(a.etag(), get(s, "/search").etag());
    auto other_version = s;
    other_version.snapshot = sample_snapshot(43);
    EXPECT_NE(a.etag(), get(other_version, "/search?starts_at=2021-06-30T19:00:00Z").etag());
}

TEST(api_handler, matching_if_none_match_is_304_without_body) {
    auto s = ready_state();
    auto first = get(s, "/search");
    std::string etag(first.etag());
    auto r = get(s, "/search", etag);
    EXPECT_EQ(r.status, 304U);
    EXPECT_FALSE(r.body);
    EXPECT_EQ(r.etag(), etag);
    EXPECT_EQ(get(s, "/search", "\"other\", W/" + etag).status, 304U);
    EXPECT_EQ(get(s, "/search", "*").status, 304U);
    EXPECT_EQ(get(s, "/search", "\"other\"").status, 200U);
}

TEST(api_handler, cache_serves_the_same_bytes) {
    marquee::api::response_cache cache(16, 1 << 20);
    auto s = ready_state();
    s.cache = &cache;
    auto a = get(s, "/search?starts_at=2021-06-30T19:00:00Z");
    auto b = get(s, "/search?starts_at=2021-06-30T21:00:00%2B02:00");
    EXPECT_EQ(a.body, b.body);  // the very same shared body
    s.snapshot = sample_snapshot(43);
    auto c = get(s, "/search?starts_at=2021-06-30T19:00:00Z");
    EXPECT_NE(a.body, c.body);
    EXPECT_EQ(a.body->materialise(), c.body->materialise());
}

TEST(response_cache, evicts_least_recently_used_beyond_its_entry_cap) {
    marquee::api::response_cache cache(4, 1 << 20);  // one entry per shard
    marquee::search::query q;
    std::vector<marquee::api::query_key> keys;
    for (int i = 0; i < 64; ++i) {
        q.starts_at = marquee::time::instant{std::chrono::microseconds{i}};
        auto key = marquee::api::query_key::of(1, q);
        cache.insert(key, std::make_shared<const marquee::api::response_body>("x"));
        keys.push_back(key);
    }
    int kept = 0;
    for (const auto& key : keys) kept += cache.find(key) ? 1 : 0;
    EXPECT_LE(kept, 4);
    EXPECT_TRUE(cache.find(keys.back()));
}

TEST(response_cache, drops_older_data_versions) {
    marquee::api::response_cache cache(16, 1 << 20);
    marquee::search::query q;
    cache.insert(marquee::api::query_key::of(1, q), std::make_shared<const marquee::api::response_body>("v1"));
    cache.insert(marquee::api::query_key::of(2, q), std::make_shared<const marquee::api::response_body>("v2"));
    EXPECT_FALSE(cache.find(marquee::api::query_key::of(1, q)));
    cache.insert(marquee::api::query_key::of(1, q), std::make_shared<const marquee::api::response_body>("v1"));
    EXPECT_FALSE(cache.find(marquee::api::query_key::of(1, q)));
}

// An old entry keeps its snapshot (and every block a change replaced since) alive: a newer
// version releases all of them at once, in every shard, not when a request next reaches one.
TEST(response_cache, a_newer_version_releases_every_older_body_at_once) {
    marquee::api::response_cache cache(64, 1 << 20);
    std::vector<std::weak_ptr<const marquee::api::response_body>> old;
    for (int i = 0; i < 32; ++i) {
        marquee::search::query q;
        q.starts_at = at("2021-06-30T00:00:00Z") + std::chrono::hours{i};
        auto body = std::make_shared<const marquee::api::response_body>("v1");
        old.push_back(body);
        cache.insert(marquee::api::query_key::of(1, q), std::move(body));
    }
    cache.insert(marquee::api::query_key::of(2, {}), std::make_shared<const marquee::api::response_body>("v2"));
    for (const auto& w : old) EXPECT_TRUE(w.expired());
}

TEST(response_cache, does_not_keep_a_body_over_its_byte_budget) {
    marquee::api::response_cache cache(16, 400);
    marquee::search::query q;
    cache.insert(marquee::api::query_key::of(1, q),
                 std::make_shared<const marquee::api::response_body>(std::string(200, 'x')));
    EXPECT_FALSE(cache.find(marquee::api::query_key::of(1, q)));
}

TEST(api_handler, healthz_is_always_200) {
    service_state s;
    auto r = get(s, "/healthz");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(body_of(r), R"({"data":{"status":"alive"},"error":null})");
}

TEST(api_handler, readyz_is_503_before_the_first_load) {
    service_state s;
    EXPECT_EQ(get(s, "/readyz").status, 503U);
}

TEST(api_handler, readyz_says_ready_or_degraded) {
    auto s = ready_state();
    auto r = get(s, "/readyz");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(body_of(r),
              R"({"data":{"status":"ready","database":"reachable","data_version":42,"events":1},"error":null})");
    s.database_reachable = false;
    r = get(s, "/readyz");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(body_of(r),
              R"({"data":{"status":"degraded","database":"unreachable","data_version":42,"events":1},"error":null})");
}

TEST(api_handler, serves_the_contract_and_metrics) {
    auto s = ready_state();
    auto r = get(s, "/openapi.yaml");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(body_of(r), "openapi: 3.0.0\n");
    r = get(s, "/metrics");
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(body_of(r), "marquee_x 1\n");
}

TEST(api_handler, every_error_maps_to_its_status) {
    using marquee::api::error_kind;
    using marquee::api::map_error;
    EXPECT_EQ(map_error(error_kind::bad_request).status, 400U);
    EXPECT_EQ(map_error(error_kind::invalid_parameter).status, 400U);
    EXPECT_EQ(map_error(error_kind::invalid_range).status, 400U);
    EXPECT_EQ(map_error(error_kind::not_found).status, 404U);
    EXPECT_EQ(map_error(error_kind::method_not_allowed).status, 405U);
    EXPECT_EQ(map_error(error_kind::uri_too_long).status, 414U);
    EXPECT_EQ(map_error(error_kind::header_too_large).status, 431U);
    EXPECT_EQ(map_error(error_kind::internal).status, 500U);
    EXPECT_EQ(map_error(error_kind::unavailable).status, 503U);
}

TEST(api_handler, error_response_uses_the_envelope) {
    auto r = marquee::api::error_response(marquee::api::error_kind::uri_too_long);
    EXPECT_EQ(r.status, 414U);
    EXPECT_EQ(body_of(r),
              R"({"error":{"code":"uri_too_long","message":"request target longer than 8 KiB"},"data":null})");
}

namespace {

std::shared_ptr<const marquee::search::snapshot> three_events() {
    std::vector<marquee::search::event> events;
    for (int i = 1; i <= 3; ++i) {
        marquee::search::event e;
        e.id = "00000000-0000-5000-8000-00000000000" + std::to_string(i);
        e.title = "Event " + std::to_string(i);
        e.start_date = "2021-06-30";
        e.start_time = "21:00:00";
        e.end_date = "2021-06-30";
        e.end_time = "23:00:00";
        e.starts_at = at("2021-06-30T19:00:00Z") + std::chrono::hours{i};
        e.ends_at = e.starts_at + std::chrono::hours{1};
        events.push_back(e);
    }
    return std::make_shared<const marquee::search::snapshot>(9, std::move(events));
}

std::string cursor_in(const std::string& body) {
    auto at = body.find(R"("next_cursor":")");
    if (at == std::string::npos) return {};
    at += 15;
    return body.substr(at, body.find('"', at) - at);
}

}  // namespace

TEST(api_handler, pages_carry_next_cursor_and_a_link_to_the_next_page) {
    auto s = ready_state();
    s.snapshot = three_events();
    auto first = get(s, "/search?starts_at=2021-06-30T00:00:00Z&limit=2&unknown=1");
    ASSERT_EQ(first.status, 200U);
    auto body = body_of(first);
    EXPECT_EQ(body.find(R"({"data":{"events":[{"id":"00000000-0000-5000-8000-000000000001")"), 0U) << body;
    EXPECT_NE(body.find("Event 2"), std::string::npos);
    EXPECT_EQ(body.find("Event 3"), std::string::npos);
    auto cursor = cursor_in(body);
    ASSERT_FALSE(cursor.empty()) << body;
    EXPECT_TRUE(body.ends_with(R"(],"next_cursor":")" + cursor + R"("},"error":null})")) << body;
    EXPECT_EQ(first.link,
              "</search?starts_at=2021-06-30T00:00:00Z&limit=2&unknown=1&cursor=" + cursor + ">; rel=\"next\"");

    auto second = get(s, "/search?starts_at=2021-06-30T00:00:00Z&limit=2&unknown=1&cursor=" + cursor);
    ASSERT_EQ(second.status, 200U);
    body = body_of(second);
    EXPECT_NE(body.find("Event 3"), std::string::npos);
    EXPECT_EQ(body.find("Event 2"), std::string::npos);
    EXPECT_TRUE(body.ends_with(R"(],"next_cursor":null},"error":null})")) << body;
    EXPECT_TRUE(second.link.empty()) << "the last page links nowhere";
    EXPECT_NE(first.etag(), second.etag());
    EXPECT_EQ(get(s, "/search?starts_at=2021-06-30T00:00:00Z&limit=2&cursor=" + cursor, second.etag()).status, 304U);

    // Without limit or cursor, the spec's answer, byte for byte: no next_cursor, no Link.
    auto all = get(s, "/search?starts_at=2021-06-30T00:00:00Z");
    EXPECT_TRUE(body_of(all).ends_with(R"(}]},"error":null})")) << body_of(all);
    EXPECT_TRUE(all.link.empty());
    // A cursor of another query is refused, naming the parameter.
    auto other = get(s, "/search?starts_at=2021-06-30T00:00:01Z&cursor=" + cursor);
    EXPECT_EQ(other.status, 400U);
    EXPECT_NE(body_of(other).find("cursor is not a next_cursor of this query"), std::string::npos);
}
