// kill -9 of a worker in the middle of an ingestion transaction: the previous committed state stays,
// RabbitMQ redelivers the unacknowledged job, and the final state equals that of a clean run.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

// Big enough that the ingestion transaction lasts long enough to be caught in the act.
std::filesystem::path generate_feed_dir(const std::string& name, const std::string& seed) {
    auto dir = mt::log_dir() / name;
    std::filesystem::create_directories(dir);
    auto feed = dir / "big.xml";
    mt::process generator("bench-generate-feed", {"--events", "3000", "--zones", "120", "--seed", seed});
    EXPECT_EQ(generator.wait_exit(120s), 0);
    std::filesystem::copy_file(generator.log_path(), feed, std::filesystem::copy_options::overwrite_existing);
    return dir;
}

}  // namespace

TEST(crash, kill9_mid_ingestion_then_redelivery_equals_a_clean_run) {
    auto feed_dir = generate_feed_dir("crash-feed", "7");
    auto mock_port = mt::free_port();
    mt::process mock("marquee-provider-mock",
                     {"--listen", "127.0.0.1:" + std::to_string(mock_port), "--dir", feed_dir.string()});
    ASSERT_TRUE(mt::wait_until([&] { return mt::http_get("127.0.0.1", mock_port, "/_control/stats").status == 200; },
                               30s, "mock up"));
    auto db = mt::fresh_database();
    auto vhost = mt::fresh_vhost();
    std::map<std::string, std::string> env{
        {"DATABASE_URL", db.url()},
        {"AMQP_URL", vhost.url()},
        {"PROVIDER_URL", "http://127.0.0.1:" + std::to_string(mock_port) + "/api/events"}};
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
