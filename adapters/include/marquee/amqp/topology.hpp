#pragma once
// The fetch-job topology (docs/CONTRACTS.md, docs/adr/0003-queue.md), declared idempotently by every
// process that publishes or consumes:
//
//   marquee.fetch (direct) --"fetch"--> marquee.fetch.jobs   (quorum; dead letters to marquee.fetch.dlx)
//   marquee.fetch (direct) --"retry"--> marquee.fetch.retry  (quorum; messages wait out their own
//                                       expiration, then dead-letter back to marquee.fetch/"fetch")
//   marquee.fetch.dlx (fanout) -------> marquee.fetch.dead   (quorum; rejected jobs, kept for people)
#include "marquee/amqp/connection.hpp"

#include <cstdint>
#include <string_view>

namespace marquee::amqp::topology {

inline constexpr std::string_view exchange = "marquee.fetch";
inline constexpr std::string_view jobs_queue = "marquee.fetch.jobs";
inline constexpr std::string_view jobs_routing_key = "fetch";
/// Publish here with a per-message expiration (publish_options::expiration) to retry later.
inline constexpr std::string_view retry_queue = "marquee.fetch.retry";
inline constexpr std::string_view retry_routing_key = "retry";
inline constexpr std::string_view dead_letter_exchange = "marquee.fetch.dlx";
inline constexpr std::string_view dead_queue = "marquee.fetch.dead";
/// Deliveries of one message the jobs queue allows before it dead-letters it (x-delivery-limit).
inline constexpr std::int64_t jobs_delivery_limit = 10;

/// Declares the exchanges, queues and bindings above (durable). Queues are declared as quorum
/// queues; a queue that already exists with other arguments (e.g. an older classic queue) is used
/// as it is, with a warning, because RabbitMQ cannot change a queue's arguments. Throws queue_error.
void declare(connection& conn);

struct queue_state {
    std::uint32_t messages;  // ready for delivery
    std::uint32_t consumers;
};
/// A queue's depth and consumer count (a passive queue.declare: creates nothing, needs no
/// permission on the queue). Throws queue_error, e.g. when the queue does not exist.
queue_state probe(connection& conn, std::string_view queue);

}  // namespace marquee::amqp::topology
