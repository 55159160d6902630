// Coalescing with the real worker: a job whose provider already has a succeeded run for its slot or
// a later one (a backlog, a retry that comes back late, a redelivery after a lost ack) is
// acknowledged without fetching and without a run row.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
using namespace std::chrono_literals;

namespace {

using mt::slot;

class coalescing : public ::testing::Test {
protected:
    void SetUp() override {
        mt::execute(db_.url(), fmt::format("INSERT INTO providers (name, url) VALUES ('default', '{}')", mock_.url()));
        worker_ = std::make_unique<mt::process>(
            "marquee-worker", std::vector<std::string>{"--threads", "1"},
            std::map<std::string, std::string>{{"DATABASE_URL", db_.url()}, {"AMQP_URL", vhost_.url()}});
    }

    std::string publish(const marquee::jobs::fetch_job& job) { return mt::publish_job(vhost_, job); }

    std::string count(const std::string& where) const {
        return mt::query_scalar(db_.url(), "SELECT count(*) FROM ingestion_runs WHERE " + where).value_or("");
    }

    std::int64_t feed_requests() const { return mock_.stat("requests"); }

    // Nothing waiting and nothing in hand in the jobs queue.
    bool jobs_queue_empty() const { return mt::queue_depth(vhost_, amqp::topology::jobs_queue) == 0; }

    bool skipped(const std::string& job_id) const {
        return worker_->log_text().find("job " + job_id + " skipped") != std::string::npos;
    }

    mt::database db_ = mt::fresh_database();
    mt::vhost vhost_ = mt::fresh_vhost();
    mt::provider_mock mock_;
    std::unique_ptr<mt::process> worker_;
};

TEST_F(coalescing, an_older_slot_after_a_newer_success_is_acked_without_a_run) {
    auto newer = publish(marquee::jobs::make_fetch_job("default", slot(5)));
    ASSERT_TRUE(mt::wait_until([&] { return count("job_id = '" + newer + "' AND status = 'succeeded'") == "1"; }, 60s,
                               "the newer slot's run succeeded"));
    const auto requests = feed_requests();

    auto older = publish(marquee::jobs::make_fetch_job("default", slot(0)));
    ASSERT_TRUE(mt::wait_until([&] { return skipped(older); }, 30s, "the older job skipped"));
    ASSERT_TRUE(mt::wait_until([&] { return jobs_queue_empty(); }, 30s, "the older job acknowledged"));
    EXPECT_EQ(count("job_id = '" + older + "'"), "0") << "no run row for a skipped job";
    EXPECT_EQ(count("true"), "1");
    EXPECT_EQ(feed_requests(), requests) << "a skipped job fetches nothing";

    // A retry of an older slot (as the retry queue hands it back, attempt 2) is skipped the same way.
    auto late_retry = marquee::jobs::make_fetch_job("default", slot(4));
    late_retry.attempt = 2;
    publish(late_retry);
    ASSERT_TRUE(mt::wait_until([&] { return skipped(late_retry.job_id); }, 30s, "the late retry skipped"));
    ASSERT_TRUE(mt::wait_until([&] { return jobs_queue_empty(); }, 30s, "the late retry acknowledged"));
    EXPECT_EQ(count("true"), "1");
    EXPECT_EQ(feed_requests(), requests);

    // The same job again (a redelivery after the ack was lost with the connection): no second run.
    auto again = marquee::jobs::make_fetch_job("default", slot(5));
    again.job_id = newer;
    publish(again);
    ASSERT_TRUE(mt::wait_until([&] { return jobs_queue_empty() && count("true") == "1"; }, 30s,
                               "the redelivered job acknowledged"));
    ASSERT_TRUE(
        mt::wait_until([&] { return worker_->log_text().find("for this slot or a later one") != std::string::npos; },
                       30s, "the redelivered job skipped"));
    EXPECT_EQ(count("true"), "1") << "a slot that succeeded is not ingested twice";
    EXPECT_EQ(feed_requests(), requests);

    // Skipping does not get in the way of the next slot.
    auto next = publish(marquee::jobs::make_fetch_job("default", slot(10)));
    ASSERT_TRUE(mt::wait_until([&] { return count("job_id = '" + next + "' AND status = 'succeeded'") == "1"; }, 60s,
                               "the next slot's run succeeded"));
    EXPECT_EQ(count("true"), "2");
    EXPECT_EQ(feed_requests(), requests + 1);
}

}  // namespace
