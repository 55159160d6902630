// Provider faults injected through the mock, against the real worker: transient failures are
// retried through the retry queue and then succeed or are dead-lettered, permanent ones fail at once
// with the reason recorded, and no failed fetch changes what is stored.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/amqp/consumer.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
using namespace std::chrono_literals;

namespace {

constexpr int max_attempts = 3;
constexpr int fetch_timeout_ms = 2000;
constexpr int max_feed_bytes = 64 * 1024;

class faults : public ::testing::Test {
protected:
    void SetUp() override {
        // One sample only: every fetch that succeeds serves the same feed, so the stored state after
        // a fault and after the recovery must equal the state after the first run.
        feed_dir_ = mt::test_dir("feeds");
        std::filesystem::copy_file(mt::provider_samples() / "response_1.xml", feed_dir_ / "response_1.xml");
        mock_ = std::make_unique<mt::provider_mock>(feed_dir_);

        mt::execute(db_.url(), fmt::format("INSERT INTO providers (name, url, fetch_timeout_ms, max_feed_bytes) "
                                           "VALUES ('default', '{}', {}, {})",
                                           mock_->url(), fetch_timeout_ms, max_feed_bytes));

        worker_ = std::make_unique<mt::process>("marquee-worker", std::vector<std::string>{"--threads", "1"},
                                                std::map<std::string, std::string>{
                                                    {"DATABASE_URL", db_.url()},
                                                    {"AMQP_URL", vhost_.url()},
                                                    {"WORKER_FIRST_RETRY_MS", "200"},
                                                    {"WORKER_MAX_ATTEMPTS", std::to_string(max_attempts)},
                                                });
        auto first = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(first) == "succeeded"; }, 60s, "first ingestion"));
        baseline_ = state();
        ASSERT_FALSE(baseline_.starts_with("empty"));
        ASSERT_EQ(mt::query_scalar(db_.url(), "SELECT count(*) FROM events"), "3");
    }

    // Publishes a first attempt for a slot later than every earlier one (so coalescing never skips
    // it); returns its job id.
    std::string publish() { return mt::publish_job(vhost_, "default", mt::slot(++slots_)); }

    // What the stored events leave behind, and the data version readers refresh on: a failed
    // fetch changes neither.
    std::string state() const {
        return mt::database_fingerprint(db_.url()) + ":" +
               mt::query_scalar(db_.url(), "SELECT version FROM data_version").value_or("");
    }

    // The statuses of the job's runs in order, e.g. "failed,succeeded".
    std::string runs_of(const std::string& job_id) const {
        return mt::query_scalar(db_.url(),
                                "SELECT string_agg(status, ',' ORDER BY id) FROM ingestion_runs "
                                "WHERE job_id = '" +
                                    job_id + "'")
            .value_or("");
    }

    std::string first_error_of(const std::string& job_id) const {
        return mt::query_scalar(db_.url(),
                                "SELECT error FROM ingestion_runs WHERE job_id = '" + job_id + "' ORDER BY id LIMIT 1")
            .value_or("");
    }

    bool control(const std::string& target) const { return mock_->control(target); }

    // Every queue of the vhost empty: no job waits, is in hand, or waits out a retry delay.
    bool queues_empty() const {
        auto depths = mt::queue_depths(vhost_);
        if (!depths.contains(std::string(amqp::topology::jobs_queue))) return false;
        for (const auto& [name, count] : depths)
            if (count != 0) return false;
        return true;
    }

    // A fault that fails the job once, for good: one failed run, acknowledged, never retried.
    void expect_permanent_failure(const std::string& fault, const std::string& reason) {
        ASSERT_TRUE(control("/_control/fault?" + fault));
        auto job = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "failed"; }, 30s, "failed run"));
        EXPECT_NE(first_error_of(job).find(reason), std::string::npos) << first_error_of(job);
        ASSERT_TRUE(mt::wait_until([&] { return queues_empty(); }, 30s, "the job acknowledged"));
        EXPECT_EQ(runs_of(job), "failed") << "a permanent failure is not retried";
        EXPECT_EQ(worker_->log_text().find("job " + job + " for provider default failed (attempt"), std::string::npos)
            << "no retry was scheduled";
        EXPECT_EQ(state(), baseline_);
        expect_recovery();
    }

    // A fault armed for one request: the first attempt fails, the retry succeeds.
    void expect_retried_success(const std::string& fault, const std::string& reason) {
        ASSERT_TRUE(control("/_control/fault?" + fault + "&count=1"));
        expect_one_failure_then_success(reason);
    }

    // With one failure armed however: the first attempt fails for `reason`, the retry succeeds.
    void expect_one_failure_then_success(const std::string& reason) {
        auto job = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "failed,succeeded"; }, 30s, "failed, then retried"));
        EXPECT_NE(first_error_of(job).find(reason), std::string::npos) << first_error_of(job);
        EXPECT_NE(worker_->log_text().find("job " + job + " for provider default (slot"), std::string::npos);
        EXPECT_EQ(state(), baseline_);
        ASSERT_TRUE(mt::wait_until([&] { return queues_empty(); }, 30s, "the job acknowledged"));
        expect_recovery();
    }

    // With the mock back to normal, the next job succeeds and the data is still what it was.
    void expect_recovery() {
        ASSERT_TRUE(control("/_control/reset"));
        auto job = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "succeeded"; }, 30s, "recovery run"));
        EXPECT_EQ(state(), baseline_);
    }

    mt::database db_ = mt::fresh_database();
    mt::vhost vhost_ = mt::fresh_vhost();
    std::filesystem::path feed_dir_;
    std::unique_ptr<mt::provider_mock> mock_;
    std::unique_ptr<mt::process> worker_;
    std::string baseline_;
    int slots_ = 0;
};

