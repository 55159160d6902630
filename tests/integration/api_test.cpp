// marquee-api against a real PostgreSQL: exact bodies, filters, errors, caching headers, refresh
// on NOTIFY and by polling, and serving on while the database is gone.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* seed_sql = R"sql(
INSERT INTO providers (name, url, time_zone) VALUES ('madrid', 'http://127.0.0.1:1/feed', 'Europe/Madrid');
INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at) VALUES
 ('b0000000-0000-5000-8000-000000000001', 'madrid', '1', '1', 'Camela "en concierto"', 'online',
  '2021-06-30 21:00:00', '2021-06-30 22:00:00', '2021-06-30 19:00:00Z', '2021-06-30 20:00:00Z',
  15.00, 30.50, 2, true, 1, now(), now(), now()),
 ('a0000000-0000-5000-8000-000000000002', 'madrid', '2', '2', E'Caf\u00e9 \\ tab\there', 'offline',
  '2021-06-30 21:00:00', '2021-07-01 01:00:00', '2021-06-30 19:00:00Z', '2021-06-30 23:00:00Z',
  NULL, NULL, 0, true, 2, now(), now(), now()),
 ('c0000000-0000-5000-8000-000000000003', 'madrid', '3', '3', 'Never online', 'offline',
  '2021-06-30 21:00:00', '2021-06-30 22:00:00', '2021-06-30 19:00:00Z', '2021-06-30 20:00:00Z',
  NULL, NULL, 0, false, 3, now(), now(), now()),
 ('d0000000-0000-5000-8000-000000000004', 'madrid', '4', '4', 'Summer', 'online',
  '2021-07-31 20:00:00', '2021-08-01 02:30:00', '2021-07-31 18:00:00Z', '2021-08-01 00:30:00Z',
  0.5, 100, 3, true, 4, now(), now(), now());
)sql";

const std::string camela =
    R"({"id":"b0000000-0000-5000-8000-000000000001","title":"Camela \"en concierto\"","start_date":"2021-06-30",)"
    R"("start_time":"21:00:00","end_date":"2021-06-30","end_time":"22:00:00","min_price":15.00,"max_price":30.50})";
const std::string cafe =
    "{\"id\":\"a0000000-0000-5000-8000-000000000002\",\"title\":\"Caf\xC3\xA9 \\\\ tab\\u0009here\","
    "\"start_date\":\"2021-06-30\",\"start_time\":\"21:00:00\",\"end_date\":\"2021-07-01\",\"end_time\":\"01:00:00\","
    "\"min_price\":null,\"max_price\":null}";
const std::string summer =
    R"({"id":"d0000000-0000-5000-8000-000000000004","title":"Summer","start_date":"2021-07-31",)"
    R"("start_time":"20:00:00","end_date":"2021-08-01","end_time":"02:30:00","min_price":0.5,"max_price":100})";

std::string events_body(std::initializer_list<std::string> events) {
    std::string body = R"({"data":{"events":[)";
    bool first = true;
    for (const auto& e : events) {
        if (!first) body += ',';
        body += e;
        first = false;
    }
    return body + R"(]},"error":null})";
}

class api : public ::testing::Test {
protected:
    void SetUp() override { mt::execute(db_.url(), seed_sql); }

    void start(std::vector<std::string> extra = {}, const std::string& database_url = {}) {
        port_ = mt::free_port();
        std::vector<std::string> args{"--database-url", database_url.empty() ? db_.url() : database_url,
                                      "--api-listen",   "127.0.0.1:" + std::to_string(port_),
                                      "--threads",      "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        api_ = std::make_unique<mt::process>("marquee-api", args);
        ASSERT_TRUE(mt::wait_until([&] { return get("/healthz").status == 200; }, 30s, "marquee-api answers"));
    }

    void start_ready(std::vector<std::string> extra = {}) {
        start(std::move(extra));
        ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "marquee-api is ready"));
    }

    mt::http_response get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
        return mt::http_get("127.0.0.1", port_, target, headers, 10s);
    }

    // Cuts the API off its database: no new connections, existing ones terminated.
    void cut_database() { db_.cut_off(); }
    void restore_database() { db_.restore(); }

    mt::database db_ = mt::fresh_database();
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> api_;
};

}  // namespace

