// One bad value never stops a provider or a worker: poison jobs, data PostgreSQL refuses, and
// PostgreSQL breaking in the middle of an ingestion, against real workers, RabbitMQ and PostgreSQL.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/amqp/topology.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
using namespace std::chrono_literals;

namespace {

// A worker's log holds no sanitizer report and no sign that it died.
void expect_no_memory_errors(const mt::process& worker) {
    auto log = worker.log_text();
    EXPECT_EQ(log.find("AddressSanitizer"), std::string::npos) << log;
    EXPECT_EQ(log.find("runtime error:"), std::string::npos) << log;
    EXPECT_EQ(log.find("consumer stopped"), std::string::npos) << log;
}

class worker_resilience : public ::testing::Test {
protected:
    std::map<std::string, std::string> worker_env() const {
        return {
            {"DATABASE_URL", db_.url()},
            {"AMQP_URL", vhost_.url()},
            {"WORKER_FIRST_RETRY_MS", "100"},
            {"WORKER_MAX_ATTEMPTS", "2"},
        };
    }

    void publish_raw(const std::string& body) { mt::publish_raw_job(vhost_, body); }

    std::string publish(const std::string& provider) { return mt::publish_job(vhost_, provider, mt::slot(++slots_)); }

    std::string runs_of(const std::string& job_id) const {
        return mt::query_scalar(db_.url(),
                                "SELECT string_agg(status, ',' ORDER BY id) FROM ingestion_runs "
                                "WHERE job_id = '" +
                                    job_id + "'")
            .value_or("");
    }

    std::string errors_of(const std::string& job_id) const {
        return mt::query_scalar(db_.url(),
                                "SELECT string_agg(coalesce(error, ''), ' | ' ORDER BY id) FROM "
                                "ingestion_runs WHERE job_id = '" +
                                    job_id + "'")
            .value_or("");
    }

    long depth(std::string_view queue) const { return mt::queue_depth(vhost_, queue); }

    mt::database db_ = mt::fresh_database();
    mt::vhost vhost_ = mt::fresh_vhost();
    int slots_ = 0;
};

}  // namespace

TEST_F(worker_resilience, poison_jobs_never_stop_a_worker) {
    auto feeds = mt::test_dir("feeds");
    std::filesystem::copy_file(mt::provider_samples() / "response_1.xml", feeds / "feed.xml");
    mt::provider_mock good(feeds);
    // 'mars' has a time zone this host does not know (the table has no CHECK for it): the worker
    // used to let that exception out of the job and die, and the next worker with it.
    mt::execute(db_.url(), fmt::format("INSERT INTO providers (name, url, enabled, time_zone) VALUES "
                                       "('default', '{0}', true, 'UTC'), ('off', '{0}', false, 'UTC'), "
                                       "('mars', '{0}', true, 'Mars/Olympus')",
                                       good.url()));
    mt::process first("marquee-worker", {"--threads", "1", "--concurrency", "2"}, worker_env());
    mt::process second("marquee-worker", {"--threads", "1", "--concurrency", "2"}, worker_env());

    publish_raw("this is not JSON");
    publish_raw(R"({"job_id":")" + std::string(4 << 20, 'x') + R"(","provider":"default"})");
    auto ghost = publish("ghost");
    auto off = publish("off");
    auto mars = publish("mars");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(mars) == "failed"; }, 60s, "the invalid time zone's run"));
    EXPECT_NE(errors_of(mars).find("Mars/Olympus"), std::string::npos) << errors_of(mars);
    // The two unreadable messages end in the dead-letter queue.
    ASSERT_TRUE(mt::wait_until([&] { return depth(amqp::topology::dead_queue) == 2; }, 60s, "two dead letters"));

    auto after = publish("default");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(after) == "succeeded"; }, 60s, "a good job after the poison"));
    ASSERT_TRUE(mt::wait_until(
        [&] { return depth(amqp::topology::jobs_queue) == 0 && depth(amqp::topology::retry_queue) == 0; }, 60s,
        "every job acknowledged"));
    EXPECT_EQ(runs_of(ghost), "") << "an unknown provider has no run to record";
    EXPECT_EQ(runs_of(off), "") << "a disabled provider is skipped";
    EXPECT_EQ(runs_of(mars), "failed") << "a permanent failure is not retried";
    EXPECT_TRUE(first.running());
    EXPECT_TRUE(second.running());
    expect_no_memory_errors(first);
    expect_no_memory_errors(second);
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT count(*) FROM events"), "3");
}

