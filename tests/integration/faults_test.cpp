// Provider faults injected through the mock, against the real worker: transient failures are
// retried through the retry queue and then succeed or are dead-lettered, permanent ones fail at once
// with the reason recorded, and no failed fetch changes what is stored.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "marquee/amqp/consumer.hpp"
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

constexpr int max_attempts = 3;
constexpr int fetch_timeout_ms = 2000;
constexpr int max_feed_bytes = 64 * 1024;

// What the stored events leave behind, independent of timestamps and run ids (as in crash_test).
std::string state_of(const std::string& db_url) {
    return mt::query_scalar(
               db_url,
               "SELECT md5(string_agg(id::text || title || sell_mode || start_local::text || end_local::text "
               "|| coalesce(min_price::text, '') || coalesce(max_price::text, '') || content_hash::text || "
               "ever_online::text, ',' ORDER BY id)) || ':' || (SELECT md5(string_agg(event::text || position "
               "|| zone_id || price::text || coalesce(capacity::text, ''), ',' ORDER BY event, position)) "
               "FROM zones) || ':' || (SELECT count(*) FROM event_history) || ':' || (SELECT version FROM "
               "data_version) FROM events")
        .value_or("empty");
}

class faults : public ::testing::Test {
protected:
    void SetUp() override {
        // One sample only: every fetch that succeeds serves the same feed, so the stored state after
        // a fault and after the recovery must equal the state after the first run.
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        feed_dir_ = mt::log_dir() / fmt::format("{}.{}.feeds", test->test_suite_name(), test->name());
        std::filesystem::create_directories(feed_dir_);
        std::filesystem::copy_file(mt::source_dir() / "fixtures/provider-samples/response_1.xml",
                                   feed_dir_ / "response_1.xml", std::filesystem::copy_options::overwrite_existing);
        mock_port_ = mt::free_port();
        mock_ = std::make_unique<mt::process>(
            "marquee-provider-mock", std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(mock_port_),
                                                              "--dir", feed_dir_.string()});
        ASSERT_TRUE(mt::wait_until([&] { return control("/_control/stats"); }, 30s, "provider mock up"));

        mt::execute(db_.url(), fmt::format("INSERT INTO providers (name, url, fetch_timeout_ms, max_feed_bytes) "
                                           "VALUES ('default', 'http://127.0.0.1:{}/api/events', {}, {})",
                                           mock_port_, fetch_timeout_ms, max_feed_bytes));

        worker_ = std::make_unique<mt::process>("marquee-worker", std::vector<std::string>{"--threads", "1"},
                                                std::map<std::string, std::string>{
                                                    {"DATABASE_URL", db_.url()},
                                                    {"AMQP_URL", vhost_.url()},
                                                    {"WORKER_FIRST_RETRY_MS", "200"},
                                                    {"WORKER_MAX_ATTEMPTS", std::to_string(max_attempts)},
                                                });
        auto first = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(first) == "succeeded"; }, 60s, "first ingestion"));
        baseline_ = state_of(db_.url());
        ASSERT_NE(baseline_, "empty");
        ASSERT_EQ(mt::query_scalar(db_.url(), "SELECT count(*) FROM events"), "3");
    }

    // Publishes a first attempt for a slot later than every earlier one (so coalescing never skips
    // it); returns its job id.
    std::string publish() {
        amqp::publisher publisher({.server = marquee::config::parse_amqp_url(vhost_.url())}, amqp::topology::declare);
        auto slot = std::chrono::sys_days{std::chrono::year{2024} / 3 / 10} + std::chrono::minutes{++slots_};
        auto job = marquee::jobs::make_fetch_job("default", std::chrono::floor<std::chrono::seconds>(slot));
        publisher.publish(amqp::topology::exchange, amqp::topology::jobs_routing_key, marquee::jobs::to_json(job),
                          {.expiration = std::nullopt, .message_id = job.job_id});
        return job.job_id;
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

    bool control(const std::string& target) const {
        return mt::http_get("127.0.0.1", mock_port_, target).status == 200;
    }

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
        EXPECT_EQ(state_of(db_.url()), baseline_);
        expect_recovery();
    }

    // A fault armed for one request: the first attempt fails, the retry succeeds.
    void expect_retried_success(const std::string& fault, const std::string& reason) {
        ASSERT_TRUE(control("/_control/fault?" + fault + "&count=1"));
        auto job = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "failed,succeeded"; }, 30s, "failed, then retried"));
        EXPECT_NE(first_error_of(job).find(reason), std::string::npos) << first_error_of(job);
        EXPECT_NE(worker_->log_text().find("job " + job + " for provider default (slot"), std::string::npos);
        EXPECT_EQ(state_of(db_.url()), baseline_);
        ASSERT_TRUE(mt::wait_until([&] { return queues_empty(); }, 30s, "the job acknowledged"));
        expect_recovery();
    }

    // With the mock back to normal, the next job succeeds and the data is still what it was.
    void expect_recovery() {
        ASSERT_TRUE(control("/_control/reset"));
        auto job = publish();
        ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "succeeded"; }, 30s, "recovery run"));
        EXPECT_EQ(state_of(db_.url()), baseline_);
    }

    mt::database db_ = mt::fresh_database();
    mt::vhost vhost_ = mt::fresh_vhost();
    std::filesystem::path feed_dir_;
    std::uint16_t mock_port_ = 0;
    std::unique_ptr<mt::process> mock_;
    std::unique_ptr<mt::process> worker_;
    std::string baseline_;
    int slots_ = 0;
};

TEST_F(faults, timeout_is_retried_then_succeeds) {
    expect_retried_success(fmt::format("kind=delay&value={}", 2 * fetch_timeout_ms), "timed out");
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
    EXPECT_EQ(state_of(db_.url()), baseline_);
    expect_recovery();
}

}  // namespace
