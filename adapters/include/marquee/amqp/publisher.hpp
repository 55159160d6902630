#pragma once
// Publishing with publisher confirms: a publish returns only once the broker has taken
// responsibility for the message (persisted it to the queues it routes to). publish_all sends many
// messages before waiting, so their confirms (a Raft commit each on a quorum queue) overlap.
//
// One publisher per thread (see connection.hpp). Delivery is at least once: a publish that timed
// out may still have reached the queue, and the retrying calls then send it again, so consumers
// must tolerate duplicates (fetch jobs carry a job_id).
#include "marquee/amqp/connection.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::amqp {

struct publish_options {
    /// Per-message TTL (AMQP "expiration"): used on the retry queue for backoff.
    std::optional<std::chrono::milliseconds> expiration;
    /// AMQP message-id, e.g. the job id; shown by the management UI.
    std::string message_id;
};

/// One message of a publish_all batch.
struct outgoing_message {
    std::string body;
    publish_options options;
};

/// Per message of a batch, in order: nullopt once the broker confirmed it, otherwise why not (it
/// may or may not have reached the queue).
using publish_failures = std::vector<std::optional<std::string>>;

class publisher {
public:
    /// Runs after every (re)connect, before confirm mode is enabled; declare topology here.
    using on_connect = std::function<void(connection&)>;

    /// Does not connect yet: the first publish (or connect()) does.
    explicit publisher(connection_options options, on_connect setup = {},
                       std::chrono::milliseconds confirm_timeout = std::chrono::seconds{10});

    /// Connects now if not connected. Throws queue_error.
    void connect();

    /// Publishes `body` persistent (delivery_mode 2) as application/json, mandatory, and waits for
    /// the broker's confirm. Throws queue_error when the connection fails, the broker nacks, the
    /// message is unroutable (returned), or no confirm arrives within confirm_timeout; the
    /// connection is then dropped and the next call reconnects.
    void publish(std::string_view exchange, std::string_view routing_key, std::string_view body,
                 const publish_options& options = {});

    /// Publishes every message like publish(), to one exchange with one routing key, with up to
    /// `max_in_flight` of them sent and not yet confirmed at a time (consecutive delivery tags; the
    /// broker may ack several at once). Fails a message the broker nacks, or one not confirmed
    /// within confirm_timeout of its sending; a return (unroutable) names no delivery tag, so it
    /// fails every message then unconfirmed. When the connection fails, every message not yet
    /// confirmed fails with its reason. After any failure the connection is dropped and the next
    /// call reconnects. Never throws queue_error: failures are in the result.
    publish_failures publish_all(std::string_view exchange, std::string_view routing_key,
                                 std::span<const outgoing_message> messages, std::size_t max_in_flight = 256);

    /// publish_all(), the failed messages sent again with backoff (reconnecting) until all are
    /// confirmed or `total` has passed or `stop` is requested; returns what then still failed.
    publish_failures publish_all_with_retry(std::string_view exchange, std::string_view routing_key,
                                            std::span<const outgoing_message> messages, std::chrono::milliseconds total,
                                            std::stop_token stop = {});

    /// publish(), retried like publish_all_with_retry; throws the last queue_error when it failed.
    void publish_with_retry(std::string_view exchange, std::string_view routing_key, std::string_view body,
                            std::chrono::milliseconds total, const publish_options& options = {},
                            std::stop_token stop = {});

    /// Services heartbeats and notices a dead connection while idle (then drops it). Never throws.
    void keep_alive() noexcept;

    bool connected() const noexcept { return conn_ && conn_->usable(); }

private:
    connection& ensure_connected();

    connection_options options_;
    on_connect setup_;
    std::chrono::milliseconds confirm_timeout_;
    std::optional<connection> conn_;
    std::uint64_t next_delivery_tag_ = 1;
};

}  // namespace marquee::amqp
