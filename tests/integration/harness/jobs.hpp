#pragma once
// Fetch jobs as the scheduler publishes them, for tests that drive the worker without one, and the
// broker's own count of a queue. Header only: the harness library links no AMQP code, the test
// binary does.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "marquee/amqp/connection.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <amqp.h>

#include <chrono>
#include <string>
#include <string_view>

namespace marquee::testing {

/// Publishes `body` to the jobs queue of `vh`, confirmed, as the scheduler does.
inline void publish_raw_job(const vhost& vh, std::string_view body, const std::string& message_id = {}) {
    amqp::publisher publisher({.server = config::parse_amqp_url(vh.url())}, amqp::topology::declare);
    publisher.publish(amqp::topology::exchange, amqp::topology::jobs_routing_key, body,
                      {.expiration = std::nullopt, .message_id = message_id});
}

/// Publishes `job` to the jobs queue of `vh`; returns its id.
inline std::string publish_job(const vhost& vh, const jobs::fetch_job& job) {
    publish_raw_job(vh, jobs::to_json(job), job.job_id);
    return job.job_id;
}

/// Publishes a first attempt for `provider` and `slot`; returns its id.
inline std::string publish_job(const vhost& vh, const std::string& provider, std::chrono::sys_seconds at) {
    return publish_job(vh, jobs::make_fetch_job(provider, at));
}

/// Messages ready for delivery in `queue` of `vh` (not those a consumer holds unacknowledged), as
/// the broker counts them at this moment: a passive queue.declare. rabbitmqctl's counts
/// (queue_depths) of quorum queues lag seconds behind, so they serve waiting for a state, not
/// checking one. Throws queue_error (e.g. 404 when there is no such queue).
inline long ready_messages(const vhost& vh, std::string_view queue) {
    amqp::connection_options options;
    options.server = config::parse_amqp_url(vh.url());
    amqp::connection connection(options);
    const amqp_bytes_t name{queue.size(), const_cast<char*>(queue.data())};
    auto* declared = amqp_queue_declare(connection.native(), amqp::connection::channel, name, /*passive=*/1,
                                        /*durable=*/0, /*exclusive=*/0, /*auto_delete=*/0, amqp_empty_table);
    connection.check_last_rpc("counting the messages of a queue");
    return declared == nullptr ? -1 : static_cast<long>(declared->message_count);
}

}  // namespace marquee::testing
