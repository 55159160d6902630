#pragma once
// Consuming with manual acknowledgement and a bounded prefetch.
//
// One consumer per thread (see connection.hpp): next(), ack() and reject() must be called from the
// thread that owns it. Unacked deliveries return to the queue when the consumer is destroyed or its
// connection is lost; the broker then redelivers them with `redelivered` set.
//
// Loop pattern for a worker (reconnecting_consumer does this for you):
//     reconnecting_consumer jobs(options, {.queue = ...}, topology::declare);
//     while (!stopping) {
//         auto d = jobs.next(500ms);           // never throws queue_error; nullopt on timeout/outage
//         if (!d) continue;
//         ... process d->body ...
//         jobs.ack(*d);                        // or jobs.reject(*d, requeue)
//     }
#include "marquee/amqp/connection.hpp"
#include "marquee/amqp/topology.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace marquee::amqp {

struct delivery {
    std::uint64_t delivery_tag = 0;
    std::string body;
    bool redelivered = false;
    std::string routing_key;
    std::string message_id;
    std::string content_type;
    bool persistent = false;  // delivery_mode 2
    /// Which connection of a reconnecting_consumer delivered it (its tag means nothing on another).
    std::uint64_t session = 0;
};

struct consumer_options {
    std::string queue{topology::jobs_queue};
    /// Unacked deliveries the broker sends ahead (basic.qos, per consumer).
    std::uint16_t prefetch = 1;
};

class consumer {
public:
    /// Runs after connecting, before consuming; declare topology here.
    using on_connect = std::function<void(connection&)>;

    /// Connects, runs `setup`, sets the prefetch and starts consuming. Throws queue_error.
    consumer(const connection_options& connection, consumer_options options, const on_connect& setup = {});
    /// Cancels the consumer and returns every unacked delivery to the queue (requeue). noexcept.
    ~consumer();
    consumer(const consumer&) = delete;
    consumer& operator=(const consumer&) = delete;

    /// The next delivery, waiting at most `wait`; nullopt when none arrived in time (or a frame
    /// other than a delivery did). Throws queue_error when the connection is lost, the broker
    /// closes the channel or cancels the consumer (e.g. the queue was deleted).
    std::optional<delivery> next(std::chrono::milliseconds wait);
    /// Throws queue_error when the connection is lost.
    void ack(std::uint64_t delivery_tag);
    /// requeue=false dead-letters the message (to marquee.fetch.dead for the jobs queue).
    /// Throws queue_error when the connection is lost.
    void reject(std::uint64_t delivery_tag, bool requeue);

    bool usable() const noexcept { return conn_.usable(); }

private:
    connection conn_;
    consumer_options options_;
    std::string consumer_tag_;
    std::uint64_t unacked_ = 0;
};

/// A consumer that reconnects by itself: after a broker restart or network failure, next() logs,
/// waits (backoff up to 5 s, never longer than `wait` per call) and connects again. Deliveries
/// from a lost connection cannot be acked any more — the broker has requeued them — so ack and
/// reject of such a delivery are ignored (with a debug log line). Same threading rule as consumer.
class reconnecting_consumer {
public:
    /// Does not connect yet; the first next() does.
    reconnecting_consumer(connection_options connection, consumer_options options, consumer::on_connect setup = {});

    /// Never throws queue_error: a failure drops the connection and returns nullopt.
    std::optional<delivery> next(std::chrono::milliseconds wait);
    /// Never throws queue_error (a failure drops the connection; the broker requeues).
    void ack(const delivery& d);
    void reject(const delivery& d, bool requeue);

    bool connected() const noexcept { return current_.has_value(); }

private:
    void drop(const char* what, const std::exception& e);

    connection_options connection_;
    consumer_options options_;
    consumer::on_connect setup_;
    std::optional<consumer> current_;
    std::uint64_t session_ = 0;
    std::chrono::milliseconds backoff_{0};
    std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace marquee::amqp
