#include "marquee/search/snapshot.hpp"
#include "marquee/search/render.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

using marquee::search::event;
using marquee::search::query;
using marquee::search::snapshot;

namespace {

marquee::time::instant at(const char* rfc3339) {
    return *marquee::time::parse_rfc3339(rfc3339);
}

event make_event(std::string id, const char* starts, const char* ends, std::string title = "t") {
    event e;
    e.id = std::move(id);
    e.title = std::move(title);
    e.start_date = "2021-06-30";
    e.start_time = "21:00:00";
    e.end_date = "2021-06-30";
    e.end_time = "22:00:00";
    e.starts_at = at(starts);
    e.ends_at = at(ends);
    return e;
}

// The ids, in order, of what the snapshot returns for `q`.
std::vector<std::string> ids_for(const snapshot& s, const query& q) {
    std::string json;
    s.append_matches(json, q);
    std::vector<std::string> ids;
    for (auto pos = json.find("\"id\":\""); pos != std::string::npos; pos = json.find("\"id\":\"", pos + 1))
        ids.push_back(json.substr(pos + 6, json.find('"', pos + 6) - pos - 6));
    return ids;
}

snapshot sample() {
    std::vector<event> events;
    events.push_back(make_event("c", "2021-06-02T00:00:00Z", "2021-06-02T05:00:00Z"));
    events.push_back(make_event("b", "2021-06-01T00:00:00Z", "2021-06-03T00:00:00Z"));
    events.push_back(make_event("a", "2021-06-02T00:00:00Z", "2021-06-02T01:00:00Z"));
    events.push_back(make_event("d", "2021-06-04T00:00:00Z", "2021-06-04T01:00:00Z"));
    return snapshot(7, std::move(events));
}

}  // namespace

TEST(snapshot, orders_by_start_then_id) {
    EXPECT_EQ(ids_for(sample(), {}), (std::vector<std::string>{"b", "a", "c", "d"}));
}

TEST(snapshot, starts_at_bound_is_inclusive) {
    query q;
    q.starts_at = at("2021-06-02T00:00:00Z");
    EXPECT_EQ(ids_for(sample(), q), (std::vector<std::string>{"a", "c", "d"}));
}

TEST(snapshot, ends_at_bound_is_inclusive_and_filters_on_end) {
    query q;
    q.ends_at = at("2021-06-02T05:00:00Z");
    // b starts first but ends after the bound; it is skipped without breaking the run a, c.
    EXPECT_EQ(ids_for(sample(), q), (std::vector<std::string>{"a", "c"}));
}

TEST(snapshot, both_bounds) {
    query q;
    q.starts_at = at("2021-06-01T00:00:00Z");
    q.ends_at = at("2021-06-02T01:00:00Z");
    EXPECT_EQ(ids_for(sample(), q), (std::vector<std::string>{"a"}));
}

TEST(snapshot, empty_range_matches_nothing) {
    query q;
    q.starts_at = at("2021-06-05T00:00:00Z");
    EXPECT_TRUE(ids_for(sample(), q).empty());
    q.starts_at = at("2021-06-02T00:00:01Z");
    q.ends_at = at("2021-06-02T00:00:01Z");
    EXPECT_TRUE(ids_for(sample(), q).empty());
}

TEST(snapshot, empty_snapshot_matches_nothing) {
    snapshot s(1, {});
    EXPECT_EQ(marquee::search::render_search(s, {}), R"({"data":{"events":[]},"error":null})");
}

TEST(snapshot, separates_non_adjacent_runs_with_one_comma) {
    std::vector<event> events;
    events.push_back(make_event("a", "2021-06-01T00:00:00Z", "2021-06-01T01:00:00Z"));
    events.push_back(make_event("b", "2021-06-01T00:00:01Z", "2021-06-09T00:00:00Z"));
    events.push_back(make_event("c", "2021-06-01T00:00:02Z", "2021-06-01T02:00:00Z"));
    snapshot s(1, std::move(events));
    query q;
    q.ends_at = at("2021-06-02T00:00:00Z");
    auto body = marquee::search::render_search(s, q);
    EXPECT_EQ(body.find(",,"), std::string::npos);
    EXPECT_EQ(ids_for(s, q), (std::vector<std::string>{"a", "c"}));
}

