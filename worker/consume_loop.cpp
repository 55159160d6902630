#include "consume_loop.hpp"

#include "marquee/amqp/consumer.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/error.hpp"
#include "marquee/jobs/fetch_job.hpp"
#include "marquee/log/log.hpp"
#include "retry_policy.hpp"

#include <pthread.h>
#include <csignal>

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
        log::info("job {} for provider {} (slot {}, attempt {}){}", job.job_id, job.provider,
                  jobs::format_rfc3339_utc(job.scheduled_for), job.attempt, d.redelivered ? " redelivered" : "");
        const auto started = std::chrono::steady_clock::now();
        auto outcome = runner_.run(job);
        metrics_.run_duration.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        switch (outcome.status) {
            case job_status::succeeded:
                metrics_.succeeded.inc();
                metrics_.events_written.inc(outcome.events_written);
                break;
            case job_status::skipped:
                metrics_.skipped.inc();
                log::info("job {} skipped: {}", job.job_id, outcome.message);
                break;
            case job_status::failed_permanent:
                metrics_.failed.inc();
                log::error("job {} for provider {} failed for good: {}", job.job_id, job.provider, outcome.message);
                break;
            case job_status::failed_transient:
                metrics_.failed.inc();
                if (!schedule_retry(job, outcome.message)) return consumer_.reject(d, true);
                break;
            case job_status::deferred:
                if (!defer(job, outcome.message)) return consumer_.reject(d, true);
                break;
        }
        consumer_.ack(d);
    }

    // Parks the job in the retry queue for the first retry delay without spending an attempt.
    bool defer(const jobs::fetch_job& job, const std::string& reason) {
        try {
            log::info("job {} deferred for {} ms: {}", job.job_id, retry_.first_delay.count(), reason);
            publisher_.publish(amqp::topology::exchange, amqp::topology::retry_routing_key, jobs::to_json(job),
                               {.expiration = retry_.first_delay, .message_id = job.job_id});
            return true;
        } catch (const queue_error& e) {
            log::error("could not defer job {}: {}; returning it to the queue", job.job_id, e.what());
            return false;
        }
    }

    // Hands the job to the retry queue, whose TTL expiry sends it back to the jobs queue; past the
    // last attempt it goes to the dead-letter queue instead. False when RabbitMQ would not confirm.
    bool schedule_retry(const jobs::fetch_job& job, const std::string& reason) {
        try {
            auto next = job;
            next.attempt = job.attempt + 1;
            if (job.attempt >= retry_.max_attempts) {
                log::error("job {} for provider {} failed {} times, dead-lettered: {}", job.job_id, job.provider,
                           job.attempt, reason);
                publisher_.publish(amqp::topology::dead_letter_exchange, "", jobs::to_json(job),
                                   {.expiration = std::nullopt, .message_id = job.job_id});
                metrics_.dead_lettered.inc();
                return true;
            }
            auto delay = retry_.delay_before(next.attempt);
            log::warn("job {} for provider {} failed (attempt {}), retrying in {} ms: {}", job.job_id, job.provider,
                      job.attempt, delay.count(), reason);
            publisher_.publish(amqp::topology::exchange, amqp::topology::retry_routing_key, jobs::to_json(next),
                               {.expiration = delay, .message_id = job.job_id});
            metrics_.retries.inc();
            return true;
        } catch (const queue_error& e) {
            log::error("could not schedule a retry of job {}: {}; returning it to the queue", job.job_id, e.what());
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
                  const retry_policy& retry, worker_metrics& metrics) {
    // Signals are taken by one thread with sigwait, so no job is interrupted midway: SIGTERM stops
    // the consumers from taking new jobs and lets each finish (and acknowledge) the one in hand.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::atomic<bool> stopping{false};
    std::vector<std::jthread> consumers;
    for (unsigned i = 0; i < concurrency; ++i) {
        consumers.emplace_back([&] {
            try {
                consumer_thread(settings, amqp, retry, metrics, stopping).run();
            } catch (const std::exception& e) {
                log::error("consumer stopped: {}", e.what());
                stopping = true;
                ::kill(::getpid(), SIGTERM);
            }
        });
    }
    log::info("consuming fetch jobs with {} consumer(s)", concurrency);
    int signal = 0;
    sigwait(&signals, &signal);
    log::info("signal {} received: finishing the jobs in hand", signal);
    stopping = true;
    consumers.clear();
    log::info("stopped");
    return 0;
}

}  // namespace marquee::worker
