#pragma once
// One AMQP 0-9-1 connection to RabbitMQ (rabbitmq-c) with one channel.
//
// Threads: rabbitmq-c connection handles are not thread-safe. A connection — and the publisher or
// consumer that owns it — belongs to one thread at a time; give each thread its own. Delivery tags
// are per connection: ack a delivery through the consumer that received it.
//
// Deadlines: the TCP connect and the login handshake are bounded by connect_timeout, every RPC
// (declare, qos, consume, confirm.select, cancel, close) by rpc_timeout. A timed-out RPC leaves the
// connection unusable (rabbitmq-c closes it): callers drop the object and connect again.
#include "marquee/config/config.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct amqp_connection_state_t_;
struct amqp_rpc_reply_t_;

namespace marquee::amqp {

struct connection_options {
    config::amqp_settings server;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds rpc_timeout{10000};
    /// Negotiated with the broker; 0 disables heartbeats. Heartbeats are only sent while the
    /// owner calls into the connection (consumer::next, publisher::keep_alive, publishing).
    std::chrono::seconds heartbeat{30};
};

/// An open connection with channel 1 open. Move-only; closing is best-effort and never throws.
class connection {
public:
    static constexpr std::uint16_t channel = 1;

    /// Connects, logs in and opens the channel. Throws queue_error naming the server and, when the
    /// broker refused, its reply text (e.g. "ACCESS_REFUSED - Login was refused ...").
    explicit connection(const connection_options& options);
    ~connection();
    connection(connection&&) noexcept = default;
    connection& operator=(connection&&) noexcept = default;

    /// The rabbitmq-c handle, for the amqp adapters' own use.
    amqp_connection_state_t_* native() const noexcept { return state_.get(); }
    const connection_options& options() const noexcept { return options_; }
    /// False once the socket failed, an RPC timed out or the broker closed the channel/connection.
    bool usable() const noexcept { return state_ && usable_; }

    /// Throws queue_error("<what>: <reason>") unless the last RPC on this connection succeeded.
    /// Server-initiated closes are answered (close-ok) so the broker's reply text is preserved.
    void check_last_rpc(std::string_view what);
    /// The same for a reply returned by rabbitmq-c (amqp_login, amqp_channel_close, …).
    void check_reply(const amqp_rpc_reply_t_& reply, std::string_view what);
    /// Throws queue_error("<what>: <status text>") when `status` (an amqp_status_enum) is an error.
    void check_status(int status, std::string_view what);
    /// Marks the connection unusable and throws queue_error(message).
    [[noreturn]] void fail(const std::string& message);
    /// After the broker closed the channel with a soft error (e.g. 406 PRECONDITION_FAILED for a
    /// redeclaration with other arguments) and the caller answered channel.close-ok: opens the
    /// channel again. Throws queue_error.
    void reopen_channel();

    /// Reads what the broker sent without waiting (heartbeats, a connection.close), so an idle
    /// connection stays alive and a dead one is noticed. Returns usable(). Discards any other
    /// frame, so it is for publishing connections, never for one with a consumer on it.
    bool poll() noexcept;

    /// The broker's "host:port/vhost", for log lines.
    std::string describe() const;

private:
    struct state_deleter {
        void operator()(amqp_connection_state_t_* state) const noexcept;
    };

    std::unique_ptr<amqp_connection_state_t_, state_deleter> state_;
    connection_options options_;
    bool usable_ = false;
    bool channel_open_ = false;
};

}  // namespace marquee::amqp
