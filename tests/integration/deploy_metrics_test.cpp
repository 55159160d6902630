// The metrics deploy/prometheus's alerts need beyond the others: the worker's outcomes and last
// success per provider, and the fetch queues' depth and consumers as the scheduler reads them.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/amqp/consumer.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
using namespace std::chrono_literals;

namespace {

amqp::connection_options broker(const mt::vhost& vh) {
    return {.server = marquee::config::parse_amqp_url(vh.url())};
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(deploy_metrics, worker_counts_outcomes_and_last_success_per_provider) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    mt::provider_mock mock;
    for (const char* name : {"alpha", "beta"})
        mt::execute(db.url(), fmt::format("INSERT INTO providers (name, url) VALUES ('{}', "
                                          "'{}')",
                                          name, mock.url()));
    auto metrics_port = mt::free_port();
    mt::process worker("marquee-worker", {"--threads", "1", "--concurrency", "1"},
                       {{"DATABASE_URL", db.url()},
                        {"AMQP_URL", vh.url()},
                        {"WORKER_MAX_ATTEMPTS", "1"},
                        {"METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port)}});
    auto scrape = [&] { return mt::http_get("127.0.0.1", metrics_port, "/metrics").body; };
    ASSERT_TRUE(mt::wait_until([&] { return !scrape().empty(); }, 30s, "metrics served"));
    EXPECT_EQ(scrape().find("provider=\""), std::string::npos) << "no provider series before a job";

    const std::string alpha_ok = R"(marquee_worker_provider_runs_total{provider="alpha",status="succeeded"})";
    const std::string alpha_failed = R"(marquee_worker_provider_runs_total{provider="alpha",status="failed"})";
    const std::string alpha_last = R"(marquee_worker_provider_last_success_timestamp_seconds{provider="alpha"})";
    const std::string beta_ok = R"(marquee_worker_provider_runs_total{provider="beta",status="succeeded"})";
    const std::string beta_failed = R"(marquee_worker_provider_runs_total{provider="beta",status="failed"})";

    auto before_success = std::floor(unix_now());
    mt::publish_job(vh, "alpha", mt::slot(10));
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::metric_sample(scrape(), alpha_ok) == 1; }, 60s, "alpha's success counted"));
    auto body = scrape();
    EXPECT_EQ(mt::metric_sample(body, alpha_failed), 0) << body;
    auto last = mt::metric_sample(body, alpha_last);
    ASSERT_TRUE(last) << body;
    EXPECT_GE(*last, before_success) << body;
    EXPECT_LE(*last, unix_now()) << body;
    EXPECT_FALSE(mt::metric_sample(body, beta_ok)) << "beta has had no job: " << body;

    // beta's feed fails (one attempt, then the dead-letter queue): beta counts a failure, alpha's
    // series stay as they were.
    ASSERT_TRUE(mock.control("/_control/fault?kind=status&value=503&count=0"));
    mt::publish_job(vh, "beta", mt::slot(10));
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::metric_sample(scrape(), beta_failed) == 1; }, 60s, "beta's failure counted"));
    body = scrape();
    EXPECT_EQ(mt::metric_sample(body, beta_ok), 0) << body;
    EXPECT_EQ(mt::metric_sample(body, R"(marquee_worker_provider_last_success_timestamp_seconds{provider="beta"})"), 0)
        << "0 until a provider's first success: " << body;
    EXPECT_EQ(mt::metric_sample(body, alpha_ok), 1) << body;
    EXPECT_EQ(mt::metric_sample(body, alpha_failed), 0) << body;
    EXPECT_EQ(mt::metric_sample(body, alpha_last), last) << body;
    EXPECT_EQ(mt::metric_sample(body, R"(marquee_worker_runs_total{status="failed"})"), 1) << body;
    EXPECT_EQ(mt::metric_sample(body, "marquee_worker_dead_lettered_total"), 1) << body;
}

TEST(deploy_metrics, scheduler_reports_fetch_queue_depth_and_consumers) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto metrics_port = mt::free_port();
    // The current slot fires at start; no worker runs, so its job waits in the jobs queue.
    mt::process scheduler("marquee-scheduler", {},
                          {{"DATABASE_URL", db.url()},
                           {"AMQP_URL", vh.url()},
                           {"PROVIDER_URL", "http://127.0.0.1:9/feed"},
                           {"PROVIDER_SCHEDULE", "0 0 1 1 *"},
                           {"METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port)}});
    auto scrape = [&] { return mt::http_get("127.0.0.1", metrics_port, "/metrics").body; };
    auto series = [](const char* family, std::string_view queue) {
        return fmt::format(R"({}{{queue="{}"}})", family, queue);
    };
    auto jobs_messages = series("marquee_scheduler_queue_messages", amqp::topology::jobs_queue);
    auto jobs_consumers = series("marquee_scheduler_queue_consumers", amqp::topology::jobs_queue);
    auto dead_messages = series("marquee_scheduler_queue_messages", amqp::topology::dead_queue);
    auto retry_messages = series("marquee_scheduler_queue_messages", amqp::topology::retry_queue);

    ASSERT_TRUE(
        mt::wait_until([&] { return mt::metric_sample(scrape(), jobs_messages) == 1; }, 60s, "one job waiting"));
    auto body = scrape();
    EXPECT_EQ(mt::metric_sample(body, jobs_consumers), 0) << body;
    EXPECT_EQ(mt::metric_sample(body, dead_messages), 0) << body;
    EXPECT_EQ(mt::metric_sample(body, retry_messages), 0) << body;
    EXPECT_EQ(mt::metric_sample(body, "marquee_scheduler_queue_probe_failures_total"), 0) << body;

    {
        amqp::publisher publisher(broker(vh), amqp::topology::declare);
        publisher.publish(amqp::topology::dead_letter_exchange, "", "{}", {});
    }
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::metric_sample(scrape(), dead_messages) == 1; }, 60s, "one dead letter"));

    // A consumer holding the job: nothing ready any more, one consumer.
    amqp::consumer consumer(broker(vh), {}, amqp::topology::declare);
    auto delivery = consumer.next(30s);
    ASSERT_TRUE(delivery);
    ASSERT_TRUE(mt::wait_until(
        [&] {
            auto b = scrape();
            return mt::metric_sample(b, jobs_messages) == 0 && mt::metric_sample(b, jobs_consumers) == 1;
        },
        60s, "the job taken by one consumer"));

    // A queue gone: the probe fails, and every depth is unknown rather than stale.
    auto deleted = mt::rabbitmqctl({"delete_queue", "-p", vh.name(), std::string(amqp::topology::dead_queue)});
    ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
    ASSERT_TRUE(mt::wait_until(
        [&] { return mt::metric_sample(scrape(), "marquee_scheduler_queue_probe_failures_total").value_or(0) >= 1; },
        60s, "a failed probe counted"));
    body = scrape();
    EXPECT_TRUE(std::isnan(mt::metric_sample(body, jobs_messages).value_or(0))) << body;
    EXPECT_TRUE(std::isnan(mt::metric_sample(body, dead_messages).value_or(0))) << body;
}

}  // namespace
