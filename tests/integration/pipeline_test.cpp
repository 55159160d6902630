// The whole pipeline with the real binaries and services: provider mock → scheduler → RabbitMQ →
// worker → PostgreSQL → API.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/ids/event_id.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
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
    // whose slot already succeeded): each call waits for a second of its own.
    void schedule_once() {
        auto now = std::chrono::system_clock::now();
        if (std::chrono::floor<std::chrono::seconds>(now) <= last_once_)
            std::this_thread::sleep_until(last_once_ + std::chrono::seconds{1});
        last_once_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        mt::process scheduler("marquee-scheduler", {"--once"}, env());
        auto code = scheduler.wait_exit(60s);
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
