// GET /events/{id} and /events/{id}/history against a real PostgreSQL, filled by the worker from
// the sample feeds: every field of a detail, 404/400/304, history pages and their links, answers
// served from memory while fresh, and served on while the database is cut off (or 503 when
// nothing was cached); a lookup waiting on the database never holds up its I/O thread.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"

#include "marquee/time/local_datetime.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <future>

namespace mt = marquee::testing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* unknown_id = "e0000000-0000-5000-8000-00000000000e";

class api_events : public ::testing::Test {
protected:
    void SetUp() override {
        // Three feeds: Camela (291) changes its end in the third, which appends to its history.
        for (const char* feed : {"response_1.xml", "response_2.xml", "response_3.xml"}) {
            mt::process worker("marquee-worker",
                               {"ingest", (mt::provider_samples() / feed).string(), "--provider", "madrid"},
                               {{"DATABASE_URL", db_.url()}, {"PROVIDER_TIMEZONE", "Europe/Madrid"}});
            ASSERT_EQ(worker.wait_exit(120s), 0) << worker.log_text();
        }
        camela_ = id_of("291");
        morancos_ = id_of("1591");
    }

    std::string id_of(const std::string& base_event_id) {
        return mt::query_scalar(db_.url(), "SELECT id FROM events WHERE base_event_id = '" + base_event_id + "'")
            .value_or("none");
    }

    void start_ready(std::vector<std::string> extra = {}, const std::string& threads = "2") {
        port_ = mt::free_port();
        std::vector<std::string> args{"--database-url", db_.url(), "--api-listen", "127.0.0.1:" + std::to_string(port_),
                                      "--threads",      threads};
        args.insert(args.end(), extra.begin(), extra.end());
        api_ = std::make_unique<mt::process>("marquee-api", args);
        ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "marquee-api is ready"));
    }

    mt::http_response get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
        return mt::http_get("127.0.0.1", port_, target, headers, 10s);
    }

    double metric(const std::string& series) { return mt::metric_sample(get("/metrics").body, series).value_or(-1); }

    // Microseconds since the epoch of a timestamptz column of Camela's row.
    std::int64_t micros_of(const std::string& column) {
        return std::stoll(mt::query_scalar(db_.url(), "SELECT (extract(epoch FROM " + column +
                                                          ") * 1000000)::bigint FROM events WHERE id = '" + camela_ +
                                                          "'")
                              .value_or("0"));
    }

    mt::database db_ = mt::fresh_database();
    std::string camela_;
    std::string morancos_;
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> api_;
};

std::int64_t micros_of_rfc3339(const json::value& v) {
    auto text = v.as_string();
    auto t = marquee::time::parse_rfc3339(std::string_view(text.data(), text.size()));
    return t ? t->time_since_epoch().count() : -1;
}

// A string's text, any other value's JSON.
std::string text(const json::value& v) {
    return v.is_string() ? json::value_to<std::string>(v) : json::serialize(v);
}

std::string not_found(std::string_view message) {
    return std::string(R"({"error":{"code":"not_found","message":")") + std::string(message) + R"("},"data":null})";
}

}  // namespace

