#include "marquee/amqp/publisher.hpp"

#include "marquee/amqp/detail/confirm_tracker.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "rabbitmq.hpp"

#include <amqp_framing.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace marquee::amqp {
namespace {

using detail::confirm_tracker;
using std::chrono::steady_clock;

// Reads frames until one more message in flight is settled, skipping the content frames of a
// basic.return; fails the connection when the oldest is not confirmed within `timeout` of its sending.
void wait_for_a_confirm(connection& conn, confirm_tracker& tracker, std::chrono::milliseconds timeout,
                        std::string_view what) {
    const auto before = tracker.in_flight();
    while (tracker.in_flight() == before) {
        auto left =
            std::chrono::ceil<std::chrono::microseconds>(tracker.oldest_sent_at() + timeout - steady_clock::now());
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
                tracker.returned(fmt::format("{}: unroutable, returned by the broker: {} {}", what, r->reply_code,
                                             detail::to_string(r->reply_text)));
                break;
            }
            case AMQP_BASIC_ACK_METHOD: {
                auto* ack = static_cast<const amqp_basic_ack_t*>(decoded);
                tracker.settle(ack->delivery_tag, ack->multiple != 0, std::nullopt);
                break;
            }
            case AMQP_BASIC_NACK_METHOD: {
                auto* nack = static_cast<const amqp_basic_nack_t*>(decoded);
                tracker.settle(nack->delivery_tag, nack->multiple != 0,
                               fmt::format("{}: the broker refused the message (basic.nack)", what));
                break;
            }
            default:
                break;
        }
        amqp_maybe_release_buffers(conn.native());
    }
}

bool any_failed(const publish_failures& failures) {
    return std::any_of(failures.begin(), failures.end(), [](const auto& f) { return f.has_value(); });
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
    const outgoing_message message{std::string(body), options};
    auto failures = publish_all(exchange, routing_key, {&message, 1});
    if (failures[0]) throw queue_error(*failures[0]);
}

publish_failures publisher::publish_all(std::string_view exchange, std::string_view routing_key,
                                        std::span<const outgoing_message> messages, std::size_t max_in_flight) {
    if (messages.empty()) return {};
    auto what = fmt::format("amqp: publishing to {} with key '{}'", exchange, routing_key);
    max_in_flight = std::max<std::size_t>(max_in_flight, 1);
    const auto timestamp = static_cast<std::uint64_t>(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count());
    std::optional<confirm_tracker> tracker;
    try {
        auto& conn = ensure_connected();
        tracker.emplace(messages.size(), next_delivery_tag_);
        while (!tracker->all_settled()) {
            while (tracker->sent() < messages.size() && tracker->in_flight() < max_in_flight) {
                const auto& message = messages[tracker->sent()];
                amqp_basic_properties_t props{};
                props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
                props.content_type = detail::bytes("application/json");
                props.delivery_mode = 2;  // persistent
                props.timestamp = timestamp;
                std::string expiration;
                if (message.options.expiration) {
                    expiration = std::to_string(std::max<std::int64_t>(0, message.options.expiration->count()));
                    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
                    props.expiration = detail::bytes(expiration);
                }
                if (!message.options.message_id.empty()) {
                    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
                    props.message_id = detail::bytes(message.options.message_id);
                }
                ++next_delivery_tag_;
                conn.check_status(
                    amqp_basic_publish(conn.native(), connection::channel, detail::bytes(exchange),
                                       detail::bytes(routing_key), 1, 0, &props, detail::bytes(message.body)),
                    what);
                tracker->sent_one(steady_clock::now());
            }
            wait_for_a_confirm(conn, *tracker, confirm_timeout_, what);
        }
    } catch (const queue_error& e) {
        if (!tracker) tracker.emplace(messages.size(), 0);
        tracker->fail_unsettled(e.what());
    }
    auto failures = std::move(*tracker).take();
    // A connection that lost or refused a message in a batch has an uncertain state: start afresh.
    if (any_failed(failures)) conn_.reset();
    return failures;
}

publish_failures publisher::publish_all_with_retry(std::string_view exchange, std::string_view routing_key,
                                                   std::span<const outgoing_message> messages,
                                                   std::chrono::milliseconds total, std::stop_token stop) {
    auto deadline = steady_clock::now() + total;
    std::chrono::milliseconds backoff{100};
    publish_failures failures(messages.size());
    std::vector<std::size_t> pending(messages.size());  // indexes into `messages` not yet confirmed
    for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
    for (int attempt = 1;; ++attempt) {
        std::vector<outgoing_message> again;
        std::span<const outgoing_message> batch = messages;
        if (attempt > 1) {
            again.reserve(pending.size());
            for (auto i : pending) again.push_back(messages[i]);
            batch = again;
        }
        auto result = publish_all(exchange, routing_key, batch);
        std::vector<std::size_t> still;
        for (std::size_t k = 0; k < pending.size(); ++k) {
            failures[pending[k]] = std::move(result[k]);
            if (failures[pending[k]]) still.push_back(pending[k]);
        }
        if (still.empty()) {
            if (attempt > 1) log::info("amqp: published to {} after {} attempts", exchange, attempt);
            return failures;
        }
        if (steady_clock::now() + backoff >= deadline || stop.stop_requested()) return failures;
        log::warn("{} ({} of {} not confirmed; attempt {}; retrying in {} ms)", *failures[still.front()], still.size(),
                  messages.size(), attempt, backoff.count());
        pending = std::move(still);
        // Sleep in short slices so a stop request ends the wait promptly.
        auto wake = steady_clock::now() + backoff;
        while (steady_clock::now() < wake && !stop.stop_requested())
            std::this_thread::sleep_for(
                std::min<steady_clock::duration>(wake - steady_clock::now(), std::chrono::milliseconds{50}));
        backoff = std::min(backoff * 2, std::chrono::milliseconds{2000});
    }
}

void publisher::publish_with_retry(std::string_view exchange, std::string_view routing_key, std::string_view body,
                                   std::chrono::milliseconds total, const publish_options& options,
                                   std::stop_token stop) {
    const outgoing_message message{std::string(body), options};
    auto failures = publish_all_with_retry(exchange, routing_key, {&message, 1}, total, stop);
    if (failures[0]) throw queue_error(*failures[0]);
}

void publisher::keep_alive() noexcept {
    if (conn_ && !conn_->poll()) conn_.reset();
}

}  // namespace marquee::amqp
