// Pages of /search: limit and cursor parsing, cursor encoding, and the snapshot's keyset pages —
// walked to the end they give exactly the unpaged answer, and across a change every unchanged
// event is on exactly one page.
#include "marquee/search/query.hpp"
#include "marquee/search/snapshot_updater.hpp"

#include "parsed_query.hpp"
#include "snapshot_pages.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using marquee::search::decode_cursor;
using marquee::search::encode_cursor;
using marquee::search::event;
using marquee::search::query;
using marquee::search::snapshot;
using namespace std::chrono_literals;

namespace {

const marquee::time::instant epoch{std::chrono::microseconds{1'600'000'000'000'000}};

query ok(std::string_view text) {
    return marquee::testing::parsed(text);
}

std::string rejection(std::string_view text) {
    return std::string(marquee::testing::refusal(text).message);
}

std::string uuid_for(int n) {
    return fmt::format("{:08x}-0000-5000-8000-{:012x}", static_cast<unsigned>(n * 2654435761U), n);
}

event make_event(int n, int minute, int length_minutes, const std::string& title = "t") {
    event e;
    e.id = uuid_for(n);
    e.title = title;
    e.start_date = "2021-06-30";
    e.start_time = "21:00:00";
    e.end_date = "2021-06-30";
    e.end_time = "22:00:00";
    e.starts_at = epoch + std::chrono::minutes{minute};
    e.ends_at = e.starts_at + std::chrono::minutes{length_minutes};
    return e;
}

using marquee::testing::ids_in;
using marquee::testing::page_of;
using marquee::testing::unpaged;
using marquee::testing::walk;

}  // namespace

TEST(search_pages, limit_is_an_integer_from_1_to_1000) {
    EXPECT_EQ(ok("limit=1").limit, 1U);
    EXPECT_EQ(ok("limit=1000").limit, 1000U);
    EXPECT_EQ(ok("limit=%35%30").limit, 50U);
    EXPECT_FALSE(ok("").limit.has_value()) << "no limit: every match, as the spec says";
    for (const char* bad : {"limit=0", "limit=1001", "limit=-1", "limit=+5", "limit=1e3", "limit=5.0", "limit= 5",
                            "limit=99999999999999999999", "limit=0x10", "limit=%"})
        EXPECT_EQ(rejection(bad), "limit is not an integer from 1 to 1000") << bad;
    EXPECT_EQ(rejection("limit="), "limit is empty");
    EXPECT_EQ(rejection("limit=5&limit=5"), "limit is given more than once");
}

TEST(search_pages, a_cursor_belongs_to_the_query_that_made_it) {
    auto q = ok("starts_at=2021-06-30T00:00:00Z&limit=10");
    auto cursor = encode_cursor(q, epoch, uuid_for(1));
    auto same = ok("limit=3&starts_at=2021-06-30T02:00:00%2B02:00&cursor=" + cursor);
    ASSERT_TRUE(same.after.has_value());
    EXPECT_EQ(same.after->starts_at, epoch);
    EXPECT_EQ(same.after->id(), uuid_for(1));
    EXPECT_EQ(same.limit, 3U) << "the page size may change between pages";
    EXPECT_EQ(ok("starts_at=2021-06-30T00:00:00Z&cursor=" + cursor).limit, marquee::search::default_page_limit);

    const std::string other =
        "cursor is not a next_cursor of this query (same starts_at, ends_at, q, price_min, price_max and provider)";
    EXPECT_EQ(rejection("starts_at=2021-06-30T00:00:01Z&cursor=" + cursor), other) << "another starts_at";
    EXPECT_EQ(rejection("cursor=" + cursor), other) << "no starts_at";
    EXPECT_EQ(rejection("starts_at=2021-06-30T00:00:00Z&ends_at=2030-01-01T00:00:00Z&cursor=" + cursor), other);
    EXPECT_EQ(rejection("starts_at=2021-06-30T00:00:00Z&cursor="), "cursor is empty");
    EXPECT_EQ(rejection("starts_at=2021-06-30T00:00:00Z&cursor=" + cursor + "&cursor=" + cursor),
              "cursor is given more than once");
}

TEST(search_pages, every_altered_cursor_is_refused) {
    query q;
    q.ends_at = epoch + 1000h;
    for (const auto& id : {uuid_for(7), std::string(), std::string(64, 'z')}) {
        for (auto when : {epoch, marquee::time::instant{std::chrono::microseconds{-62135596800000000}}}) {
            auto cursor = encode_cursor(q, when, id);
            auto back = decode_cursor(cursor, q);
            ASSERT_TRUE(back.has_value()) << cursor;
            EXPECT_EQ(back->starts_at, when);
            EXPECT_EQ(back->id(), id);
            // Any one character changed, removed or added: refused (or, if it still decodes, it
            // cannot name the same position — base64 is one-to-one on what encode writes).
            const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.";
            for (std::size_t i = 0; i < cursor.size(); ++i) {
                for (char c : alphabet) {
                    if (c == cursor[i]) continue;
                    auto altered = cursor;
                    altered[i] = c;
                    auto decoded = decode_cursor(altered, q);
                    EXPECT_FALSE(decoded && *decoded == *back) << altered;
                }
                EXPECT_FALSE(decode_cursor(cursor.substr(0, i) + cursor.substr(i + 1), q).has_value());
            }
            EXPECT_FALSE(decode_cursor(cursor + "A", q).has_value());
        }
    }
    EXPECT_FALSE(decode_cursor("", q).has_value());
    EXPECT_FALSE(decode_cursor("not a cursor", q).has_value());
}

TEST(search_pages, walking_every_page_gives_the_unpaged_answer) {
    std::vector<event> events;
    for (int n = 0; n < 5000; ++n) events.push_back(make_event(n, n % 1700, 10 + (n * 37) % 400));
    snapshot s(1, std::move(events));
    std::vector<query> queries(4);
    queries[1].starts_at = epoch + 300min;
    queries[2].ends_at = epoch + 1200min;
    queries[3].starts_at = epoch + 100min;
    queries[3].ends_at = epoch + 500min;
    for (const auto& q : queries) {
        auto expected = unpaged(s, q);
        for (std::uint32_t limit : {1U, 7U, 50U, 1000U}) {
            std::size_t pages = 0;
            EXPECT_EQ(walk(s, q, limit, &pages), expected) << "limit " << limit;
            EXPECT_EQ(pages, std::max<std::size_t>(1, (expected.size() + limit - 1) / limit)) << "limit " << limit;
        }
    }
    // A page that ends exactly at the last match says there is no next page.
    query exact;
    exact.limit = static_cast<std::uint32_t>(std::min<std::size_t>(1000, unpaged(s, queries[3]).size()));
    exact.starts_at = queries[3].starts_at;
    exact.ends_at = queries[3].ends_at;
    ASSERT_LE(unpaged(s, queries[3]).size(), 1000U);
    EXPECT_FALSE(page_of(s, exact).second.has_value());
}

TEST(search_pages, an_unchanged_event_is_on_exactly_one_page_across_changes) {
    std::map<int, event> truth;
    for (int n = 0; n < 3000; ++n) truth[n] = make_event(n, n, 30);
    marquee::search::snapshot_updater updater;
    auto load = updater.begin_full_load(1);
    for (const auto& [n, e] : truth) load.add(e);
    updater.finish(std::move(load));

    std::mt19937 rng(7);
    std::set<int> changed;
    query q;
    q.limit = 100;
    std::vector<std::string> seen;
    std::int64_t version = 1;
    for (;;) {
        auto [ids, next] = page_of(*updater.current(), q);
        seen.insert(seen.end(), ids.begin(), ids.end());
        if (!next) break;
        q.after = decode_cursor(encode_cursor(q, next->starts_at, next->id), q);
        // Between pages, events move (earlier, later, onto the page boundary) and new ones appear.
        std::vector<event> delta;
        for (int i = 0; i < 20; ++i) {
            int n = static_cast<int>(rng() % 3200);
            if (changed.contains(n)) continue;
            changed.insert(n);
            delta.push_back(make_event(n, static_cast<int>(rng() % 3000), 30, "moved"));
        }
        updater.apply(++version, std::move(delta));
    }
    std::map<std::string, int> count;
    for (const auto& id : seen) ++count[id];
    // A moved event may show up twice or not at all, by where it moved; an unchanged one may not.
    for (const auto& [n, e] : truth) {
        if (!changed.contains(n)) {
            EXPECT_EQ(count[e.id], 1) << "unchanged event " << n;
        }
    }
}
