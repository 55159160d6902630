#pragma once
// Publishing with publisher confirms: a publish returns only once the broker has taken
// responsibility for the message (persisted it to the queues it routes to).
//
// One publisher per thread (see connection.hpp). Delivery is at least once: a publish that timed
// out may still have reached the queue, and publish_with_retry then sends it again, so consumers
// must tolerate duplicates (fetch jobs carry a job_id).
#include "marquee/amqp/connection.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace marquee::amqp {

struct publish_options {
    /// Per-message TTL (AMQP "expiration"): used on the retry queue for backoff.
    std::optional<std::chrono::milliseconds> expiration;
    /// AMQP message-id, e.g. the job id; shown by the management UI.
    std::string message_id;
};

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

    /// publish(), retried with backoff (reconnecting each time) until it is confirmed or `total`
    /// has passed or `stop` is requested; then throws the last queue_error.
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