TEST(snapshot, renders_the_contract_fields_exactly) {
    auto e = make_event("6f1c0d2e-0b7a-5c8e-9a43-1d2f3e4a5b6c", "2021-06-30T19:00:00Z", "2021-06-30T20:00:00Z",
                        "Quevedo \"live\"");
    e.min_price = "15.00";
    e.max_price = "30.50";
    std::vector<event> events{e};
    snapshot s(3, std::move(events));
    EXPECT_EQ(marquee::search::render_search(s, {}),
              R"({"data":{"events":[{"id":"6f1c0d2e-0b7a-5c8e-9a43-1d2f3e4a5b6c","title":"Quevedo \"live\"",)"
              R"("start_date":"2021-06-30","start_time":"21:00:00","end_date":"2021-06-30","end_time":"22:00:00",)"
              R"("min_price":15.00,"max_price":30.50}]},"error":null})");
    EXPECT_EQ(s.data_version(), 3);
    EXPECT_EQ(s.size(), 1U);
}

TEST(snapshot, renders_missing_and_nan_prices_as_null) {
    auto e = make_event("x", "2021-06-30T19:00:00Z", "2021-06-30T20:00:00Z");
    e.max_price = "NaN";
    std::string out;
    marquee::search::append_event(out, e);
    EXPECT_NE(out.find(R"("min_price":null,"max_price":null})"), std::string::npos) << out;
}

TEST(snapshot, replaces_invalid_utf8_in_titles) {
    auto e = make_event("x", "2021-06-30T19:00:00Z", "2021-06-30T20:00:00Z", "Caf\xE9");
    std::string out;
    marquee::search::append_event(out, e);
    EXPECT_NE(out.find("\"title\":\"Caf\xEF\xBF\xBD\""), std::string::npos) << out;
}

TEST(snapshot, renders_errors_in_the_envelope) {
    EXPECT_EQ(marquee::search::render_error("invalid_range", "starts_at is after ends_at"),
              R"({"error":{"code":"invalid_range","message":"starts_at is after ends_at"},"data":null})");
}

TEST(snapshot, match_ranges_give_exactly_the_bytes_append_matches_renders) {
    // Events whose ends vary, so that the end bound cuts holes into runs of matching starts.
    std::vector<event> events;
    for (int i = 0; i < 200; ++i) {
        auto start = marquee::time::instant{std::chrono::hours{i}};
        event e = make_event("00000000-0000-0000-0000-" + std::to_string(100000000000 + i), "2021-01-01T00:00:00Z",
                             "2021-01-01T00:00:00Z", "event " + std::to_string(i));
        e.starts_at = start;
        e.ends_at = start + std::chrono::hours{1 + (i * 7) % 5};
        events.push_back(std::move(e));
    }
    const snapshot s(1, std::move(events));
    std::array<std::string_view, 64> ranges;
    int checked = 0;
    for (int from = -2; from < 205; from += 3) {
        for (int length : {0, 1, 4, 10, 50, 400}) {
            query q;
            q.starts_at = marquee::time::instant{std::chrono::hours{from}};
            q.ends_at = marquee::time::instant{std::chrono::hours{from + length}};
            std::string expected;
            s.append_matches(expected, q);
            auto count = s.match_ranges(q, ranges);
            if (!count) continue;  // too fragmented: the server renders a copy instead
            std::string joined;
            for (std::size_t r = 0; r < *count; ++r) joined += ranges[r];
            EXPECT_EQ(joined, expected) << "from " << from << " length " << length;
            EXPECT_EQ(s.matches_bytes(q), expected.size());
            ++checked;
        }
    }
    EXPECT_GT(checked, 300);
    std::array<std::string_view, 1> one;
    // Ends by hour 100: events 0-96 and 98 match (97 and 99 end later): two runs.
    query ends_by_100;
    ends_by_100.ends_at = marquee::time::instant{std::chrono::hours{100}};
    EXPECT_FALSE(s.match_ranges(ends_by_100, one)) << "more runs than room: reported, not truncated";
}
