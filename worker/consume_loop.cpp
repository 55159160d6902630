#include "consume_loop.hpp"

#include "job_outcome.hpp"
#include "marquee/amqp/consumer.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/error.hpp"
#include "marquee/jobs/fetch_job.hpp"
#include "marquee/log/fields.hpp"
#include "retry_policy.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace marquee::worker {
namespace {

// One consumer thread: its own RabbitMQ connection (rabbitmq-c handles are not thread-safe), its
// own job runner and PostgreSQL connection, one unacknowledged job at a time.
class consumer_thread {
public:
    consumer_thread(const runner_settings& settings, const config::amqp_settings& amqp, const retry_policy& retry,
                    worker_metrics& metrics, const std::atomic<bool>& stopping)
        : runner_(settings),
          consumer_({.server = amqp}, {.prefetch = 1}, [](amqp::connection& c) { amqp::topology::declare(c); }),
          publisher_({.server = amqp}, [](amqp::connection& c) { amqp::topology::declare(c); }),
          retry_(retry),
          metrics_(metrics),
          stopping_(stopping) {}

    void run() {
        while (!stopping_.load()) {
            auto delivery = consumer_.next(std::chrono::milliseconds{500});
            if (!delivery) continue;
            handle(*delivery);
        }
    }

private:
    void handle(const amqp::delivery& d) {
        auto parsed = jobs::parse_fetch_job(d.body);
        if (auto* bad = std::get_if<jobs::parse_error>(&parsed)) {
            log::error("dead-lettering a message that is not a fetch job: {}", bad->message);
            consumer_.reject(d, false);
            metrics_.dead_lettered.inc();
            return;
        }
        const auto& job = std::get<jobs::fetch_job>(parsed);
        // Every record about this job carries these (LOG_FORMAT=json).
        log::scope job_fields{{"provider", job.provider}, {"job_id", job.job_id}, {"attempt", job.attempt}};
        log::info("job {} for provider {} (slot {}, attempt {}){}", job.job_id, job.provider,
                  jobs::format_rfc3339_utc(job.scheduled_for), job.attempt, d.redelivered ? " redelivered" : "");
        const auto started = std::chrono::steady_clock::now();
        auto outcome = runner_.run(job);
        metrics_.run_duration.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        count(job, outcome);
        auto action = decide(outcome, job, retry_);
        if (!carry_out(action, outcome.message)) return consumer_.reject(d, true);
        consumer_.ack(d);
    }

    void count(const jobs::fetch_job& job, const job_outcome& outcome) {
        switch (outcome.status) {
            case job_status::succeeded:
                metrics_.succeeded.inc();
                metrics_.events_written.inc(outcome.events_written);
                metrics_.provider_succeeded(job.provider);
                break;
            case job_status::skipped:
                metrics_.skipped.inc();
                log::info("job {} skipped: {}", job.job_id, outcome.message);
                break;
            case job_status::failed_permanent:
                metrics_.failed.inc();
                metrics_.provider_failed(job.provider);
                log::error("job {} for provider {} failed for good: {}", job.job_id, job.provider, outcome.message);
                break;
            case job_status::failed_transient:
                metrics_.failed.inc();
                metrics_.provider_failed(job.provider);
                break;
            case job_status::deferred:
                break;
        }
    }

    // Publishes what the action asks for; false when RabbitMQ would not confirm it, and the job
    // goes back to the queue instead.
    bool carry_out(const job_action& action, const std::string& reason) {
        const auto& job = action.job;
        try {
            switch (action.what) {
                case job_action::kind::ack:
                    return true;
                case job_action::kind::defer:
                    log::info("job {} deferred for {} ms: {}", job.job_id, action.delay.count(), reason);
                    break;
                case job_action::kind::retry:
                    log::warn("job {} for provider {} failed (attempt {}), retrying in {} ms: {}", job.job_id,
                              job.provider, job.attempt - 1, action.delay.count(), reason);
                    metrics_.retries.inc();
                    break;
                case job_action::kind::dead_letter:
                    log::error("job {} for provider {} failed {} times, dead-lettered: {}", job.job_id, job.provider,
                               job.attempt, reason);
                    publisher_.publish(amqp::topology::dead_letter_exchange, "", jobs::to_json(job),
                                       {.expiration = std::nullopt, .message_id = job.job_id});
                    metrics_.dead_lettered.inc();
                    return true;
            }
            // Parked in the retry queue, whose TTL expiry sends it back to the jobs queue.
            publisher_.publish(amqp::topology::exchange, amqp::topology::retry_routing_key, jobs::to_json(job),
                               {.expiration = action.delay, .message_id = job.job_id});
            return true;
        } catch (const queue_error& e) {
            log::error("could not hand job {} on: {}; returning it to the queue", job.job_id, e.what());
            return false;
        }
    }

    job_runner runner_;
    amqp::reconnecting_consumer consumer_;
    amqp::publisher publisher_;
    const retry_policy& retry_;
    worker_metrics& metrics_;
    const std::atomic<bool>& stopping_;
};

}  // namespace

int run_consumers(const runner_settings& settings, const config::amqp_settings& amqp, unsigned concurrency,
                  const retry_policy& retry, worker_metrics& metrics, signals::stop_on_signals& stop) {
    // A stop (SIGTERM) keeps the consumers from taking new jobs and lets each finish (and
    // acknowledge) the one in hand; a consumer that fails asks for the same stop.
    std::atomic<bool> stopping{false};
    std::atomic<bool> failed{false};
    std::vector<std::jthread> consumers;
    for (unsigned i = 0; i < concurrency; ++i) {
        consumers.emplace_back([&] {
            // A job never gets here (job_runner::run does not throw); what does is a fault of the
            // worker itself. Stop the whole process with a failure status, so that a supervisor
            // restarts it; the job in hand returns to the queue unacknowledged.
            try {
                consumer_thread(settings, amqp, retry, metrics, stopping).run();
            } catch (const std::exception& e) {
                log::error("consumer stopped: {}", e.what());
                failed = true;
            } catch (...) {
                log::error("consumer stopped by an exception of unknown type");
                failed = true;
            }
            if (failed) stop.request_stop();
        });
    }
    log::info("consuming fetch jobs with {} consumer(s)", concurrency);
    stop.wait();
    log::info("finishing the jobs in hand");
    stopping = true;
    consumers.clear();
    if (failed) {
        log::error("stopped after a consumer failed");
        return 1;
    }
    log::info("stopped");
    return 0;
}

}  // namespace marquee::worker