TEST_F(faults, timeout_is_retried_then_succeeds) {
    // The first attempt's reply is held back until the test lets it go, which it never does before
    // the worker's fetch deadline has passed: a timeout on any machine, however slow. The retry is
    // answered at once; the reset in expect_recovery lets the held reply go.
    ASSERT_TRUE(mock_->hold(1));
    expect_one_failure_then_success("timed out");
}

TEST_F(faults, server_error_is_retried_then_succeeds) {
    expect_retried_success("kind=status&value=500", "HTTP 500");
}

TEST_F(faults, too_many_requests_is_retried_then_succeeds) {
    expect_retried_success("kind=status&value=429", "HTTP 429");
}

TEST_F(faults, truncated_body_is_retried_then_succeeds) {
    expect_retried_success("kind=truncate", "fetch failed");
}

TEST_F(faults, not_found_fails_at_once) {
    expect_permanent_failure("kind=status&value=404", "404");
}

TEST_F(faults, html_instead_of_xml_fails_at_once) {
    expect_permanent_failure("kind=html", "malformed feed");
}

TEST_F(faults, empty_body_fails_at_once) {
    expect_permanent_failure("kind=empty", "malformed feed");
}

TEST_F(faults, garbage_body_fails_at_once) {
    expect_permanent_failure("kind=garbage", "malformed feed");
}

TEST_F(faults, oversize_body_fails_at_once) {
    expect_permanent_failure(fmt::format("kind=oversize&value={}", 4 * max_feed_bytes), "byte limit");
}

TEST_F(faults, persistent_server_error_is_dead_lettered_after_max_attempts) {
    ASSERT_TRUE(control("/_control/fault?kind=status&value=500&count=0"));
    auto job = publish();
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "failed,failed,failed"; }, 30s, "every attempt failed"));

    amqp::consumer dead({.server = marquee::config::parse_amqp_url(vhost_.url())},
                        {.queue = std::string(amqp::topology::dead_queue), .prefetch = 1}, amqp::topology::declare);
    std::optional<amqp::delivery> letter;
    ASSERT_TRUE(mt::wait_until([&] { return (letter = dead.next(500ms)).has_value(); }, 30s, "dead letter"));
    auto parsed = marquee::jobs::parse_fetch_job(letter->body);
    ASSERT_TRUE(std::holds_alternative<marquee::jobs::fetch_job>(parsed)) << letter->body;
    EXPECT_EQ(std::get<marquee::jobs::fetch_job>(parsed).job_id, job);
    EXPECT_EQ(std::get<marquee::jobs::fetch_job>(parsed).attempt, max_attempts);
    dead.ack(letter->delivery_tag);

    ASSERT_TRUE(mt::wait_until([&] { return queues_empty(); }, 30s, "nothing left to retry"));
    EXPECT_EQ(runs_of(job), "failed,failed,failed") << "no attempt after the last";
    EXPECT_EQ(state(), baseline_);
    expect_recovery();
}

}  // namespace