TEST_F(api, returns_events_ever_online_ordered_by_start_then_id) {
    start_ready();
    auto r = get("/search");
    EXPECT_EQ(r.status, 200U) << r.error;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.body, events_body({cafe, camela, summer}));
}

TEST_F(api, filters_are_inclusive_instants) {
    start_ready();
    // Camela starts 19:00Z and ends 20:00Z exactly; the café event ends later.
    EXPECT_EQ(get("/search?starts_at=2021-06-30T19:00:00Z&ends_at=2021-06-30T20:00:00Z").body, events_body({camela}));
    // The same bounds written with offsets, the '+' unencoded and encoded.
    EXPECT_EQ(get("/search?starts_at=2021-06-30T21:00:00+02:00&ends_at=2021-06-30T22:00:00%2B02:00").body,
              events_body({camela}));
    EXPECT_EQ(get("/search?starts_at=2021-06-30T19:00:01Z").body, events_body({summer}));
    EXPECT_EQ(get("/search?ends_at=2021-06-30T19:59:59Z").body, events_body({}));
    EXPECT_EQ(get("/search?ends_at=2021-06-30T23:00:00&unknown=1").body, events_body({cafe, camela}));
}

// q, price_min, price_max and provider, alone, together, with dates and pages, and after a change
// applied as a delta (the title words and the provider come with the changed row).
TEST_F(api, filters_by_title_words_prices_and_provider) {
    mt::execute(db_.url(), R"sql(
INSERT INTO providers (name, url, time_zone) VALUES ('lisboa', 'http://127.0.0.1:1/feed', 'Europe/Lisbon');
INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at) VALUES
 ('e0000000-0000-5000-8000-000000000005', 'lisboa', '5', '5', 'ÓPERA de Lisboa: Camelot', 'online',
  '2021-07-01 20:00:00', '2021-07-01 23:00:00', '2021-07-01 19:00:00Z', '2021-07-01 22:00:00Z',
  20, 40, 2, true, 5, now(), now(), now());
)sql");
    start_ready({"--refresh-interval", "3600"});
    auto ids = [&](const std::string& target) {
        auto r = get(target);
        EXPECT_EQ(r.status, 200U) << target << ": " << r.body;
        std::string found;
        for (auto at = r.body.find("\"id\":\""); at != std::string::npos; at = r.body.find("\"id\":\"", at + 1))
            found += r.body.substr(at + 6, 1);
        return found;  // in (start, id) order, each id by its first character: a café, b Camela, e Ópera, d Summer
    };
    EXPECT_EQ(ids("/search?q=camel+conci"), "b");
    EXPECT_EQ(ids("/search?q=camel"), "be") << "'Camelot' starts with camel too";
    EXPECT_EQ(ids("/search?q=CAFE%CC%81"), "a") << "case and accents, a decomposed accent too";
    EXPECT_EQ(ids("/search?q=opera%20LISB"), "e");
    EXPECT_EQ(ids("/search?q=amela"), "") << "a prefix of a word, not any substring";
    EXPECT_EQ(ids("/search?price_max=15"), "bd") << "min_price <= 15; the café has no prices";
    EXPECT_EQ(ids("/search?price_max=14.99"), "d");
    EXPECT_EQ(ids("/search?price_min=40"), "ed") << "max_price >= 40";
    EXPECT_EQ(ids("/search?price_min=40.000001"), "d");
    EXPECT_EQ(ids("/search?price_min=20&price_max=20"), "bed") << "something at or over 20 and something at or under";
    EXPECT_EQ(ids("/search?provider=lisboa"), "e");
    EXPECT_EQ(ids("/search?provider=madrid&q=camel"), "b");
    EXPECT_EQ(ids("/search?provider=nobody"), "");
    EXPECT_EQ(ids("/search?q=camel&starts_at=2021-07-01T00:00:00Z"), "e");
    EXPECT_EQ(ids("/search?q=camel&ends_at=2021-06-30T23:00:00Z"), "b");

    // Pages of a filtered query: the Link carries the filters, a cursor of another filter is refused.
    auto first = get("/search?q=camel&limit=1");
    EXPECT_NE(first.body.find("b0000000"), std::string::npos) << first.body;
    auto link = first.headers["link"];
    ASSERT_TRUE(link.starts_with("</search?q=camel&limit=1&cursor=")) << link;
    auto second = get(link.substr(1, link.find('>') - 1));
    EXPECT_NE(second.body.find("e0000000"), std::string::npos) << second.body;
    EXPECT_NE(second.body.find(R"("next_cursor":null)"), std::string::npos) << second.body;
    auto cursor = link.substr(link.find("cursor=") + 7, link.find('>') - link.find("cursor=") - 7);
    auto refused = get("/search?q=camelot&limit=1&cursor=" + cursor);
    EXPECT_EQ(refused.status, 400U);
    EXPECT_NE(refused.body.find("cursor is not a next_cursor of this query"), std::string::npos) << refused.body;

    // The ETag tells filters apart and a filtered answer is not modified under its own tag.
    auto tagged = get("/search?q=camel");
    EXPECT_NE(tagged.headers["etag"], get("/search?q=camelot").headers["etag"]);
    EXPECT_NE(tagged.headers["etag"], get("/search").headers["etag"]);
    EXPECT_EQ(get("/search?q=CAMEL", {{"If-None-Match", tagged.headers["etag"]}}).status, 304U);

    for (const char* bad : {"/search?q=", "/search?q=%2C%2C", "/search?price_max=-1", "/search?price_min=1e3",
                            "/search?provider=Lisboa", "/search?provider=a&provider=b"}) {
        auto r = get(bad);
        EXPECT_EQ(r.status, 400U) << bad;
        EXPECT_NE(r.body.find("invalid_parameter"), std::string::npos) << bad << ": " << r.body;
    }

    // A delta: camela renamed and moved to lisboa; the filters see the row as it is now.
    mt::execute(db_.url(),
                "BEGIN; UPDATE data_version SET version = version + 1;"
                "UPDATE events SET title = 'Los Morancos', provider = 'lisboa',"
                " changed_version = (SELECT version FROM data_version)"
                " WHERE id = 'b0000000-0000-5000-8000-000000000001';"
                "SELECT pg_notify('marquee_data_version', (SELECT version::text FROM data_version)); COMMIT;");
    ASSERT_TRUE(mt::wait_until([&] { return ids("/search?q=moran") == "b"; }, 10s, "the renamed event is found"));
    EXPECT_EQ(ids("/search?q=camel"), "e");
    EXPECT_EQ(ids("/search?provider=lisboa"), "be");
    EXPECT_EQ(ids("/search?provider=madrid"), "ad");
    EXPECT_NE(get("/metrics").body.find("\nmarquee_api_snapshot_loads_total 1\n"), std::string::npos)
        << "a delta, not a full load";
}

