// The whole pipeline with the real binaries and services: provider mock → scheduler → RabbitMQ →
// worker → PostgreSQL → API.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/ids/event_id.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

class pipeline : public ::testing::Test {
protected:
    std::map<std::string, std::string> env() const {
        return {{"DATABASE_URL", db_.url()}, {"AMQP_URL", vhost_.url()}, {"PROVIDER_URL", mock_.url()}};
    }

    // A job's slot is the second --once runs in, and a slot is ingested once (a worker skips a job
    // whose slot already succeeded): each call starts in a second after the one the previous run
    // ended in. (Taking the second before starting the process is not enough: a slow start, as
    // under TSan, runs the scheduler a second later, and the next call then got the same slot.)
    void schedule_once() {
        if (std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) <= last_once_)
            std::this_thread::sleep_until(last_once_ + std::chrono::seconds{1});
        mt::process scheduler("marquee-scheduler", {"--once"}, env());
        auto code = scheduler.wait_exit(60s);
        last_once_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        ASSERT_EQ(code, 0) << scheduler.log_text();
    }

    std::string succeeded_runs() {
        return mt::query_scalar(db_.url(), "SELECT count(*) FROM ingestion_runs WHERE status = 'succeeded'")
            .value_or("");
    }

    mt::database db_ = mt::fresh_database();
    mt::vhost vhost_ = mt::fresh_vhost();
    mt::provider_mock mock_;
    std::chrono::sys_seconds last_once_{};
};

boost::json::array events_of(const mt::http_response& r) {
    auto body = boost::json::parse(r.body).as_object();
    EXPECT_TRUE(body.at("error").is_null());
    return body.at("data").as_object().at("events").as_array();
}

std::vector<std::string> titles_of(const boost::json::array& events) {
    std::vector<std::string> titles;
    for (const auto& e : events) titles.emplace_back(e.as_object().at("title").as_string());
    return titles;
}

}  // namespace

TEST_F(pipeline, three_samples_in_order_reach_search) {
    // The first job is published before any worker exists: it must wait in the durable queue.
    schedule_once();
    mt::process worker("marquee-worker", {"--threads", "2"}, env());
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "1"; }, 60s, "first run succeeded"));
    schedule_once();
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "2"; }, 60s, "second run succeeded"));
    schedule_once();
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "3"; }, 60s, "third run succeeded"));
    EXPECT_EQ(
        mt::query_scalar(db_.url(), "SELECT string_agg(events_rejected::text, ',' ORDER BY id) FROM ingestion_runs"),
        "0,1,1");

    auto api_port = mt::free_port();
    mt::process api("marquee-api", {},
                    {{"DATABASE_URL", db_.url()}, {"API_LISTEN", "127.0.0.1:" + std::to_string(api_port)}});
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::http_get("127.0.0.1", api_port, "/readyz").status == 200; }, 30s, "api ready"));

    auto all = mt::http_get("127.0.0.1", api_port, "/search");
    ASSERT_EQ(all.status, 200u) << all.body;
    auto events = events_of(all);
    // Ordered by start; Pantomima Full left the feed after the first response but stays; the
    // offline Tributo (with its impossible date) is never shown.
    EXPECT_EQ(titles_of(events), (std::vector<std::string>{"Pantomima Full", "Camela en concierto", "Los Morancos"}));
    ASSERT_EQ(events.size(), 3u);
    const auto& camela = events[1].as_object();
    EXPECT_EQ(camela.at("id").as_string(), "f399ee3d-020d-577e-bc50-7cf2d0ee1a24") << "UUID v5 of the key, stable";
    EXPECT_EQ(camela.at("start_date").as_string(), "2021-06-30");
    EXPECT_EQ(camela.at("start_time").as_string(), "21:00:00");
    EXPECT_EQ(camela.at("end_date").as_string(), "2021-06-30");
    EXPECT_EQ(camela.at("end_time").as_string(), "21:30:00") << "latest values seen (third response)";
    EXPECT_DOUBLE_EQ(camela.at("min_price").to_number<double>(), 15.0);
    EXPECT_DOUBLE_EQ(camela.at("max_price").to_number<double>(), 30.0);
    const auto& morancos = events[2].as_object();
    EXPECT_DOUBLE_EQ(morancos.at("min_price").to_number<double>(), 65.0)
        << "every zone counts, even a repeated zone_id";
    EXPECT_DOUBLE_EQ(morancos.at("max_price").to_number<double>(), 75.0);

    auto june =
        mt::http_get("127.0.0.1", api_port, "/search?starts_at=2021-06-01T00:00:00Z&ends_at=2021-06-30T21:30:00Z");
    ASSERT_EQ(june.status, 200u);
    EXPECT_EQ(titles_of(events_of(june)), std::vector<std::string>{"Camela en concierto"}) << "both bounds inclusive";

    auto offset = mt::http_get("127.0.0.1", api_port, "/search?starts_at=2021-07-31T22:00:00%2B02:00");
    ASSERT_EQ(offset.status, 200u);
    EXPECT_EQ(titles_of(events_of(offset)), std::vector<std::string>{"Los Morancos"});

    for (const auto* bad :
         {"/search?starts_at=yesterday", "/search?starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-01T00:00:00Z",
          "/search?starts_at=2021-06-01T00:00:00Z&starts_at=2021-06-02T00:00:00Z", "/search?ends_at="}) {
        auto r = mt::http_get("127.0.0.1", api_port, bad);
        EXPECT_EQ(r.status, 400u) << bad;
        auto body = boost::json::parse(r.body).as_object();
        EXPECT_TRUE(body.at("data").is_null()) << bad;
        EXPECT_TRUE(body.at("error").as_object().contains("code")) << bad;
    }
}