TEST_F(api_events, detail_of_an_ingested_event_has_every_field_and_its_zones_in_feed_order) {
    start_ready();
    auto r = get("/events/" + camela_);
    ASSERT_EQ(r.status, 200U) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    auto body = json::parse(r.body).as_object();
    EXPECT_TRUE(body.at("error").is_null());
    const auto& e = body.at("data").as_object();
    EXPECT_EQ(text(e.at("id")), camela_);
    EXPECT_EQ(text(e.at("provider")), "madrid");
    EXPECT_EQ(text(e.at("title")), "Camela en concierto");
    EXPECT_EQ(text(e.at("start_date")), "2021-06-30");
    EXPECT_EQ(text(e.at("start_time")), "21:00:00");
    EXPECT_EQ(text(e.at("end_date")), "2021-06-30");
    EXPECT_EQ(text(e.at("end_time")), "21:30:00") << "as the last feed says";
    EXPECT_EQ(text(e.at("starts_at")), "2021-06-30T19:00:00Z") << "Madrid is UTC+2 in summer";
    EXPECT_EQ(text(e.at("ends_at")), "2021-06-30T19:30:00Z");
    EXPECT_EQ(text(e.at("sell_mode")), "online");
    EXPECT_EQ(text(e.at("sell_from")), "2020-07-01T00:00:00");
    EXPECT_EQ(text(e.at("sell_to")), "2021-06-30T20:00:00");
    EXPECT_EQ(text(e.at("sold_out")), "false");
    EXPECT_TRUE(e.at("organizer_company_id").is_null());
    EXPECT_EQ(micros_of_rfc3339(e.at("first_seen_at")), micros_of("first_seen_at"));
    EXPECT_EQ(micros_of_rfc3339(e.at("last_seen_at")), micros_of("last_seen_at"));
    // Prices as /search renders them: the stored numeric's text.
    auto prices = mt::query_scalar(db_.url(),
                                   "SELECT format('\"min_price\":%s,\"max_price\":%s', min_price, "
                                   "max_price) FROM events WHERE id = '" +
                                       camela_ + "'");
    ASSERT_TRUE(prices);
    EXPECT_NE(r.body.find(*prices), std::string::npos) << r.body;
    EXPECT_NE(get("/search").body.find(*prices), std::string::npos);

    // Every zone, in feed order, as the database holds them, prices in the numeric's own text.
    auto zones = mt::query_scalar(
        db_.url(),
        "SELECT string_agg(format('{\"zone_id\":%s,\"name\":%s,\"capacity\":%s,\"price\":%s,"
        "\"numbered\":%s}', to_json(zone_id), to_json(name), to_json(capacity), price, to_json(numbered)), ',' "
        "ORDER BY position) FROM zones WHERE event = '" +
            camela_ + "'");
    EXPECT_NE(r.body.find("\"zones\":[" + zones.value_or("none") + "]}"), std::string::npos) << r.body;
    EXPECT_EQ(e.at("zones").as_array().size(), 3U);
    EXPECT_EQ(text(e.at("zones").as_array()[0].at("name")), "Platea");
    EXPECT_NE(r.body.find(R"("price":20.00,)"), std::string::npos) << "the numeric's own text";

    // Organizer present elsewhere.
    auto morancos = json::parse(get("/events/" + morancos_).body);
    EXPECT_EQ(text(morancos.at("data").at("organizer_company_id")), "1");
}