TEST_F(api, rejects_bad_queries_with_400) {
    start_ready();
    for (const char* target : {"/search?starts_at=yesterday", "/search?starts_at=", "/search?ends_at",
                               "/search?starts_at=2021-06-30T19:00:00Z&starts_at=2021-06-30T19:00:00Z",
                               "/search?ends_at=2021-13-01T00:00:00Z", "/search?starts_at=2021-06-30T19:00:00Z%",
                               "/search?starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-30T00:00:00Z"}) {
        auto r = get(target);
        EXPECT_EQ(r.status, 400U) << target;
        EXPECT_EQ(r.headers["content-type"], "application/json") << target;
        EXPECT_TRUE(r.body.starts_with(R"({"error":{"code":")")) << r.body;
        EXPECT_TRUE(r.body.ends_with(R"("},"data":null})")) << r.body;
    }
    EXPECT_EQ(get("/search?starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-30T00:00:00Z").body,
              R"({"error":{"code":"invalid_range","message":"starts_at is after ends_at"},"data":null})");
}

TEST_F(api, unknown_paths_are_404_and_other_methods_405) {
    start_ready();
    auto r = get("/nope");
    EXPECT_EQ(r.status, 404U);
    EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no such resource"},"data":null})");
    EXPECT_EQ(get("/search/").status, 404U);
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
        auto other = mt::http_request(method, "127.0.0.1", port_, "/search");
        EXPECT_EQ(other.status, 405U) << method << ": " << other.error;
        EXPECT_EQ(other.headers["allow"], "GET, HEAD") << method;
        EXPECT_EQ(other.headers["content-type"], "application/json") << method;
        EXPECT_EQ(
            other.body,
            R"({"error":{"code":"method_not_allowed","message":"method not allowed; use GET or HEAD"},"data":null})")
            << method;
    }
    EXPECT_EQ(mt::http_request("POST", "127.0.0.1", port_, "/nope").status, 404U) << "an unknown path is 404 first";
}

