#include "job_outcome.hpp"

#include "marquee/error.hpp"

#include <new>
#include <utility>

namespace marquee::worker {

job_outcome outcome_of(std::exception_ptr failure) noexcept {
    try {
        try {
            std::rethrow_exception(std::move(failure));
        } catch (const fetch_error& e) {
            return {e.transient() ? job_status::failed_transient : job_status::failed_permanent, e.what()};
        } catch (const feed_error& e) {
            return {job_status::failed_permanent, e.what()};
        } catch (const config_error& e) {
            return {job_status::failed_permanent, e.what()};
        } catch (const storage_error& e) {
            if (e.is_data_error())
                return {job_status::failed_permanent, std::string("the database refused the data: ") + e.what()};
            return {job_status::failed_transient, std::string("database error: ") + e.what()};
        } catch (const queue_error& e) {
            return {job_status::failed_transient, std::string("queue error: ") + e.what()};
        } catch (const std::bad_alloc&) {
            return {job_status::failed_transient, "out of memory"};
        } catch (const std::exception& e) {
            return {job_status::failed_transient, std::string("unexpected error: ") + e.what()};
        } catch (...) {
            return {job_status::failed_transient, "unexpected error of unknown type"};
        }
    } catch (...) {
        // Building the message itself failed (out of memory): still an outcome, never a throw.
        return {};
    }
}

job_action decide(const job_outcome& outcome, const jobs::fetch_job& job, const retry_policy& retry) {
    switch (outcome.status) {
        case job_status::succeeded:
        case job_status::skipped:
        case job_status::failed_permanent:
            return {job_action::kind::ack, job, {}};
        case job_status::deferred:
            // Waiting for another ingestion spends no attempt.
            return {job_action::kind::defer, job, retry.first_delay};
        case job_status::failed_transient:
            break;
    }
    if (job.attempt >= retry.max_attempts) return {job_action::kind::dead_letter, job, {}};
    auto next = job;
    next.attempt = job.attempt + 1;
    return {job_action::kind::retry, next, retry.delay_before(next.attempt)};
}

}  // namespace marquee::worker
