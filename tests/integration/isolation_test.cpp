// A slow provider never delays another provider, and a job for a provider whose ingestion is
// already running is deferred instead of holding a consumer while it waits.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

TEST(isolation, a_slow_provider_does_not_delay_the_others) {
    auto db = mt::fresh_database();
    auto vhost = mt::fresh_vhost();
    mt::provider_mock slow;
    mt::provider_mock quick;
    // The slow provider's first reply is held until the test lets it go, after the quick provider
    // was served: however slow the machine, the quick run cannot have waited for the slow fetch.
    ASSERT_TRUE(slow.hold(1));
    mt::execute(db.url(), fmt::format("INSERT INTO providers (name, url) VALUES ('slow', '{}'), ('quick', '{}')",
                                      slow.url(), quick.url()));
    mt::process worker("marquee-worker", {"--threads", "1", "--first-retry-ms", "500"},
                       {{"DATABASE_URL", db.url()}, {"AMQP_URL", vhost.url()}});

    mt::publish_job(vhost, "slow", mt::slot(0));
    ASSERT_TRUE(slow.wait_held(1));
    ASSERT_EQ(mt::query_scalar(db.url(), "SELECT string_agg(status, ',') FROM ingestion_runs WHERE provider = 'slow'"),
              "running");
    mt::publish_job(vhost, "slow", mt::slot(1));  // a second job for the busy provider
    mt::publish_job(vhost, "quick", mt::slot(0));

    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::query_scalar(db.url(), "SELECT status FROM ingestion_runs WHERE provider = 'quick'") ==
                   "succeeded";
        },
        60s, "the quick provider's run succeeded"));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT string_agg(status, ',') FROM ingestion_runs WHERE provider = 'slow'"),
              "running")
        << "the quick provider was served while the slow one was still being fetched";
    EXPECT_EQ(slow.stat("held"), 1);
    ASSERT_TRUE(mt::wait_until([&] { return worker.log_text().find("deferred") != std::string::npos; }, 60s,
                               "the second job for the busy provider deferred, not waiting on its lock"));
    EXPECT_EQ(slow.stat("requests"), 1) << "the deferred job fetched nothing while the first was in hand";

    ASSERT_TRUE(slow.release());
    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::query_scalar(db.url(),
                                    "SELECT count(*) FROM ingestion_runs WHERE provider = 'slow' AND status = "
                                    "'succeeded'") == "2";
        },
        60s, "both jobs of the slow provider done, one after the other"));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM ingestion_runs WHERE status <> 'succeeded'"), "0");
    EXPECT_EQ(slow.stat("requests"), 2);
}