TEST_F(api, head_is_answered_like_get_without_a_body) {
    start_ready();
    for (const char* target : {"/search", "/search?starts_at=2021-06-30T19:00:01Z", "/healthz", "/readyz",
                               "/openapi.yaml", "/search?starts_at=bad", "/nope"}) {
        auto full = get(target);
        auto head = mt::http_request("HEAD", "127.0.0.1", port_, target);
        EXPECT_EQ(head.error, "") << target;
        EXPECT_EQ(head.status, full.status) << target;
        EXPECT_TRUE(head.body.empty()) << target;
        // The same head: every header but the two that differ per request (the date and the request
        // id), Content-Length announcing the GET's body.
        auto same_for_every_request = [](std::map<std::string, std::string> headers) {
            headers.erase("date");
            headers.erase("x-request-id");
            return headers;
        };
        EXPECT_EQ(same_for_every_request(head.headers), same_for_every_request(full.headers)) << target;
        EXPECT_FALSE(head.headers["x-request-id"].empty()) << target;
        EXPECT_EQ(head.headers["content-length"], std::to_string(full.body.size())) << target;
    }
}

TEST_F(api, etag_and_if_none_match) {
    start_ready();
    auto first = get("/search?starts_at=2021-06-30T19:00:00Z");
    ASSERT_EQ(first.status, 200U);
    auto etag = first.headers["etag"];
    EXPECT_FALSE(etag.empty());
    EXPECT_EQ(first.headers["cache-control"], "public, max-age=5");
    // An equivalent query has the same tag and is not modified.
    auto again = get("/search?starts_at=2021-06-30T21:00:00%2B02:00", {{"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304U);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(get("/search", {{"If-None-Match", etag}}).status, 200U);
}

TEST_F(api, notify_refreshes_without_restart) {
    // A refresh interval of an hour: only the notification can explain a prompt change.
    start_ready({"--refresh-interval", "3600"});
    ASSERT_EQ(get("/search?ends_at=2021-06-30T20:00:00Z").body, events_body({camela}));
    mt::execute(db_.url(),
                "BEGIN; UPDATE data_version SET version = version + 1, changed_at = now();"
                "UPDATE events SET title = 'Camela', changed_version = (SELECT version FROM data_version)"
                " WHERE id = 'b0000000-0000-5000-8000-000000000001';"
                "SELECT pg_notify('marquee_data_version', (SELECT version::text FROM data_version)); COMMIT;");
    EXPECT_TRUE(mt::wait_until(
        [&] {
            return get("/search?ends_at=2021-06-30T20:00:00Z").body.find("\"title\":\"Camela\",") != std::string::npos;
        },
        10s, "the renamed event is served"));
}

TEST_F(api, version_check_refreshes_without_notify) {
    start_ready({"--refresh-interval", "0.2"});
    mt::execute(db_.url(),
                "BEGIN; UPDATE data_version SET version = version + 1;"
                "UPDATE events SET ever_online = true, changed_version = (SELECT version FROM data_version)"
                " WHERE id = 'c0000000-0000-5000-8000-000000000003'; COMMIT;");
    EXPECT_TRUE(mt::wait_until([&] { return get("/search").body.find("Never online") != std::string::npos; }, 10s,
                               "the newly searchable event is served"));
}

// A committed change reaches the snapshot as a delta (only the rows stamped above the held
// version are read); the full load happens once, at start.
TEST_F(api, applies_changes_as_deltas_without_a_full_load) {
    start_ready({"--refresh-interval", "3600"});
    for (const char* title : {"Camela 1", "Camela 2", "Camela 3"}) {
        mt::execute(db_.url(), std::string("BEGIN; UPDATE data_version SET version = version + 1;"
                                           "UPDATE events SET title = '") +
                                   title +
                                   "', changed_version = (SELECT version FROM data_version)"
                                   " WHERE id = 'b0000000-0000-5000-8000-000000000001';"
                                   "SELECT pg_notify('marquee_data_version', (SELECT version::text FROM data_version));"
                                   "COMMIT;");
        ASSERT_TRUE(mt::wait_until(
            [&] { return get("/search").body.find(std::string("\"title\":\"") + title + "\"") != std::string::npos; },
            10s, title));
    }
    auto metrics = get("/metrics").body;
    EXPECT_NE(metrics.find("\nmarquee_api_snapshot_loads_total 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("\nmarquee_api_snapshot_deltas_total 3\n"), std::string::npos) << metrics;
    // Every other event is served as before, in order.
    auto body = get("/search").body;
    EXPECT_LT(body.find("Camela 3"), body.find("Summer"));
}

// A version lower than the one held (a database restored from a backup) cannot be reached by a
// delta: the snapshot is loaded in full, unstamped rows included.
TEST_F(api, loads_in_full_when_the_version_goes_back) {
    start_ready({"--refresh-interval", "0.2"});
    mt::execute(db_.url(),
                "BEGIN; UPDATE data_version SET version = version + 5;"
                "UPDATE events SET title = 'Restored', changed_version = 0"
                " WHERE id = 'b0000000-0000-5000-8000-000000000001'; COMMIT;");
    ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").body.find("\"data_version\":6") != std::string::npos; }, 10s,
                               "version 6 loaded"));
    EXPECT_EQ(get("/search").body.find("Restored"), std::string::npos) << "unstamped: no delta sees it";
    mt::execute(db_.url(), "UPDATE data_version SET version = 2");
    EXPECT_TRUE(mt::wait_until([&] { return get("/search").body.find("Restored") != std::string::npos; }, 10s,
                               "the full load at version 2 serves the unstamped row"));
    EXPECT_NE(get("/metrics").body.find("\nmarquee_api_snapshot_loads_total 2\n"), std::string::npos);
}

// A PostgreSQL streaming replica serves the API's reads; the primary, which a hot standby cannot
// stand in for, tells it of new versions, applied once the replica has replayed them. A restart
// of the replica costs no answer.
TEST_F(api, serves_from_a_streaming_replica_told_of_changes_by_the_primary) {
    const auto replica = mt::replica_url(db_.name());
    ASSERT_TRUE(mt::wait_until(
        [&] {
            try {
                return mt::query_scalar(replica, "SELECT count(*) FROM events") == "4";
            } catch (const std::exception&) {
                return false;  // the schema has not been replayed yet
            }
        },
        30s, "the seed reaches the replica"));
    start({"--refresh-interval", "3600", "--notify-database-url", db_.url()}, replica);
    ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "marquee-api is ready"));
    EXPECT_EQ(get("/search").body, events_body({cafe, camela, summer}));
    auto api_sessions = [](const std::string& url) {
        return mt::query_scalar(url,
                                "SELECT count(*) FROM pg_stat_activity"
                                " WHERE application_name = 'marquee-api' AND datname = current_database()");
    };
    EXPECT_EQ(api_sessions(replica), "1") << "the snapshot is read on the replica";
    EXPECT_EQ(api_sessions(db_.url()), "1") << "only the listener is on the primary";

    auto rename = [&](const std::string& title) {
        mt::execute(db_.url(),
                    "BEGIN; UPDATE data_version SET version = version + 1;"
                    "UPDATE events SET title = '" +
                        title +
                        "', changed_version = (SELECT version FROM data_version)"
                        " WHERE id = 'b0000000-0000-5000-8000-000000000001';"
                        "SELECT pg_notify('marquee_data_version', (SELECT version::text FROM data_version));"
                        "COMMIT;");
    };
    auto serves = [&](const std::string& title) {
        return get("/search").body.find("\"title\":\"" + title + "\"") != std::string::npos;
    };
    rename("Replayed");
    EXPECT_TRUE(mt::wait_until([&] { return serves("Replayed"); }, 10s, "the change is served from the replica"));

    std::atomic<bool> restarting{true};
    std::atomic<int> answered{0};
    std::atomic<int> failed{0};
    std::thread client([&] {
        while (restarting.load()) {
            (get("/search").status == 200 ? answered : failed).fetch_add(1);
            std::this_thread::sleep_for(5ms);
        }
    });
    auto restarted = mt::restart_replica();
    restarting.store(false);
    client.join();
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
    EXPECT_GT(answered.load(), 0);
    EXPECT_EQ(failed.load(), 0) << "searches answer from memory while the replica restarts";
    rename("After restart");
    EXPECT_TRUE(mt::wait_until([&] { return serves("After restart"); }, 30s,
                               "the API reconnected to the replica and serves the next change"));
}

