#pragma once
// What became of one fetch job, and what the worker does about it: the worker's decisions, apart
// from RabbitMQ and PostgreSQL so that unit tests walk every one of them.
#include "marquee/jobs/fetch_job.hpp"
#include "retry_policy.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <string>

namespace marquee::worker {

enum class job_status {
    succeeded,
    skipped,           // nothing to do (provider disabled, or a newer run already succeeded)
    deferred,          // another ingestion of the provider is running: try again shortly
    failed_transient,  // worth retrying later: timeouts, 5xx, database trouble
    failed_permanent,  // retrying the same job cannot help: 4xx, malformed feed, unknown provider, data errors
};

struct job_outcome {
    job_status status = job_status::failed_transient;
    std::string message;
    std::size_t events_written = 0;  // new or changed events, when succeeded
};

/// What an exception thrown while running a job means for the job. Every exception maps to a
/// failure — none may stop a worker: fetch_error by its own verdict; feed_error, config_error (a
/// provider setting this host cannot use, such as an unknown time zone) and data errors (SQLSTATE
/// classes 22 and 23) are permanent; other database and queue errors, bad_alloc and anything
/// unforeseen are transient, so the attempt limit and the dead-letter queue bound them.
job_outcome outcome_of(std::exception_ptr failure) noexcept;

/// What the consumer does with the delivery once the outcome is known.
struct job_action {
    enum class kind {
        ack,          // done (succeeded, skipped, or failed for good)
        retry,        // publish `job` (the next attempt) to the retry queue for `delay`, then ack
        dead_letter,  // publish `job` to the dead-letter exchange, then ack
        defer,        // publish `job` (same attempt) to the retry queue for `delay`, then ack
    };
    kind what = kind::ack;
    jobs::fetch_job job;
    std::chrono::milliseconds delay{0};
};

job_action decide(const job_outcome& outcome, const jobs::fetch_job& job, const retry_policy& retry);

}  // namespace marquee::worker
