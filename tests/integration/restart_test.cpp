// The worker across restarts: of RabbitMQ and of PostgreSQL while it runs (it reconnects by itself
// and the next job succeeds), and of itself (SIGTERM lets the job in hand finish).
//
// These tests stop the shared test services for a moment; each leaves them running and healthy.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
using namespace std::chrono_literals;

namespace {

bool database_answers(const std::string& url) {
    try {
        return mt::query_scalar(url, "SELECT 1") == "1";
    } catch (const std::exception&) {
        return false;
    }
}

// Stops the RabbitMQ application of the services' node; the destructor starts it again whatever
// happened in between, so a failing test does not take the broker away from the tests after it.
class stopped_broker {
public:
    stopped_broker() {
        auto stopped = mt::rabbitmqctl({"-q", "stop_app"}, 90s);
        EXPECT_EQ(stopped.exit_code, 0) << stopped.output;
    }
    ~stopped_broker() { start(); }
    stopped_broker(const stopped_broker&) = delete;
    stopped_broker& operator=(const stopped_broker&) = delete;

    bool start() {
        if (started_) return true;
        auto result = mt::rabbitmqctl({"-q", "start_app"}, 120s);
        started_ = result.exit_code == 0;
        EXPECT_TRUE(started_) << result.output;
        if (started_) {
            auto ready = mt::rabbitmqctl({"-q", "await_startup"}, 120s);
            EXPECT_EQ(ready.exit_code, 0) << ready.output;
        }
        return started_;
    }

private:
    bool started_ = false;
};

class restart : public ::testing::Test {
protected:
    void SetUp() override {
        mt::execute(db_.url(), fmt::format("INSERT INTO providers (name, url) VALUES ('default', '{}')", mock_.url()));
    }

    void TearDown() override {
        // Whatever the test did, the services are up for the next one.
        EXPECT_TRUE(
            mt::wait_until([] { return database_answers(mt::services().database_url); }, 60s, "PostgreSQL answering"));
        EXPECT_TRUE(mt::wait_until(
            [] {
                return mt::rabbitmqctl({"-q", "await_startup"}).exit_code == 0;
            },
            60s, "RabbitMQ running"));
    }

    std::unique_ptr<mt::process> start_worker() {
        return std::make_unique<mt::process>("marquee-worker", std::vector<std::string>{"--threads", "1"},
                                             std::map<std::string, std::string>{
                                                 {"DATABASE_URL", db_.url()},
                                                 {"AMQP_URL", vhost_.url()},
                                                 {"WORKER_FIRST_RETRY_MS", "200"},
                                                 {"WORKER_MAX_ATTEMPTS", "5"},
                                             });
    }

    // Publishes a job for a slot later than every earlier one, retrying while the broker comes
    // back; returns its id.
    std::string publish() {
        amqp::publisher publisher({.server = marquee::config::parse_amqp_url(vhost_.url())}, amqp::topology::declare);
        auto job = marquee::jobs::make_fetch_job("default", mt::slot(++slots_));
        publisher.publish_with_retry(amqp::topology::exchange, amqp::topology::jobs_routing_key,
                                     marquee::jobs::to_json(job), 60s,
                                     {.expiration = std::nullopt, .message_id = job.job_id});
        return job.job_id;
    }

    // The status of the job's latest run ("" before it has one).
    std::string last_status(const std::string& job_id) const {
        try {
            return mt::query_scalar(db_.url(), "SELECT status FROM ingestion_runs WHERE job_id = '" + job_id +
                                                   "' ORDER BY id DESC LIMIT 1")
                .value_or("");
        } catch (const std::exception&) {
            return "";  // PostgreSQL restarting
        }
    }