TEST_F(worker_resilience, an_event_postgresql_refuses_is_rejected_alone_and_never_retried) {
    // Stands for a value the core's validation lets through but the database refuses: a data
    // error (class 23) in the COPY of a new event's zones and in the merge of a changed event.
    mt::execute(db_.url(),
                "ALTER TABLE zones ADD CONSTRAINT test_poison_zone CHECK (name IS DISTINCT FROM 'poison');"
                "ALTER TABLE events ADD CONSTRAINT test_poison_title CHECK (title <> 'poison title')");
    auto feeds = mt::test_dir("feeds");
    auto feed_with = [&](const std::string& second_title, const std::string& second_zone) {
        auto show = [](const std::string& id, const std::string& title, const std::string& zone) {
            return "<base_event base_event_id='" + id + "' sell_mode='online' title='" + title +
                   "'><event event_id='1' event_start_date='2021-06-30T21:00:00' "
                   "event_end_date='2021-06-30T22:00:00'><zone zone_id='1' name='" +
                   zone + "' price='10'/></event></base_event>";
        };
        mt::write_file(feeds / "feed.xml", "<eventList><output>" + show("a", "First", "stalls") +
                                               show("b", second_title, second_zone) + show("c", "Third", "stalls") +
                                               "</output></eventList>");
    };
    feed_with("Second", "poison");
    mt::provider_mock mock(feeds);
    mt::execute(db_.url(), "INSERT INTO providers (name, url) VALUES ('default', '" + mock.url() + "')");
    mt::process worker("marquee-worker", {"--threads", "1"}, worker_env());

    // A new event whose zone the database refuses: found by its COPY line, left out, the rest stored.
    auto job = publish("default");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "succeeded"; }, 60s, "the run"));
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT string_agg(base_event_id, ',' ORDER BY base_event_id) FROM events"),
              "a,c");
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT events_rejected FROM ingestion_runs ORDER BY id DESC LIMIT 1"), "1");
    EXPECT_NE(worker.log_text().find("test_poison_zone"), std::string::npos);

    // A stored event whose change the merge refuses: its stored version stays.
    feed_with("Second", "stalls");
    auto stored = publish("default");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(stored) == "succeeded"; }, 60s, "b stored"));
    feed_with("poison title", "stalls");
    auto changed = publish("default");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(changed) == "succeeded"; }, 60s, "the merge refused, then done"));
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT title FROM events WHERE base_event_id = 'b'"), "Second");
    EXPECT_EQ(mt::query_scalar(db_.url(), "SELECT events_rejected FROM ingestion_runs ORDER BY id DESC LIMIT 1"), "1");

    // Two refused events: the one retry leaves out the first, the second fails the feed for good,
    // recorded once and never retried.
    mt::write_file(feeds / "feed.xml",
                   "<eventList><output><base_event base_event_id='d' sell_mode='online' title='D'><event event_id='1' "
                   "event_start_date='2021-06-30T21:00:00' event_end_date='2021-06-30T22:00:00'><zone zone_id='1' "
                   "name='poison' price='1'/></event></base_event><base_event base_event_id='b' sell_mode='online' "
                   "title='poison title'><event event_id='1' event_start_date='2021-06-30T21:00:00' "
                   "event_end_date='2021-06-30T22:00:00'><zone zone_id='1' name='x' price='1'/></event></base_event>"
                   "</output></eventList>");
    auto refused = publish("default");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(refused) == "failed"; }, 60s, "the permanent failure"));
    ASSERT_TRUE(mt::wait_until(
        [&] { return depth(amqp::topology::jobs_queue) == 0 && depth(amqp::topology::retry_queue) == 0; }, 60s,
        "the job acknowledged"));
    EXPECT_EQ(runs_of(refused), "failed");
    EXPECT_EQ(depth(amqp::topology::dead_queue), 0);
    EXPECT_NE(errors_of(refused).find("violates check constraint"), std::string::npos) << errors_of(refused);
    auto b_id = mt::query_scalar(db_.url(), "SELECT id::text FROM events WHERE base_event_id = 'b'").value_or("?");
    EXPECT_NE(errors_of(refused).find("event " + b_id), std::string::npos) << "the run names the refused event";
    EXPECT_TRUE(worker.running());
    expect_no_memory_errors(worker);
}

