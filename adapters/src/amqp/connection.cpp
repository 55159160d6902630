#include "marquee/amqp/connection.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "rabbitmq.hpp"

#include <amqp_tcp_socket.h>
#include <fmt/format.h>

namespace marquee::amqp {
namespace {

std::string close_reason(std::uint16_t code, amqp_bytes_t text) {
    return fmt::format("{} {}", code, detail::to_string(text));
}

}  // namespace

namespace detail {

void throw_if_close(connection& conn, const amqp_frame_t& frame, std::string_view what) {
    if (frame.frame_type != AMQP_FRAME_METHOD) return;
    auto* state = conn.native();
    if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
        auto reason = close_reason(m->reply_code, m->reply_text);
        amqp_channel_close_ok_t ok{};
        amqp_send_method(state, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        conn.fail(fmt::format("{}: broker closed the channel: {}", what, reason));
    }
    if (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
        auto reason = close_reason(m->reply_code, m->reply_text);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        conn.fail(fmt::format("{}: broker closed the connection: {}", what, reason));
    }
}

}  // namespace detail

void connection::state_deleter::operator()(amqp_connection_state_t_* state) const noexcept {
    amqp_destroy_connection(state);
}

connection::connection(const connection_options& options) : options_(options) {
    state_.reset(amqp_new_connection());
    if (!state_) throw queue_error("amqp: cannot allocate a connection");
    auto* socket = amqp_tcp_socket_new(state_.get());
    if (socket == nullptr) throw queue_error("amqp: cannot allocate a socket");

    auto connect_timeout = detail::to_timeval(options.connect_timeout);
    int status = amqp_socket_open_noblock(socket, options.server.host.c_str(), options.server.port, &connect_timeout);
    if (status != AMQP_STATUS_OK)
        throw queue_error(fmt::format("amqp: cannot connect to {}:{}: {}", options.server.host, options.server.port,
                                      amqp_error_string2(status)));
    amqp_set_handshake_timeout(state_.get(), &connect_timeout);
    auto rpc_timeout = detail::to_timeval(options.rpc_timeout);
    amqp_set_rpc_timeout(state_.get(), &rpc_timeout);

    usable_ = true;
    auto reply = amqp_login(state_.get(), options.server.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE,
                            static_cast<int>(options.heartbeat.count()), AMQP_SASL_METHOD_PLAIN,
                            options.server.user.c_str(), options.server.password.c_str());
    check_reply(reply, "amqp: login to " + describe());
    amqp_channel_open(state_.get(), channel);
    check_last_rpc("amqp: opening a channel on " + describe());
    channel_open_ = true;
}

connection::~connection() {
    if (!usable()) return;
    // Best effort, bounded by the RPC timeout: the broker requeues unacked deliveries either way.
    if (channel_open_) amqp_channel_close(state_.get(), channel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_.get(), AMQP_REPLY_SUCCESS);
}

void connection::check_last_rpc(std::string_view what) {
    check_reply(amqp_get_rpc_reply(state_.get()), what);
}

void connection::check_reply(const amqp_rpc_reply_t& reply, std::string_view what) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return;
        case AMQP_RESPONSE_NONE:
            fail(fmt::format("{}: no reply from the broker", what));
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            fail(fmt::format("{}: {}", what, amqp_error_string2(reply.library_error)));
        case AMQP_RESPONSE_SERVER_EXCEPTION: {
            amqp_frame_t frame{};
            frame.frame_type = AMQP_FRAME_METHOD;
            frame.channel = reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD ? 0 : channel;
            frame.payload.method = reply.reply;
            if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) channel_open_ = false;
            detail::throw_if_close(*this, frame, what);
            fail(fmt::format("{}: unexpected reply {}", what, amqp_method_name(reply.reply.id)));
        }
    }
    fail(fmt::format("{}: unknown reply type", what));
}

void connection::check_status(int status, std::string_view what) {
    if (status < 0) fail(fmt::format("{}: {}", what, amqp_error_string2(status)));
}

void connection::fail(const std::string& message) {
    usable_ = false;
    throw queue_error(message);
}

void connection::reopen_channel() {
    if (!usable_) throw queue_error("amqp: connection to " + describe() + " is closed");
    // The caller has answered the broker's channel.close; the channel number is free again.
    channel_open_ = false;
    amqp_channel_open(state_.get(), channel);
    check_last_rpc("amqp: reopening the channel on " + describe());
    channel_open_ = true;
}

bool connection::poll() noexcept {
    if (!usable()) return false;
    try {
        timeval zero{0, 0};
        for (;;) {
            amqp_frame_t frame;
            int status = amqp_simple_wait_frame_noblock(state_.get(), &frame, &zero);
            if (status == AMQP_STATUS_TIMEOUT) return true;
            check_status(status, "amqp: reading from " + describe());
            detail::throw_if_close(*this, frame, "amqp: " + describe());
        }
    } catch (const std::exception& e) {
        log::warn("{}", e.what());
        return false;
    }
}

std::string connection::describe() const {
    return fmt::format("{}:{}/{}", options_.server.host, options_.server.port, options_.server.vhost);
}

}  // namespace marquee::amqp