TEST_F(pipeline, the_same_feed_again_keeps_ids_and_data_version) {
    mt::process worker("marquee-worker", {}, env());
    schedule_once();
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "1"; }, 60s, "first run succeeded"));
    auto ids = mt::query_scalar(db_.url(), "SELECT string_agg(id::text, ',' ORDER BY id) FROM events");
    auto version = mt::query_scalar(db_.url(), "SELECT version FROM data_version");
    // Serve response_1 again: nothing changes but last_seen_at.
    ASSERT_TRUE(mock_.control("/_control/next?file=response_1.xml"));
    schedule_once();
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "2"; }, 60s, "second run succeeded"));
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT string_agg(id::text, ',' ORDER BY id) FROM events"), ids);
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT version FROM data_version"), version);
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT events_changed FROM ingestion_runs ORDER BY id DESC LIMIT 1"), "0");
}

// Two providers in different time zones (neither UTC, nor the test's own TZ) serve the same feed:
// the same local times are different instants, /search filters and orders by the instant and shows
// each event in its provider's local time.
TEST_F(pipeline, search_filters_and_orders_by_instant_across_provider_time_zones) {
    auto feeds = mt::test_dir("feeds");
    std::filesystem::copy_file(mt::provider_samples() / "response_1.xml", feeds / "response_1.xml");
    mt::provider_mock madrid_feed(feeds);
    mt::provider_mock tokyo_feed(feeds);
    mt::execute(db_.url(), "INSERT INTO providers (name, url, time_zone) VALUES ('madrid', '" + madrid_feed.url() +
                               "', 'Europe/Madrid'), ('tokyo', '" + tokyo_feed.url() + "', 'Asia/Tokyo')");
    mt::process worker("marquee-worker", {"--threads", "2"}, env());
    mt::publish_job(vhost_, "madrid", mt::slot(0));
    mt::publish_job(vhost_, "tokyo", mt::slot(0));
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "2"; }, 60s, "both providers ingested"));

    auto api_port = mt::free_port();
    mt::process api("marquee-api", {},
                    {{"DATABASE_URL", db_.url()}, {"API_LISTEN", "127.0.0.1:" + std::to_string(api_port)}});
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::http_get("127.0.0.1", api_port, "/readyz").status == 200; }, 30s, "api ready"));
    auto search = [&](const std::string& query) {
        auto r = mt::http_get("127.0.0.1", api_port, "/search" + query);
        EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
        std::vector<std::string> found;  // provider/base_event_id local start
        for (const auto& e : events_of(r)) {
            const auto& o = e.as_object();
            std::string id(o.at("id").as_string());
            std::string who = "?";
            for (const char* provider : {"madrid", "tokyo"})
                for (auto [base, event] :
                     {std::pair{"291", "291"}, std::pair{"322", "1642"}, std::pair{"1591", "1642"}})
                    if (marquee::ids::event_uuid(provider, base, event).to_string() == id)
                        who = std::string(provider) + "/" + base;
            found.push_back(who + " " + std::string(o.at("start_date").as_string()) + "T" +
                            std::string(o.at("start_time").as_string()));
        }
        return found;
    };
    using list = std::vector<std::string>;
    // Tokyo is UTC+9 all year, Madrid UTC+1 in February and UTC+2 in summer: each local start is
    // 7 or 8 hours earlier in Tokyo.
    EXPECT_EQ(search(""), (list{"tokyo/322 2021-02-10T20:00:00", "madrid/322 2021-02-10T20:00:00",
                                "tokyo/291 2021-06-30T21:00:00", "madrid/291 2021-06-30T21:00:00",
                                "tokyo/1591 2021-07-31T20:00:00", "madrid/1591 2021-07-31T20:00:00"}));
    // Camela, 21:00-22:00 local: 19:00-20:00Z in Madrid, 12:00-13:00Z in Tokyo; both bounds inclusive.
    EXPECT_EQ(search("?starts_at=2021-06-30T19:00:00Z&ends_at=2021-06-30T20:00:00Z"),
              list{"madrid/291 2021-06-30T21:00:00"});
    EXPECT_EQ(search("?starts_at=2021-06-30T12:00:00Z&ends_at=2021-06-30T13:00:00Z"),
              list{"tokyo/291 2021-06-30T21:00:00"});
    // The same instants written in the providers' own offsets, and in a third one.
    EXPECT_EQ(search("?starts_at=2021-06-30T21:00:00%2B09:00&ends_at=2021-06-30T22:00:00%2B09:00"),
              list{"tokyo/291 2021-06-30T21:00:00"});
    EXPECT_EQ(search("?starts_at=2021-06-30T15:00:00-04:00&ends_at=2021-06-30T16:00:00-04:00"),
              list{"madrid/291 2021-06-30T21:00:00"});
    // From Madrid's Pantomima (19:00Z on 10 February) on: Tokyo's (11:00Z) is before it.
    EXPECT_EQ(
        search("?starts_at=2021-02-10T19:00:00Z&ends_at=2021-07-01T00:00:00Z"),
        (list{"madrid/322 2021-02-10T20:00:00", "tokyo/291 2021-06-30T21:00:00", "madrid/291 2021-06-30T21:00:00"}));
}

