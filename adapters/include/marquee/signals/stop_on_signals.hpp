#pragma once
// The one way a marquee process stops: SIGINT and SIGTERM become a stop request, taken by a thread
// of our own with sigwait (never a handler that could only set a flag), so the process finishes the
// work in hand. Construct it first in main, before any other thread starts: threads inherit the
// blocked signal mask. Code inside the process asks for the same stop with request_stop().
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

namespace marquee::signals {

class stop_on_signals {
public:
    stop_on_signals();
    ~stop_on_signals();
    stop_on_signals(const stop_on_signals&) = delete;
    stop_on_signals& operator=(const stop_on_signals&) = delete;

    std::stop_token token() const noexcept { return source_.get_token(); }
    /// The same stop as a signal's, e.g. from a thread that failed. Thread-safe.
    void request_stop() noexcept { source_.request_stop(); }
    /// Blocks until a signal arrives or request_stop() is called.
    void wait();

private:
    std::stop_source source_;
    std::mutex mutex_;
    std::condition_variable_any stopped_;
    std::atomic<bool> closing_{false};  // set before the destructor wakes the waiter itself
    std::jthread waiter_;
};

}  // namespace marquee::signals
