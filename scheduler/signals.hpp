#pragma once
// SIGINT and SIGTERM as a stop request, delivered to a thread of our own (never to a handler that
// could only set a flag): construct before starting any other thread, so all threads inherit the
// blocked mask.
#include <stop_token>
#include <thread>

namespace marquee::scheduler {

class stop_on_signals {
public:
    stop_on_signals();
    ~stop_on_signals();
    stop_on_signals(const stop_on_signals&) = delete;
    stop_on_signals& operator=(const stop_on_signals&) = delete;

    std::stop_token token() const noexcept { return source_.get_token(); }

private:
    std::stop_source source_;
    std::jthread waiter_;
};

}  // namespace marquee::scheduler