TEST_F(api_events, unknown_and_never_online_ids_are_404_and_a_malformed_id_is_400_naming_id) {
    mt::execute(db_.url(), "UPDATE events SET ever_online = false WHERE id = '" + morancos_ + "'");
    start_ready();
    const auto message = not_found("no event with this id has ever been online");
    for (const auto& target :
         {"/events/" + std::string(unknown_id), "/events/" + morancos_,
          "/events/" + std::string(unknown_id) + "/history", "/events/" + morancos_ + "/history"}) {
        auto r = get(target);
        EXPECT_EQ(r.status, 404U) << target;
        EXPECT_EQ(r.headers["content-type"], "application/json") << target;
        EXPECT_EQ(r.body, message) << target;
    }
    for (const char* target : {"/events/nope", "/events/nope/history", "/events/123e4567-e89b-12d3-a456-42661417400",
                               "/events/123e4567-e89b-12d3-a456-4266141740000"}) {
        auto r = get(target);
        EXPECT_EQ(r.status, 400U) << target;
        EXPECT_TRUE(r.body.starts_with(R"({"error":{"code":"invalid_parameter","message":"id is not an event id)"))
            << r.body;
    }
    // Upper case is the same id.
    std::string upper = camela_;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(get("/events/" + upper).body, get("/events/" + camela_).body);
    EXPECT_EQ(get("/events/" + camela_ + "/zones").status, 404U);
    EXPECT_EQ(mt::http_request("POST", "127.0.0.1", port_, "/events/" + camela_).status, 405U);
}

TEST_F(api_events, the_etag_comes_back_as_304_and_head_has_the_same_head) {
    start_ready();
    for (const auto& target : {"/events/" + camela_, "/events/" + camela_ + "/history?limit=1"}) {
        auto first = get(target);
        ASSERT_EQ(first.status, 200U) << target;
        auto etag = first.headers["etag"];
        EXPECT_EQ(etag.size(), 18U) << etag;
        EXPECT_EQ(first.headers["cache-control"], "public, max-age=5");
        auto again = get(target, {{"If-None-Match", etag}});
        EXPECT_EQ(again.status, 304U) << target;
        EXPECT_TRUE(again.body.empty());
        EXPECT_EQ(again.headers["etag"], etag);
        EXPECT_EQ(get(target, {{"If-None-Match", "\"other\""}}).status, 200U);
        auto head = mt::http_request("HEAD", "127.0.0.1", port_, target);
        EXPECT_EQ(head.status, 200U);
        EXPECT_TRUE(head.body.empty());
        EXPECT_EQ(head.headers["etag"], etag);
        EXPECT_EQ(head.headers["content-length"], std::to_string(first.body.size()));
    }
    EXPECT_NE(get("/events/" + camela_).headers["etag"], get("/events/" + morancos_).headers["etag"]);
}

TEST_F(api_events, history_is_newest_first_in_pages_that_link_to_the_next) {
    // Besides what the ingestions appended: older rows, two observed at the same instant.
    mt::execute(db_.url(),
                "INSERT INTO event_history (event, observed_at, sell_mode, start_local, end_local, min_price,"
                " max_price) SELECT '" +
                    camela_ +
                    "', t, 'offline', '2021-06-30 21:00:00',"
                    " '2021-06-30 22:00:00', p, p FROM (VALUES ('2020-01-01 00:00:00Z'::timestamptz, 1.5),"
                    " ('2020-01-02 00:00:00Z', 2.5), ('2020-01-02 00:00:00Z', NULL)) AS v (t, p)");
    auto expected =
        mt::query_scalar(db_.url(),
                         "SELECT string_agg(format('%s|%s|%s', (extract(epoch FROM observed_at) * 1000000)::bigint, "
                         "sell_mode, coalesce(min_price::text, 'null')), ';' ORDER BY observed_at DESC, id DESC) "
                         "FROM event_history WHERE event = '" +
                             camela_ + "'");
    ASSERT_TRUE(expected);
    start_ready();

    // observed_at, sell_mode and min_price of each row, the price as the body has it.
    auto rows_of = [](const std::string& body) {
        std::string rows;
        std::size_t price_at = 0;
        auto parsed = json::parse(body);
        for (const auto& h : parsed.at("data").at("history").as_array()) {
            price_at = body.find("\"min_price\":", price_at) + 12;
            if (!rows.empty()) rows += ';';
            rows += std::to_string(micros_of_rfc3339(h.at("observed_at"))) + '|' + text(h.at("sell_mode")) + '|' +
                    body.substr(price_at, body.find(',', price_at) - price_at);
        }
        return rows;
    };
    auto all = get("/events/" + camela_ + "/history");
    ASSERT_EQ(all.status, 200U) << all.body;
    auto all_data = json::parse(all.body).at("data");
    EXPECT_FALSE(all_data.as_object().contains("next_cursor")) << "no page asked for";
    EXPECT_EQ(rows_of(all.body), *expected);
    EXPECT_GE(all_data.at("history").as_array().size(), 5U);
    EXPECT_TRUE(all.headers["link"].empty());

    std::string paged;
    std::string target = "/events/" + camela_ + "/history?limit=2";
    int pages = 0;
    for (;; ++pages) {
        ASSERT_LT(pages, 10);
        auto r = get(target);
        ASSERT_EQ(r.status, 200U) << target << ": " << r.body;
        auto data = json::parse(r.body).at("data");
        auto rows = rows_of(r.body);
        if (!paged.empty() && !rows.empty()) paged += ';';
        paged += rows;
        const auto& next = data.at("next_cursor");
        if (next.is_null()) {
            EXPECT_TRUE(r.headers["link"].empty());
            break;
        }
        EXPECT_EQ(data.at("history").as_array().size(), 2U);
        auto link = r.headers["link"];
        auto cursor = json::value_to<std::string>(next);
        EXPECT_EQ(link, "</events/" + camela_ + "/history?limit=2&cursor=" + cursor + ">; rel=\"next\"");
        target = link.substr(1, link.find('>') - 1);
    }
    EXPECT_EQ(paged, *expected);
    EXPECT_GE(pages, 2);
}

TEST_F(api_events, a_cursor_from_another_events_history_or_a_bad_parameter_is_400) {
    start_ready();
    auto morancos_page = json::parse(get("/events/" + morancos_ + "/history?limit=1000").body);
    auto camela_page = json::parse(get("/events/" + camela_ + "/history?limit=1").body);
    ASSERT_TRUE(camela_page.at("data").at("next_cursor").is_string()) << camela_page;
    auto cursor = json::value_to<std::string>(camela_page.at("data").at("next_cursor"));
    EXPECT_EQ(get("/events/" + camela_ + "/history?limit=1&cursor=" + cursor).status, 200U);
    auto r = get("/events/" + morancos_ + "/history?limit=1&cursor=" + cursor);
    EXPECT_EQ(r.status, 400U);
    EXPECT_EQ(r.body, R"({"error":{"code":"invalid_parameter","message":"cursor is not a next_cursor of this event's )"
                      R"(history"},"data":null})");
    EXPECT_TRUE(morancos_page.at("data").at("next_cursor").is_null());
    for (const char* query : {"limit=0", "limit=", "limit=1&limit=2", "cursor=", "cursor=x", "limit=1001"}) {
        auto bad = get("/events/" + camela_ + "/history?" + query);
        EXPECT_EQ(bad.status, 400U) << query;
        EXPECT_TRUE(bad.body.starts_with(R"({"error":{"code":"invalid_parameter","message":")")) << bad.body;
    }
}