// Pages follow Link headers to the end; changes committed between pages (applied as deltas)
// neither repeat nor drop an event that did not change.
TEST_F(api, pages_stay_consistent_while_the_data_changes) {
    start_ready({"--refresh-interval", "3600"});
    auto first = get("/search?limit=1");
    ASSERT_EQ(first.status, 200U);
    std::vector<std::string> pages{first.body};
    auto link = first.headers["link"];
    int version = 1;
    while (!link.empty()) {
        // Between two pages Summer (last in July) moves weeks earlier, before every other event.
        ++version;
        mt::execute(db_.url(),
                    "BEGIN; UPDATE data_version SET version = version + 1;"
                    "UPDATE events SET title = title || '+', starts_at = starts_at - interval '" +
                        std::to_string(version * 20) +
                        " days', changed_version = (SELECT version FROM data_version)"
                        " WHERE id = 'd0000000-0000-5000-8000-000000000004';"
                        "SELECT pg_notify('marquee_data_version', (SELECT version::text FROM data_version));"
                        "COMMIT;");
        ASSERT_TRUE(mt::wait_until(
            [&] {
                return get("/readyz").body.find("\"data_version\":" + std::to_string(version)) != std::string::npos;
            },
            10s, "the change is applied"));
        ASSERT_TRUE(link.starts_with("</search?") && link.ends_with(">; rel=\"next\"")) << link;
        auto next = get(link.substr(1, link.find('>') - 1));
        ASSERT_EQ(next.status, 200U) << next.body;
        pages.push_back(next.body);
        link = next.headers["link"];
        ASSERT_LT(pages.size(), 10U);
    }
    std::string all;
    for (const auto& p : pages) all += p;
    auto count = [&](const std::string& id) {
        std::size_t n = 0;
        for (auto at = all.find(id); at != std::string::npos; at = all.find(id, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("a0000000-0000-5000-8000-000000000002"), 1U) << all;
    EXPECT_EQ(count("b0000000-0000-5000-8000-000000000001"), 1U) << all;
    EXPECT_TRUE(pages.back().ends_with(R"(],"next_cursor":null},"error":null})")) << pages.back();
}

TEST_F(api, keeps_serving_while_the_database_is_unreachable) {
    start_ready({"--refresh-interval", "0.2"});
    auto before = get("/search").body;
    cut_database();
    EXPECT_TRUE(mt::wait_until([&] { return get("/readyz").body.find("\"degraded\"") != std::string::npos; }, 10s,
                               "readyz reports degraded"));
    EXPECT_EQ(get("/readyz").status, 200U);
    EXPECT_NE(get("/metrics").body.find("\nmarquee_api_database_up 0\n"), std::string::npos);
    auto during = get("/search");
    EXPECT_EQ(during.status, 200U);
    EXPECT_EQ(during.body, before);

    restore_database();
    mt::execute(db_.url(), "UPDATE data_version SET version = version + 1");
    EXPECT_TRUE(mt::wait_until([&] { return get("/readyz").body.find("\"ready\"") != std::string::npos; }, 30s,
                               "readyz reports ready again"));
    EXPECT_NE(get("/metrics").body.find("\nmarquee_api_database_up 1\n"), std::string::npos);
}

TEST_F(api, answers_503_until_the_first_load) {
    mt::database later(false);
    mt::execute(mt::services().database_url, "ALTER DATABASE " + later.name() + " ALLOW_CONNECTIONS false");
    start({"--refresh-interval", "0.2"}, later.url());
    EXPECT_EQ(get("/readyz").status, 503U);
    auto r = get("/search");
    EXPECT_EQ(r.status, 503U);
    EXPECT_EQ(r.body, R"({"error":{"code":"unavailable","message":"search data is not loaded yet"},"data":null})");
    EXPECT_EQ(get("/search?starts_at=bad").status, 400U);

    mt::execute(mt::services().database_url, "ALTER DATABASE " + later.name() + " ALLOW_CONNECTIONS true");
    later.migrate();
    // The API may load the empty schema between the migration and the seed (its refresh runs every
    // 0.2 s); the seed then announces itself the way the worker does: a new data version, and the
    // rows stamped with it, so a delta finds them.
    mt::execute(later.url(), seed_sql);
    mt::execute(later.url(),
                "BEGIN; UPDATE data_version SET version = version + 1;"
                "UPDATE events SET changed_version = (SELECT version FROM data_version); COMMIT;");
    EXPECT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "ready after the first load"));
    const auto expected = events_body({cafe, camela, summer});
    EXPECT_TRUE(mt::wait_until([&] { return get("/search").body == expected; }, 30s, "the seeded events are served"));
}

