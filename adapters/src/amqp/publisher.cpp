#include "marquee/amqp/publisher.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "rabbitmq.hpp"

#include <amqp_framing.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace marquee::amqp {
namespace {

using std::chrono::steady_clock;

// Waits for the broker's confirm of `tag`; skips the content frames of a basic.return.
void wait_for_confirm(connection& conn, std::uint64_t tag, std::chrono::milliseconds timeout, std::string_view what) {
    auto deadline = steady_clock::now() + timeout;
    std::string returned;
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - steady_clock::now());
        if (left.count() <= 0)
            conn.fail(fmt::format("{}: not confirmed by the broker within {} ms", what, timeout.count()));
        auto tv = detail::to_timeval(left);
        amqp_frame_t frame;
        int status = amqp_simple_wait_frame_noblock(conn.native(), &frame, &tv);
        if (status == AMQP_STATUS_TIMEOUT) continue;
        conn.check_status(status, what);
        if (frame.frame_type != AMQP_FRAME_METHOD || frame.channel != connection::channel) continue;
        detail::throw_if_close(conn, frame, what);
        auto* decoded = frame.payload.method.decoded;
        switch (frame.payload.method.id) {
            case AMQP_BASIC_RETURN_METHOD: {
                auto* r = static_cast<const amqp_basic_return_t*>(decoded);
                returned = fmt::format("{} {}", r->reply_code, detail::to_string(r->reply_text));
                break;
            }
            case AMQP_BASIC_ACK_METHOD: {
                auto* ack = static_cast<const amqp_basic_ack_t*>(decoded);
                if (ack->delivery_tag == tag || (ack->multiple && ack->delivery_tag > tag)) {
                    if (!returned.empty())
                        throw queue_error(fmt::format("{}: unroutable, returned by the broker: {}", what, returned));
                    return;
                }
                break;
            }
            case AMQP_BASIC_NACK_METHOD: {
                auto* nack = static_cast<const amqp_basic_nack_t*>(decoded);
                if (nack->delivery_tag == tag || (nack->multiple && nack->delivery_tag > tag))
                    throw queue_error(fmt::format("{}: the broker refused the message (basic.nack)", what));
                break;
            }
            default:
                break;
        }
    }
}

}  // namespace

publisher::publisher(connection_options options, on_connect setup, std::chrono::milliseconds confirm_timeout)
    : options_(std::move(options)), setup_(std::move(setup)), confirm_timeout_(confirm_timeout) {}

void publisher::connect() {
    ensure_connected();
}

connection& publisher::ensure_connected() {
    if (conn_ && conn_->poll()) return *conn_;
    conn_.reset();
    try {
        conn_.emplace(options_);
        if (setup_) setup_(*conn_);
        amqp_confirm_select(conn_->native(), connection::channel);
        conn_->check_last_rpc("amqp: enabling publisher confirms");
    } catch (...) {
        conn_.reset();
        throw;
    }
    next_delivery_tag_ = 1;
    return *conn_;
}

void publisher::publish(std::string_view exchange, std::string_view routing_key, std::string_view body,
                        const publish_options& options) {
    auto what = fmt::format("amqp: publishing to {} with key '{}'", exchange, routing_key);
    auto& conn = ensure_connected();

    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
    props.content_type = detail::bytes("application/json");
    props.delivery_mode = 2;  // persistent
    props.timestamp = static_cast<std::uint64_t>(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count());
    std::string expiration;
    if (options.expiration) {
        expiration = std::to_string(std::max<std::int64_t>(0, options.expiration->count()));
        props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
        props.expiration = detail::bytes(expiration);
    }
    if (!options.message_id.empty()) {
        props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        props.message_id = detail::bytes(options.message_id);
    }

    auto tag = next_delivery_tag_++;
    try {
        conn.check_status(amqp_basic_publish(conn.native(), connection::channel, detail::bytes(exchange),
                                             detail::bytes(routing_key), 1, 0, &props, detail::bytes(body)),
                          what);
        wait_for_confirm(conn, tag, confirm_timeout_, what);
    } catch (const queue_error&) {
        // A connection with an unconfirmed publish in flight has an unknown state: start afresh.
        conn_.reset();
        throw;
    }
}

void publisher::publish_with_retry(std::string_view exchange, std::string_view routing_key, std::string_view body,
                                   std::chrono::milliseconds total, const publish_options& options,
                                   std::stop_token stop) {
    auto deadline = steady_clock::now() + total;
    std::chrono::milliseconds backoff{100};
    for (int attempt = 1;; ++attempt) {
        try {
            publish(exchange, routing_key, body, options);
            if (attempt > 1) log::info("amqp: published to {} after {} attempts", exchange, attempt);
            return;
        } catch (const queue_error& e) {
            auto now = steady_clock::now();
            if (now + backoff >= deadline || stop.stop_requested()) throw;
            log::warn("{} (attempt {}; retrying in {} ms)", e.what(), attempt, backoff.count());
        }
        // Sleep in short slices so a stop request ends the wait promptly.
        auto wake = steady_clock::now() + backoff;
        while (steady_clock::now() < wake && !stop.stop_requested())
            std::this_thread::sleep_for(
                std::min<steady_clock::duration>(wake - steady_clock::now(), std::chrono::milliseconds{50}));
        backoff = std::min(backoff * 2, std::chrono::milliseconds{2000});
    }
}

void publisher::keep_alive() noexcept {
    if (conn_ && !conn_->poll()) conn_.reset();
}

}  // namespace marquee::amqp
