#pragma once
// The worker's main loop: N consumer threads, each with its own RabbitMQ connection and job runner,
// acknowledging a job only after its outcome is committed.
#include "job_runner.hpp"
#include "marquee/config/config.hpp"
#include "marquee/signals/stop_on_signals.hpp"
#include "retry_policy.hpp"
#include "worker_metrics.hpp"

#include <optional>

namespace marquee::worker {

/// Runs until `stop` is requested (SIGINT/SIGTERM); returns the process exit code: 0 after a clean
/// stop, 1 when a consumer thread failed (a fault of the worker, never of a job).
int run_consumers(const runner_settings& settings, const config::amqp_settings& amqp, unsigned concurrency,
                  const retry_policy& retry, worker_metrics& metrics, signals::stop_on_signals& stop);

}  // namespace marquee::worker
