// The worker's decisions: what each exception means for a job, and what the consumer does with
// each outcome. No exception may escape a job; every outcome ends in an ack, a retry, a
// dead letter or a deferral.
#include "job_outcome.hpp"
#include "marquee/error.hpp"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

using namespace marquee;
using namespace marquee::worker;
using namespace std::chrono_literals;

namespace {

template <typename E>
job_outcome outcome_of_throwing(E e) {
    return outcome_of(std::make_exception_ptr(std::move(e)));
}

jobs::fetch_job job_at_attempt(int attempt) {
    return {"job-1", "acme", std::chrono::sys_seconds{1710072000s}, attempt};
}

}  // namespace

TEST(worker_outcome, fetch_errors_keep_their_own_verdict) {
    EXPECT_EQ(outcome_of_throwing(fetch_error("timed out", true)).status, job_status::failed_transient);
    EXPECT_EQ(outcome_of_throwing(fetch_error("404", false, 404)).status, job_status::failed_permanent);
}

TEST(worker_outcome, unreadable_feeds_and_unusable_settings_are_permanent) {
    EXPECT_EQ(outcome_of_throwing(feed_error("malformed")).status, job_status::failed_permanent);
    auto zone = outcome_of_throwing(config_error("time zone", "'Mars/Olympus' is not a known IANA time zone"));
    EXPECT_EQ(zone.status, job_status::failed_permanent);
    EXPECT_NE(zone.message.find("Mars/Olympus"), std::string::npos);
}

TEST(worker_outcome, database_errors_are_classified_by_sqlstate_class) {
    struct sqlstate_case {
        const char* sqlstate;
        job_status expected;
    };
    for (auto c : {sqlstate_case{"22008", job_status::failed_permanent},  // datetime field overflow
                   sqlstate_case{"22021", job_status::failed_permanent},  // character not in repertoire
                   sqlstate_case{"22003", job_status::failed_permanent},  // numeric value out of range
                   sqlstate_case{"23505", job_status::failed_permanent},  // unique violation
                   sqlstate_case{"23514", job_status::failed_permanent},  // check violation
                   sqlstate_case{"08006", job_status::failed_transient},  // connection failure
                   sqlstate_case{"53100", job_status::failed_transient},  // disk full
                   sqlstate_case{"57P01", job_status::failed_transient},  // admin shutdown
                   sqlstate_case{"40001", job_status::failed_transient},  // serialization failure
                   sqlstate_case{"57014", job_status::failed_transient},  // statement timeout
                   sqlstate_case{"", job_status::failed_transient}}) {    // connection lost, no state
        EXPECT_EQ(outcome_of_throwing(storage_error("database said no", c.sqlstate)).status, c.expected) << c.sqlstate;
    }
}

TEST(worker_outcome, anything_else_is_a_transient_failure_never_a_throw) {
    EXPECT_EQ(outcome_of_throwing(queue_error("channel closed")).status, job_status::failed_transient);
    EXPECT_EQ(outcome_of_throwing(std::bad_alloc()).status, job_status::failed_transient);
    auto logic = outcome_of_throwing(std::logic_error("usage error"));
    EXPECT_EQ(logic.status, job_status::failed_transient);
    EXPECT_NE(logic.message.find("usage error"), std::string::npos);
    EXPECT_EQ(outcome_of_throwing(42).status, job_status::failed_transient);
    EXPECT_EQ(outcome_of_throwing(std::string("thrown string")).status, job_status::failed_transient);
}

TEST(worker_decisions, done_outcomes_are_acknowledged) {
    retry_policy retry;
    for (auto status : {job_status::succeeded, job_status::skipped, job_status::failed_permanent})
        for (int attempt : {1, retry.max_attempts, retry.max_attempts + 3})
            EXPECT_EQ(decide({status, "", 0}, job_at_attempt(attempt), retry).what, job_action::kind::ack);
}

TEST(worker_decisions, transient_failures_retry_with_backoff_until_the_last_attempt) {
    retry_policy retry{.max_attempts = 4, .first_delay = 1000ms, .max_delay = 3000ms};
    std::chrono::milliseconds expected_delays[] = {1000ms, 2000ms, 3000ms};
    for (int attempt = 1; attempt < 4; ++attempt) {
        auto action = decide({job_status::failed_transient, "5xx", 0}, job_at_attempt(attempt), retry);
        ASSERT_EQ(action.what, job_action::kind::retry) << attempt;
        EXPECT_EQ(action.job.attempt, attempt + 1);
        EXPECT_EQ(action.job.job_id, "job-1");
        EXPECT_EQ(action.delay, expected_delays[attempt - 1]) << attempt;
    }
    for (int attempt : {4, 5, 100}) {
        auto action = decide({job_status::failed_transient, "5xx", 0}, job_at_attempt(attempt), retry);
        EXPECT_EQ(action.what, job_action::kind::dead_letter) << attempt;
        EXPECT_EQ(action.job, job_at_attempt(attempt));
    }
}

TEST(worker_decisions, a_deferred_job_spends_no_attempt) {
    retry_policy retry{.max_attempts = 2, .first_delay = 750ms, .max_delay = 3000ms};
    for (int attempt : {1, 2, 7}) {
        auto action = decide({job_status::deferred, "busy", 0}, job_at_attempt(attempt), retry);
        EXPECT_EQ(action.what, job_action::kind::defer);
        EXPECT_EQ(action.job, job_at_attempt(attempt));
        EXPECT_EQ(action.delay, 750ms);
    }
}