namespace {

// A feed of `count` events from base_event_id `first` on, "Show <n>" one hour apart from
// 2030-01-01T00:00 local; `adjust` may change each event's start, title and sell mode.
struct feed_event {
    int n;
    std::string start;  // local, "YYYY-MM-DDTHH:MM:SS"
    std::string title;
    std::string sell_mode = "online";
};

std::string feed_xml(const std::vector<feed_event>& events) {
    std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?><eventList version="1.0"><output>)";
    for (const auto& e : events) {
        auto end = e.start.substr(0, 14) + "30:00";
        xml += "<base_event base_event_id=\"" + std::to_string(e.n) + "\" sell_mode=\"" + e.sell_mode + "\" title=\"" +
               e.title + "\"><event event_start_date=\"" + e.start + "\" event_end_date=\"" + end + "\" event_id=\"" +
               std::to_string(e.n) + "\" sell_from=\"2029-01-01T00:00:00\" sell_to=\"" + e.start +
               "\" sold_out=\"false\"><zone zone_id=\"1\" capacity=\"10\" price=\"10.00\" name=\"A\" "
               "numbered=\"false\"/></event></base_event>";
    }
    return xml + "</output></eventList>";
}

std::string hour_start(int hours_from_2030) {
    char text[32];
    std::snprintf(text, sizeof text, "2030-01-%02dT%02d:00:00", 1 + hours_from_2030 / 24, hours_from_2030 % 24);
    return text;
}

}  // namespace