TEST_F(api, serves_health_contract_and_metrics) {
    start_ready();
    EXPECT_EQ(get("/healthz").body, R"({"data":{"status":"alive"},"error":null})");
    EXPECT_EQ(get("/readyz").body,
              R"({"data":{"status":"ready","database":"reachable","data_version":1,"events":3},"error":null})");
    auto contract = get("/openapi.yaml");
    EXPECT_EQ(contract.status, 200U);
    EXPECT_EQ(contract.body, mt::read_file(mt::source_dir() / "api" / "openapi.yaml"));
    get("/search");
    auto metrics = get("/metrics");
    EXPECT_EQ(metrics.status, 200U);
    for (const char* needle :
         {"marquee_api_requests_total{route=\"search\",status=\"200\"} ",
          "marquee_api_request_duration_seconds_bucket{", "marquee_api_snapshot_data_version 1\n",
          "marquee_api_snapshot_events 3\n", "marquee_api_snapshot_age_seconds ", "marquee_api_database_up 1\n"})
        EXPECT_NE(metrics.body.find(needle), std::string::npos) << needle;
}

TEST_F(api, kill9_then_restart_serves_the_same_answers) {
    // Nothing the API keeps is its own: after a kill -9, a new process on the same address loads
    // the same data and answers byte for byte as before, with the same validators.
    start_ready();
    const auto port = port_;
    auto before = get("/search");
    auto filtered = get("/search?ends_at=2021-06-30T20:00:00Z");
    ASSERT_EQ(before.status, 200U);
    api_->kill9();
    EXPECT_EQ(api_->wait_exit(10s), 128 + 9);
    EXPECT_NE(get("/healthz").error, "") << "nothing answers while it is down";

    api_ = std::make_unique<mt::process>(
        "marquee-api", std::vector<std::string>{"--database-url", db_.url(), "--api-listen",
                                                "127.0.0.1:" + std::to_string(port), "--threads", "2"});
    ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "the restarted API is ready"));
    auto after = get("/search");
    EXPECT_EQ(after.status, 200U);
    EXPECT_EQ(after.body, before.body);
    EXPECT_EQ(after.headers["etag"], before.headers["etag"]);
    EXPECT_EQ(get("/search", {{"If-None-Match", before.headers["etag"]}}).status, 304U)
        << "a client's cached answer is still valid";
    EXPECT_EQ(get("/search?ends_at=2021-06-30T20:00:00Z").body, filtered.body);
    EXPECT_EQ(get("/readyz").body,
              R"({"data":{"status":"ready","database":"reachable","data_version":1,"events":3},"error":null})");
}

TEST_F(api, exits_zero_on_sigterm) {
    start_ready();
    api_->terminate();
    EXPECT_EQ(api_->wait_exit(15s), 0);
}
