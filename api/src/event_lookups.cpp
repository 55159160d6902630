#include "event_lookups.hpp"

#include "marquee/metrics/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>
#include <variant>

namespace marquee::api::detail {
namespace {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

// What a lookup's completion, on a reader thread, shares with the session waiting for it. Touched
// only on the session's thread: the completion posts there.
struct waiter {
    std::shared_ptr<const event_answer> answer;
    bool done = false;
    asio::steady_timer* timer = nullptr;  // null once the session stopped waiting
};

}  // namespace

event_lookups::event_lookups(const data_access& data, const server_options& options, std::string_view cache_control,
                             metrics::registry& registry)
    : data_(data),
      max_age_(options.cache_max_age),
      timeout_(options.event_timeout),
      cache_control_(cache_control),
      cache_(options.event_cache_bytes),
      hits_(registry.make_counter("marquee_api_event_cache_hits_total",
                                  "Event and history requests answered from a fresh cached answer")),
      misses_(registry.make_counter("marquee_api_event_cache_misses_total",
                                    "Event and history requests that asked the database (nothing cached, or older "
                                    "than --cache-max-age)")),
      failed_(registry.make_counter("marquee_api_event_lookups_failed_total",
                                    "Event and history lookups the database did not answer: unreachable, a failed "
                                    "statement, past --event-timeout or the queue full")),
      stale_(registry.make_counter("marquee_api_event_stale_answers_total",
                                   "Event and history requests answered from an older cached answer because the "
                                   "database did not answer")) {
    registry.make_callback_gauge("marquee_api_event_cache_bytes", "Bytes the event answer cache holds",
                                 [this] { return static_cast<double>(cache_.bytes()); });
}

asio::awaitable<response> event_lookups::answer(request req) {
    auto parsed = parse_event_request(req);
    if (auto* refused = std::get_if<response>(&parsed)) co_return std::move(*refused);
    const auto& target = std::get<event_target>(parsed);

    auto cached = cache_.find(target.cache_key);
    if (cached && steady::now() - cached->read_at < max_age_) {
        hits_.inc();
        co_return event_response(*cached, target.which, req.if_none_match, cache_control_);
    }
    misses_.inc();
    auto fresh = co_await read(target);
    if (fresh) co_return event_response(*fresh, target.which, req.if_none_match, cache_control_);
    failed_.inc();
    if (cached) {
        stale_.inc();
        co_return event_response(*cached, target.which, req.if_none_match, cache_control_);
    }
    co_return error_response(error_kind::unavailable, target.which, events_unavailable_message);
}

asio::awaitable<std::shared_ptr<const event_answer>> event_lookups::read(const event_target& target) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    auto shared = std::make_shared<waiter>();
    shared->timer = &timer;
    struct stop_waiting {
        waiter& w;
        ~stop_waiting() { w.timer = nullptr; }
    } guard{*shared};

    const auto deadline = steady::now() + timeout_;
    // The rows are rendered on the reader's thread, the answer cached and handed over on this one.
    auto done = [this, shared, executor, target](std::optional<events::lookup_result> rows) {
        std::shared_ptr<const event_answer> answer;
        if (rows) {
            try {
                answer = render_event_answer(target, *rows, steady::now());
            } catch (const std::bad_alloc&) {
                answer = nullptr;  // as if the database had not answered
            }
        }
        asio::post(executor, [this, shared, key = target.cache_key, answer = std::move(answer)]() mutable {
            if (answer) cache_.insert(key, answer);
            shared->answer = std::move(answer);
            shared->done = true;
            if (shared->timer) shared->timer->cancel();
        });
    };
    if (!data_.lookup_event(target.lookup, deadline, std::move(done))) co_return nullptr;  // the queue is full

    timer.expires_at(deadline);
    while (!shared->done) {
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!ec) break;  // the deadline passed
    }
    co_return shared->answer;
}

}  // namespace marquee::api::detail