    mt::database db_ = mt::fresh_database();
    mt::vhost vhost_ = mt::fresh_vhost();
    mt::provider_mock mock_;
    int slots_ = 0;
};

TEST_F(restart, worker_reconnects_after_rabbitmq_restarts) {
    auto worker = start_worker();
    auto before = publish();
    ASSERT_TRUE(mt::wait_until([&] { return last_status(before) == "succeeded"; }, 60s, "a job before the restart"));
    {
        stopped_broker broker;
        ASSERT_TRUE(mt::wait_until([&] { return worker->log_text().find("lost the consumer") != std::string::npos; },
                                   60s, "the worker noticing the broker went away"));
        ASSERT_TRUE(broker.start());
    }
    auto after = publish();
    ASSERT_TRUE(mt::wait_until([&] { return last_status(after) == "succeeded"; }, 60s, "a job after the restart"));
    EXPECT_TRUE(worker->running()) << "the same worker, never restarted";
}

TEST_F(restart, worker_reconnects_after_postgresql_restarts) {
    auto worker = start_worker();
    auto before = publish();
    ASSERT_TRUE(mt::wait_until([&] { return last_status(before) == "succeeded"; }, 60s, "a job before the restart"));

    auto restarted = mt::restart_postgres();
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
    ASSERT_TRUE(mt::wait_until([&] { return database_answers(db_.url()); }, 60s, "PostgreSQL back"));

    // The worker's session died with the server; the job may fail once on it and is then retried
    // on a new connection.
    auto after = publish();
    ASSERT_TRUE(mt::wait_until([&] { return last_status(after) == "succeeded"; }, 60s, "a job after the restart"));
    EXPECT_TRUE(worker->running()) << "the same worker, never restarted";
}

TEST_F(restart, sigterm_lets_the_job_in_hand_finish) {
    // The feed's reply is held back until the signal has been received, so the signal lands while
    // the worker waits for it: the job is in hand when the worker is told to stop, on any machine.
    mt::execute(db_.url(), "UPDATE providers SET fetch_timeout_ms = 600000 WHERE name = 'default'");
    ASSERT_TRUE(mock_.hold(1));
    auto worker = start_worker();
    auto job = publish();
    ASSERT_TRUE(mock_.wait_held(1));
    ASSERT_EQ(last_status(job), "running");

    worker->terminate();
    // "signal 15: stopping" (or "signal 15 received" from older signal helpers).
    ASSERT_TRUE(mt::wait_until([&] { return worker->log_text().find("signal 15") != std::string::npos; }, 30s,
                               "the worker noticing the signal"));
    EXPECT_TRUE(worker->running()) << "the worker waits for the job in hand";
    EXPECT_EQ(last_status(job), "running");
    ASSERT_TRUE(mock_.release());
    EXPECT_EQ(worker->wait_exit(60s), 0) << worker->log_text();
    EXPECT_EQ(last_status(job), "succeeded");
    auto log = worker->log_text();
    auto signalled = log.find("signal 15");
    auto finished = log.find("succeeded: ");
    ASSERT_NE(signalled, std::string::npos) << log;
    ASSERT_NE(finished, std::string::npos) << log;
    EXPECT_LT(signalled, finished) << "the signal arrived while the job was in hand";

    // Acknowledged before exiting: a new worker finds nothing to redo.
    EXPECT_EQ(mt::ready_messages(vhost_, amqp::topology::jobs_queue), 0);
}

}  // namespace

// The whole pipeline, scheduler daemon included, resumes by itself after each restart: new slots
// keep being published and ingested by the very same processes.
TEST_F(restart, scheduler_and_worker_resume_after_rabbitmq_and_postgresql_restarts) {
    auto worker = start_worker();
    mt::process scheduler("marquee-scheduler", {},
                          {{"DATABASE_URL", db_.url()},
                           {"AMQP_URL", vhost_.url()},
                           {"PROVIDER_URL", mock_.url()},
                           {"PROVIDER_SCHEDULE", "@every 2s"}});
    auto succeeded = [&]() -> int {
        try {
            return std::stoi(mt::query_scalar(db_.url(),
                                              "SELECT count(*) FROM ingestion_runs WHERE status = "
                                              "'succeeded'")
                                 .value_or("0"));
        } catch (const std::exception&) {
            return -1;  // PostgreSQL restarting
        }
    };
    ASSERT_TRUE(mt::wait_until([&] { return succeeded() >= 1; }, 60s, "scheduled runs before the restarts"));

    {
        stopped_broker broker;
        ASSERT_TRUE(mt::wait_until([&] { return worker->log_text().find("lost the consumer") != std::string::npos; },
                                   60s, "the worker noticing the broker went away"));
        ASSERT_TRUE(broker.start());
    }
    int after_broker = succeeded();
    ASSERT_TRUE(mt::wait_until([&] { return succeeded() >= after_broker + 2; }, 90s,
                               "new slots published and ingested after the RabbitMQ restart"));

    auto restarted = mt::restart_postgres();
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
    ASSERT_TRUE(mt::wait_until([&] { return database_answers(db_.url()); }, 60s, "PostgreSQL back"));
    int after_postgres = succeeded();
    ASSERT_TRUE(mt::wait_until([&] { return succeeded() >= after_postgres + 2; }, 90s,
                               "new slots published and ingested after the PostgreSQL restart"));
    EXPECT_TRUE(worker->running());
    EXPECT_TRUE(scheduler.running()) << "neither process was restarted";
}