// A client pages through a filtered query while the worker ingests a new version of the feed
// (events moved, renamed, gone offline, new): every event that did not move is on exactly one
// page, whatever changed around it; the pages stay in order and the last one ends the walk.
TEST_F(pipeline, pages_stay_consistent_across_a_concurrent_ingestion) {
    std::vector<feed_event> before;
    for (int n = 1; n <= 120; ++n) before.push_back({n, hour_start(n), "Show " + std::to_string(n)});
    auto after = before;
    for (auto& e : after) {
        if (e.n >= 100 && e.n < 110) e.start = "2029-12-31T" + std::to_string(10 + e.n - 100) + ":00:00";  // moved
        if (e.n >= 30 && e.n < 40) e.title += " renamed";
        if (e.n >= 50 && e.n < 56) e.sell_mode = "offline";  // stays searchable: it was online once
    }
    for (int n = 121; n <= 130; ++n) after.push_back({n, hour_start(n), "Show " + std::to_string(n)});
    auto feeds = mt::test_dir("paged-feeds");
    mt::write_file(feeds / "a.xml", feed_xml(before));
    mt::write_file(feeds / "b.xml", feed_xml(after));
    mt::provider_mock feed(feeds);
    mt::execute(db_.url(),
                "INSERT INTO providers (name, url, time_zone) VALUES ('paged', '" + feed.url() + "', 'Europe/Madrid')");
    ASSERT_TRUE(feed.control("/_control/next?file=a.xml"));
    mt::process worker("marquee-worker", {"--threads", "2"}, env());
    mt::publish_job(vhost_, "paged", mt::slot(0));
    ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "1"; }, 60s, "the first feed ingested"));

    auto api_port = mt::free_port();
    mt::process api("marquee-api", {},
                    {{"DATABASE_URL", db_.url()}, {"API_LISTEN", "127.0.0.1:" + std::to_string(api_port)}});
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::http_get("127.0.0.1", api_port, "/readyz").status == 200; }, 30s, "api ready"));
    auto data_version = [&] {
        auto body = mt::http_get("127.0.0.1", api_port, "/readyz").body;
        auto at = body.find("\"data_version\":");
        return at == std::string::npos ? std::string() : body.substr(at + 15, body.find(',', at) - at - 15);
    };
    const auto first_version = data_version();

    std::map<std::string, int> seen;
    std::string target = "/search?q=show&limit=25";
    for (int page = 0; !target.empty(); ++page) {
        ASSERT_LT(page, 10);
        auto r = mt::http_get("127.0.0.1", api_port, target);
        ASSERT_EQ(r.status, 200u) << target << ": " << r.body;
        auto events = events_of(r);
        EXPECT_LE(events.size(), 25u);
        for (const auto& e : events) ++seen[std::string(e.as_object().at("id").as_string())];
        auto link = r.headers["link"];
        target = link.empty() ? "" : link.substr(1, link.find('>') - 1);
        if (page == 0) {
            // The second version of the feed, ingested by the worker while the client pages.
            ASSERT_TRUE(feed.control("/_control/next?file=b.xml"));
            mt::publish_job(vhost_, "paged", mt::slot(1));
            ASSERT_TRUE(mt::wait_until([&] { return succeeded_runs() == "2"; }, 60s, "the second feed ingested"));
            ASSERT_TRUE(mt::wait_until([&] { return data_version() != first_version; }, 30s, "the API has it"));
        }
    }
    auto count = [&](int n) {
        auto id = marquee::ids::event_uuid("paged", std::to_string(n), std::to_string(n)).to_string();
        return seen.contains(id) ? seen[id] : 0;
    };
    for (int n = 1; n <= 130; ++n) {
        if (n >= 100 && n < 110)
            EXPECT_LE(count(n), 1) << "moved event " << n;
        else
            EXPECT_EQ(count(n), 1) << "event " << n << " did not move";
    }
}
