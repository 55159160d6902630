#include "deadlines.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace marquee::api::detail {

std::size_t deadline_sweep::expire(steady::time_point now) noexcept {
    std::size_t cancelled = 0;
    for (auto* slot : slots_) {
        if (slot->deadline > now) continue;
        slot->deadline = steady::time_point::max();
        boost::system::error_code ignored;
        slot->socket->cancel(ignored);
        ++cancelled;
    }
    return cancelled;
}

void deadline_sweep::cancel_idle() noexcept {
    for (auto* slot : slots_) {
        if (!slot->idle) continue;
        boost::system::error_code ignored;
        slot->socket->cancel(ignored);
    }
}

boost::asio::awaitable<void> deadline_sweep::run(boost::asio::io_context& context) {
    boost::asio::steady_timer tick(context);
    for (;;) {
        tick.expires_after(sweep_interval);
        auto [ec] = co_await tick.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec) co_return;
        expire(steady::now());
    }
}

}  // namespace marquee::api::detail
