// kill -9 of a worker in the middle of an ingestion transaction (the previous committed state stays,
// RabbitMQ redelivers the unacknowledged job, and the final state equals that of a clean run) and
// after its commit but before its ack (the redelivery changes nothing).
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"

#include <gtest/gtest.h>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

// Big enough that the ingestion transaction lasts long enough to be caught in the act.
std::filesystem::path generate_feed_dir(const std::string& seed) {
    auto dir = mt::test_dir("feeds");
    mt::process generator("bench-generate-feed", {"--events", "3000", "--zones", "120", "--seed", seed});
    EXPECT_EQ(generator.wait_exit(120s), 0);
    std::filesystem::copy_file(generator.log_path(), dir / "big.xml");
    return dir;
}

}  // namespace

TEST(crash, kill9_mid_ingestion_then_redelivery_equals_a_clean_run) {
    auto feed_dir = generate_feed_dir("7");
    mt::provider_mock mock(feed_dir);
    auto db = mt::fresh_database();
    auto vhost = mt::fresh_vhost();
    std::map<std::string, std::string> env{
        {"DATABASE_URL", db.url()}, {"AMQP_URL", vhost.url()}, {"PROVIDER_URL", mock.url()}};
    mt::process scheduler("marquee-scheduler", {"--once"}, env);
    ASSERT_EQ(scheduler.wait_exit(60s), 0) << scheduler.log_text();

    {
        mt::process victim("marquee-worker", {"--threads", "1", "--batch-kib", "64"}, env);
        // Caught inside the transaction: staging rows are being copied, nothing is committed yet.
        ASSERT_TRUE(mt::wait_until(
            [&] {
                return mt::query_scalar(
                           db.url(),
                           "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'marquee-worker' "
                           "AND query LIKE 'COPY %' AND xact_start IS NOT NULL") != "0";
            },
            60s, "worker inside its ingestion transaction"));
        victim.kill9();
    }
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM events"), "0") << "nothing half-written is visible";
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT status FROM ingestion_runs"), "running");

    mt::process survivor("marquee-worker", {"--threads", "2"}, env);
    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::query_scalar(db.url(), "SELECT count(*) FROM ingestion_runs WHERE status = 'succeeded'") == "1";
        },
        120s, "redelivered job succeeded"));
    EXPECT_EQ(mt::query_scalar(db.url(),
                               "SELECT string_agg(status || coalesce(':' || left(error, 9), ''), ',' ORDER BY id) "
                               "FROM ingestion_runs"),
              "failed:abandoned,succeeded");
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(DISTINCT job_id) FROM ingestion_runs"), "1")
        << "the same job, redelivered";

    // The reference: the same feed ingested once, cleanly, into another database.
    auto clean = mt::fresh_database();
    mt::process reference("marquee-worker", {"ingest", (feed_dir / "big.xml").string()},
                          {{"DATABASE_URL", clean.url()}});
    ASSERT_EQ(reference.wait_exit(120s), 0) << reference.log_text();
    EXPECT_EQ(mt::database_fingerprint(db.url()), mt::database_fingerprint(clean.url()));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM events"), "3000");
}

// A worker that dies after its ingestion committed but before RabbitMQ saw the ack: the job comes
// back, and handling it again changes nothing. The ack is provably never delivered: the worker's
// connection is closed by the broker while the feed's reply is held (the job in hand goes back to
// the queue then), and the worker is killed once its commit is visible. The redelivery is handled
// by whichever worker gets it first: the victim itself when it reconnected before the kill, or the
// survivor.
TEST(crash, kill9_after_the_commit_before_the_ack_then_redelivery_changes_nothing) {
    auto feeds = mt::test_dir("feeds");
    std::filesystem::copy_file(mt::provider_samples() / "response_1.xml", feeds / "response_1.xml");
    mt::provider_mock mock(feeds);
    auto db = mt::fresh_database();
    auto vhost = mt::fresh_vhost();
    mt::execute(db.url(), "INSERT INTO providers (name, url) VALUES ('default', '" + mock.url() + "')");
    std::map<std::string, std::string> env{{"DATABASE_URL", db.url()}, {"AMQP_URL", vhost.url()}};
    const auto runs = [&] {
        return mt::query_scalar(db.url(), "SELECT string_agg(status, ',' ORDER BY id) FROM ingestion_runs")
            .value_or("");
    };
    const auto state = [&] {
        return mt::database_fingerprint(db.url()) + ":" +
               mt::query_scalar(db.url(), "SELECT version FROM data_version").value_or("");
    };

    ASSERT_TRUE(mock.hold(1));
    auto job = mt::publish_job(vhost, "default", mt::slot(0));
    std::string committed;
    std::string victim_log;
    {
        mt::process victim("marquee-worker", {"--threads", "1", "--concurrency", "1"}, env);
        ASSERT_TRUE(mock.wait_held(1));
        auto closed = mt::rabbitmqctl({"close_all_connections", "--vhost", vhost.name(), "test: ack lost"});
        ASSERT_EQ(closed.exit_code, 0) << closed.output;
        ASSERT_TRUE(mt::wait_until([&] { return mt::ready_messages(vhost, "marquee.fetch.jobs") == 1; }, 60s,
                                   "the unacknowledged job back in the queue"));
        ASSERT_TRUE(mock.release());
        ASSERT_TRUE(mt::wait_until([&] { return runs().starts_with("succeeded"); }, 60s, "the ingestion committed"));
        victim.kill9();
        victim_log = victim.log_text();
        committed = state();
    }
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM events"), "3");

    mt::process survivor("marquee-worker", {"--threads", "1"}, env);
    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::ready_messages(vhost, "marquee.fetch.jobs") == 0 &&
                   runs().find("running") == std::string::npos && mt::queue_depth(vhost, "marquee.fetch.jobs") == 0;
        },
        120s, "the redelivered job handled and acknowledged, no run left running"));
    const auto redelivered = "job " + job + " for provider default (slot 2024-03-10T12:00:00Z, attempt 1) redelivered";
    EXPECT_TRUE(victim_log.find(redelivered) != std::string::npos ||
                survivor.log_text().find(redelivered) != std::string::npos)
        << "the job came back";
    EXPECT_EQ(state(), committed) << "the redelivery changed nothing stored";
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM event_history"), "3") << "no history twice";
    // Skipped (no run) or ingested again, unchanged; a run the kill cut short is marked abandoned.
    const auto after = runs();
    EXPECT_TRUE(after.starts_with("succeeded") && after.ends_with("succeeded")) << after;
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(DISTINCT job_id) FROM ingestion_runs"), "1");
    EXPECT_EQ(mt::query_scalar(db.url(),
                               "SELECT coalesce(sum(events_changed), 0) FROM ingestion_runs WHERE id > "
                               "(SELECT min(id) FROM ingestion_runs)"),
              "0")
        << "no later run wrote anything";
    EXPECT_EQ(mt::ready_messages(vhost, "marquee.fetch.dead"), 0);
    EXPECT_EQ(mt::ready_messages(vhost, "marquee.fetch.retry"), 0);
}
