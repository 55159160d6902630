// The worker's Prometheus metrics (--metrics-listen) after a success, a dead-lettered job and a
// skipped one.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

std::string publish(const mt::vhost& vh, int minute) {
    return mt::publish_job(vh, "default", mt::slot(minute));
}

TEST(worker_metrics, count_runs_retries_dead_letters_and_events) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    mt::provider_mock mock;
    mt::execute(db.url(), fmt::format("INSERT INTO providers (name, url) VALUES ('default', '{}')", mock.url()));
    auto metrics_port = mt::free_port();
    mt::process worker("marquee-worker", {"--threads", "1"},
                       {{"DATABASE_URL", db.url()},
                        {"AMQP_URL", vh.url()},
                        {"WORKER_FIRST_RETRY_MS", "200"},
                        {"WORKER_MAX_ATTEMPTS", "2"},
                        {"METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port)}});
    auto scrape = [&] { return mt::http_get("127.0.0.1", metrics_port, "/metrics"); };
    ASSERT_TRUE(mt::wait_until([&] { return scrape().status == 200; }, 30s, "metrics served"));
    auto idle = scrape();
    EXPECT_EQ(idle.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(mt::metric_sample(idle.body, R"(marquee_worker_runs_total{status="succeeded"})"), 0);
    EXPECT_NE(idle.body.find("# TYPE marquee_worker_run_duration_seconds histogram"), std::string::npos) << idle.body;

    // One success, one job that fails both attempts (a retry, then the dead-letter queue), one job
    // for an older slot than the success (skipped).
    auto succeeded = publish(vh, 10);
    ASSERT_TRUE(mt::wait_until(
        [&] { return mt::metric_sample(scrape().body, R"(marquee_worker_runs_total{status="succeeded"})") == 1; }, 60s,
        "a success counted"));
    ASSERT_TRUE(mock.control("/_control/fault?kind=status&value=503&count=0"));
    publish(vh, 20);
    ASSERT_TRUE(
        mt::wait_until([&] { return mt::metric_sample(scrape().body, "marquee_worker_dead_lettered_total") == 1; }, 60s,
                       "a dead letter counted"));
    ASSERT_TRUE(mock.control("/_control/reset"));
    publish(vh, 0);
    ASSERT_TRUE(mt::wait_until(
        [&] { return mt::metric_sample(scrape().body, R"(marquee_worker_runs_total{status="skipped"})") == 1; }, 60s,
        "a skip counted"));

    auto body = scrape().body;
    EXPECT_EQ(mt::metric_sample(body, R"(marquee_worker_runs_total{status="succeeded"})"), 1) << body;
    EXPECT_EQ(mt::metric_sample(body, R"(marquee_worker_runs_total{status="failed"})"), 2) << body;
    EXPECT_EQ(mt::metric_sample(body, "marquee_worker_retries_total"), 1) << body;
    EXPECT_EQ(mt::metric_sample(body, "marquee_worker_dead_lettered_total"), 1) << body;
    auto written =
        mt::query_scalar(db.url(), "SELECT events_changed FROM ingestion_runs WHERE job_id = '" + succeeded + "'");
    ASSERT_TRUE(written);
    EXPECT_NE(*written, "0");
    EXPECT_EQ(mt::metric_sample(body, "marquee_worker_events_written_total"), std::stod(*written)) << body;
    EXPECT_EQ(mt::metric_sample(body, "marquee_worker_run_duration_seconds_count"), 4) << "every job handled: " << body;
    EXPECT_EQ(mt::metric_sample(body, R"(marquee_worker_run_duration_seconds_bucket{le="+Inf"})"), 4) << body;
    EXPECT_GT(mt::metric_sample(body, "marquee_worker_run_duration_seconds_sum").value_or(0), 0) << body;

    EXPECT_EQ(mt::http_get("127.0.0.1", metrics_port, "/").status, 404u);
    EXPECT_EQ(mt::http_get("127.0.0.1", metrics_port, "/metrics/x").status, 404u);
    EXPECT_EQ(mt::http_get("127.0.0.1", metrics_port, "/metrics?format=text").status, 200u);

    worker.terminate();
    EXPECT_EQ(worker.wait_exit(30s), 0) << "the exporter does not keep the worker from stopping";
}

}  // namespace
