#include "marquee/amqp/consumer.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "rabbitmq.hpp"

#include <amqp_framing.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace marquee::amqp {

using std::chrono::steady_clock;

consumer::consumer(const connection_options& connection, consumer_options options, const on_connect& setup)
    : conn_(connection), options_(std::move(options)) {
    if (setup) setup(conn_);
    amqp_basic_qos(conn_.native(), connection::channel, 0, options_.prefetch, 0);
    conn_.check_last_rpc("amqp: setting the prefetch");
    auto* ok = amqp_basic_consume(conn_.native(), connection::channel, detail::bytes(options_.queue), amqp_empty_bytes,
                                  0, 0, 0, amqp_empty_table);
    conn_.check_last_rpc(fmt::format("amqp: consuming from {}", options_.queue));
    consumer_tag_ = detail::to_string(ok->consumer_tag);
    log::debug("amqp: consuming from {} on {} as {}", options_.queue, conn_.describe(), consumer_tag_);
}

consumer::~consumer() {
    if (!conn_.usable()) return;
    // Stop deliveries first so nothing new arrives between the nack and the close.
    amqp_basic_cancel(conn_.native(), connection::channel, detail::bytes(consumer_tag_));
    if (amqp_get_rpc_reply(conn_.native()).reply_type != AMQP_RESPONSE_NORMAL) return;
    // Tag 0 with multiple: every outstanding delivery, including those still in our buffers.
    if (unacked_ > 0) amqp_basic_nack(conn_.native(), connection::channel, 0, 1, 1);
}

std::optional<delivery> consumer::next(std::chrono::milliseconds wait) {
    auto what = fmt::format("amqp: consuming from {}", options_.queue);
    if (!conn_.usable()) throw queue_error(what + ": connection lost");
    auto* state = conn_.native();
    amqp_maybe_release_buffers(state);
    amqp_envelope_t envelope;
    auto tv = detail::to_timeval(wait);
    auto reply = amqp_consume_message(state, &envelope, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        delivery d;
        d.delivery_tag = envelope.delivery_tag;
        d.body = detail::to_string(envelope.message.body);
        d.redelivered = envelope.redelivered != 0;
        d.routing_key = detail::to_string(envelope.routing_key);
        const auto& props = envelope.message.properties;
        if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.message_id = detail::to_string(props.message_id);
        if (props._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) d.content_type = detail::to_string(props.content_type);
        d.persistent = (props._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) && props.delivery_mode == 2;
        amqp_destroy_envelope(&envelope);
        ++unacked_;
        return d;
    }
    if (reply.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION) conn_.fail(what + ": unexpected reply");
    if (reply.library_error == AMQP_STATUS_TIMEOUT) return std::nullopt;
    if (reply.library_error != AMQP_STATUS_UNEXPECTED_STATE) conn_.check_status(reply.library_error, what);

    // Something other than a delivery is waiting; it is already buffered, so read it without waiting.
    amqp_frame_t frame;
    timeval zero{0, 0};
    int status = amqp_simple_wait_frame_noblock(state, &frame, &zero);
    if (status == AMQP_STATUS_TIMEOUT) return std::nullopt;
    conn_.check_status(status, what);
    detail::throw_if_close(conn_, frame, what);
    if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD)
        conn_.fail(what + ": the broker cancelled the consumer (queue deleted or moved)");
    return std::nullopt;
}

void consumer::ack(std::uint64_t delivery_tag) {
    conn_.check_status(amqp_basic_ack(conn_.native(), connection::channel, delivery_tag, 0), "amqp: ack");
    if (unacked_ > 0) --unacked_;
}

void consumer::reject(std::uint64_t delivery_tag, bool requeue) {
    conn_.check_status(amqp_basic_reject(conn_.native(), connection::channel, delivery_tag, requeue ? 1 : 0),
                       "amqp: reject");
    if (unacked_ > 0) --unacked_;
}

reconnecting_consumer::reconnecting_consumer(connection_options connection, consumer_options options,
                                             consumer::on_connect setup)
    : connection_(std::move(connection)), options_(std::move(options)), setup_(std::move(setup)) {}

std::optional<delivery> reconnecting_consumer::next(std::chrono::milliseconds wait) {
    if (!current_) {
        auto now = steady_clock::now();
        if (now < next_attempt_) {
            std::this_thread::sleep_for(std::min<steady_clock::duration>(next_attempt_ - now, wait));
            return std::nullopt;
        }
        try {
            current_.emplace(connection_, options_, setup_);
            ++session_;
            if (backoff_.count() > 0) log::info("amqp: consuming from {} again", options_.queue);
            backoff_ = std::chrono::milliseconds{0};
        } catch (const queue_error& e) {
            backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds{200}, std::chrono::milliseconds{5000});
            next_attempt_ = steady_clock::now() + backoff_;
            log::warn("{} (retrying in {} ms)", e.what(), backoff_.count());
            return std::nullopt;
        }
    }
    try {
        auto d = current_->next(wait);
        if (d) d->session = session_;
        return d;
    } catch (const queue_error& e) {
        drop("receiving", e);
        return std::nullopt;
    }
}

void reconnecting_consumer::ack(const delivery& d) {
    if (!current_ || d.session != session_) {
        log::debug("amqp: not acking delivery {} of a lost connection (the broker requeued it)", d.delivery_tag);
        return;
    }
    try {
        current_->ack(d.delivery_tag);
    } catch (const queue_error& e) {
        drop("acking", e);
    }
}

void reconnecting_consumer::reject(const delivery& d, bool requeue) {
    if (!current_ || d.session != session_) {
        log::debug("amqp: not rejecting delivery {} of a lost connection (the broker requeued it)", d.delivery_tag);
        return;
    }
    try {
        current_->reject(d.delivery_tag, requeue);
    } catch (const queue_error& e) {
        drop("rejecting", e);
    }
}

void reconnecting_consumer::drop(const char* what, const std::exception& e) {
    log::warn("amqp: lost the consumer while {}: {}; reconnecting", what, e.what());
    current_.reset();
    // Try again at once: the outage may already be over (a closed channel, a restarted broker).
    next_attempt_ = steady_clock::now();
}

}  // namespace marquee::amqp