TEST_F(api_events, a_fresh_answer_is_served_from_memory_without_asking_the_database) {
    start_ready({"--cache-max-age", "3600"});
    auto first = get("/events/" + camela_);
    ASSERT_EQ(first.status, 200U);
    EXPECT_EQ(first.headers["cache-control"], "public, max-age=3600");
    mt::execute(db_.url(), "UPDATE events SET title = 'Renamed' WHERE id = '" + camela_ + "'");
    auto hits = metric("marquee_api_event_cache_hits_total");
    auto misses = metric("marquee_api_event_cache_misses_total");
    EXPECT_EQ(get("/events/" + camela_).body, first.body) << "the cached answer, not the renamed row";
    EXPECT_EQ(metric("marquee_api_event_cache_hits_total"), hits + 1);
    EXPECT_EQ(metric("marquee_api_event_cache_misses_total"), misses);
}

TEST_F(api_events, cached_answers_are_served_while_the_database_is_cut_off_and_others_are_503) {
    // Max age 0: every request asks the database first, so what is served during the cut can only
    // come from the cache.
    start_ready({"--cache-max-age", "0", "--event-timeout", "1"});
    auto detail = get("/events/" + camela_);
    auto history = get("/events/" + camela_ + "/history?limit=1");
    ASSERT_EQ(detail.status, 200U);
    ASSERT_EQ(history.status, 200U);
    auto unknown = get(std::string("/events/") + unknown_id);
    ASSERT_EQ(unknown.status, 404U);

    db_.cut_off();
    ASSERT_TRUE(mt::wait_until([&] { return metric("marquee_api_database_up") == 0; }, 30s, "the API notices"));
    auto failed = metric("marquee_api_event_lookups_failed_total");
    auto during = get("/events/" + camela_);
    EXPECT_EQ(during.status, 200U);
    EXPECT_EQ(during.body, detail.body);
    EXPECT_EQ(during.headers["etag"], detail.headers["etag"]);
    EXPECT_EQ(get("/events/" + camela_ + "/history?limit=1").body, history.body);
    EXPECT_EQ(get(std::string("/events/") + unknown_id).status, 404U) << "a cached 404 too";
    auto uncached = get("/events/" + morancos_);
    EXPECT_EQ(uncached.status, 503U);
    EXPECT_EQ(uncached.body, R"({"error":{"code":"unavailable","message":"event data is unavailable: the database )"
                             R"(cannot be reached"},"data":null})");
    EXPECT_EQ(get("/events/" + morancos_ + "/history").status, 503U);
    EXPECT_GE(metric("marquee_api_event_lookups_failed_total"), failed + 5);
    EXPECT_GE(metric("marquee_api_event_stale_answers_total"), 3);
    EXPECT_EQ(get("/search").status, 200U) << "search goes on from the snapshot";

    db_.restore();
    EXPECT_TRUE(
        mt::wait_until([&] { return get("/events/" + morancos_).status == 200; }, 30s, "event lookups reconnect"));
}

TEST_F(api_events, a_lookup_waiting_on_the_database_holds_up_no_other_request_on_its_thread) {
    // One I/O thread: were the lookup waiting on it, nothing else could be answered meanwhile.
    start_ready({"--event-timeout", "5"}, "1");
    // Zones locked: the lookup's statement waits for the lock until the deadline.
    pqxx::connection locker(db_.url());
    pqxx::work lock(locker);
    lock.exec0("LOCK TABLE zones IN ACCESS EXCLUSIVE MODE");
    auto detail = std::async(std::launch::async, [&] { return get("/events/" + camela_); });
    ASSERT_TRUE(mt::wait_until([&] { return metric("marquee_api_event_cache_misses_total") == 1; }, 10s,
                               "the lookup is under way"));
    EXPECT_EQ(get("/search").status, 200U);
    EXPECT_EQ(get("/healthz").status, 200U);
    EXPECT_EQ(detail.wait_for(0s), std::future_status::timeout) << "the lookup still waits, the thread did not";
    auto r = detail.get();
    EXPECT_EQ(r.status, 503U) << "nothing cached: " << r.body;
    lock.abort();
    EXPECT_EQ(get("/events/" + camela_).status, 200U);
}
