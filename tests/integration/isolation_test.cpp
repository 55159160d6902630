// A slow provider never delays another provider, and a job for a provider whose ingestion is
// already running is deferred instead of holding a consumer while it waits.
#include "harness/harness.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
using namespace std::chrono_literals;

namespace {

struct mock_provider {
    std::uint16_t port = mt::free_port();
    mt::process process{"marquee-provider-mock",
                        {"--listen", "127.0.0.1:" + std::to_string(port), "--dir",
                         (mt::source_dir() / "fixtures/provider-samples").string()}};
};

std::chrono::sys_seconds slot(int minute) {
    return std::chrono::sys_days{std::chrono::year{2024} / 3 / 10} + std::chrono::hours{12} +
           std::chrono::minutes{minute};
}

}  // namespace

TEST(isolation, a_slow_provider_does_not_delay_the_others) {
    auto db = mt::fresh_database();
    auto vhost = mt::fresh_vhost();
    mock_provider slow;
    mock_provider quick;
    for (auto* m : {&slow, &quick})
        ASSERT_TRUE(mt::wait_until([&] { return mt::http_get("127.0.0.1", m->port, "/_control/stats").status == 200; },
                                   30s, "mock up"));
    // The slow provider answers after 8 s, within the 10 s first-byte timeout, once.
    ASSERT_EQ(mt::http_get("127.0.0.1", slow.port, "/_control/fault?kind=delay&value=8000&count=1").status, 200u);
    mt::execute(db.url(),
                fmt::format("INSERT INTO providers (name, url) VALUES ('slow', 'http://127.0.0.1:{}/api/events'), "
                            "('quick', 'http://127.0.0.1:{}/api/events')",
                            slow.port, quick.port));
    mt::process worker("marquee-worker", {"--threads", "1", "--first-retry-ms", "500"},
                       {{"DATABASE_URL", db.url()}, {"AMQP_URL", vhost.url()}});

    amqp::publisher publisher({.server = marquee::config::parse_amqp_url(vhost.url())}, amqp::topology::declare);
    auto publish = [&](const std::string& provider, int minute) {
        auto job = marquee::jobs::make_fetch_job(provider, slot(minute));
        publisher.publish(amqp::topology::exchange, amqp::topology::jobs_routing_key, marquee::jobs::to_json(job),
                          {.expiration = std::nullopt, .message_id = job.job_id});
    };
    publish("slow", 0);
    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::query_scalar(db.url(), "SELECT count(*) FROM ingestion_runs WHERE provider = 'slow'") == "1";
        },
        30s, "slow provider's run started"));
    publish("slow", 1);  // a second job for the busy provider
    publish("quick", 0);

    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::query_scalar(db.url(), "SELECT status FROM ingestion_runs WHERE provider = 'quick'") ==
                   "succeeded";
        },
        15s, "the quick provider's run succeeded"));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT string_agg(status, ',') FROM ingestion_runs WHERE provider = 'slow'"),
              "running")
        << "the quick provider was served while the slow one was still being fetched";
    ASSERT_TRUE(mt::wait_until([&] { return worker.log_text().find("deferred") != std::string::npos; }, 15s,
                               "the second job for the busy provider deferred, not waiting on its lock"));

    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::query_scalar(db.url(),
                                    "SELECT count(*) FROM ingestion_runs WHERE provider = 'slow' AND status = "
                                    "'succeeded'") == "2";
        },
        60s, "both jobs of the slow provider done, one after the other"));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM ingestion_runs WHERE status <> 'succeeded'"), "0");
}