TEST_F(worker_resilience, postgresql_breaking_mid_ingestion_leaves_the_data_and_the_worker_whole) {
    auto feeds = mt::test_dir("feeds");
    auto generated = mt::test_dir("generated");
    for (const char* seed : {"11", "12"}) {
        mt::process generator("bench-generate-feed", {"--events", "3000", "--zones", "120", "--seed", seed});
        ASSERT_EQ(generator.wait_exit(120s), 0);
        std::filesystem::copy_file(generator.log_path(), generated / fmt::format("{}.xml", seed),
                                   std::filesystem::copy_options::overwrite_existing);
    }
    auto serve = [&](const char* seed) {
        std::filesystem::copy_file(generated / fmt::format("{}.xml", seed), feeds / "feed.xml",
                                   std::filesystem::copy_options::overwrite_existing);
    };
    serve("11");
    mt::provider_mock mock(feeds);
    mt::execute(db_.url(), "INSERT INTO providers (name, url) VALUES ('default', '" + mock.url() + "')");
    auto env = worker_env();
    env["WORKER_MAX_ATTEMPTS"] = "5";
    mt::process worker("marquee-worker", {"--threads", "1", "--batch-kib", "64"}, env);
    auto in_copy = [&] {
        return mt::query_scalar(db_.url(),
                                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'marquee-worker' "
                                "AND query LIKE 'COPY %' AND xact_start IS NOT NULL") != "0";
    };

    // 1. The worker's backend is terminated in the middle of its COPY.
    auto job = publish("default");
    ASSERT_TRUE(mt::wait_until(in_copy, 60s, "the worker inside its ingestion transaction"));
    mt::execute(db_.url(),
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'marquee-worker' "
                "AND query LIKE 'COPY %'");
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(job).starts_with("failed"); }, 60s, "the failure recorded"));
    EXPECT_NE(errors_of(job).find("database error"), std::string::npos) << errors_of(job);
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(job) == "failed,succeeded"; }, 120s, "the retry succeeded"));

    // 2. The whole server restarts in the middle of the next ingestion (of a changed feed).
    serve("12");
    auto before = mt::database_fingerprint(db_.url());
    auto next = publish("default");
    ASSERT_TRUE(mt::wait_until(in_copy, 60s, "the worker inside its second ingestion"));
    auto restarted = mt::restart_postgres();
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
    EXPECT_EQ(mt::database_fingerprint(db_.url()), before) << "nothing of the broken run is visible";
    ASSERT_TRUE(mt::wait_until([&] { return runs_of(next).ends_with("succeeded"); }, 180s, "the retry succeeded"));
    // The broken run is recorded failed, or (when PostgreSQL was still down) marked abandoned by
    // the next run; a retry that found PostgreSQL down records nothing.
    EXPECT_TRUE(runs_of(next) == "failed,succeeded") << runs_of(next) << ": " << errors_of(next);
    EXPECT_TRUE(worker.running());
    expect_no_memory_errors(worker);

    // The result equals clean ingestions of the same two feeds.
    auto clean = mt::fresh_database();
    for (const char* seed : {"11", "12"}) {
        mt::process reference("marquee-worker", {"ingest", (generated / fmt::format("{}.xml", seed)).string()},
                              {{"DATABASE_URL", clean.url()}});
        ASSERT_EQ(reference.wait_exit(120s), 0) << reference.log_text();
    }
    EXPECT_EQ(mt::database_fingerprint(db_.url()), mt::database_fingerprint(clean.url()));
}
