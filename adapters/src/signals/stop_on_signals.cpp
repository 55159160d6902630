#include "marquee/signals/stop_on_signals.hpp"

#include "marquee/log/log.hpp"

#include <csignal>

#include <pthread.h>

namespace marquee::signals {
namespace {

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

stop_on_signals::stop_on_signals() {
    auto set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    waiter_ = std::jthread([this, set] {
        int signal = 0;
        if (sigwait(&set, &signal) != 0 || closing_) return;
        log::info("signal {}: stopping", signal);
        source_.request_stop();
    });
}

stop_on_signals::~stop_on_signals() {
    // sigwait has no timeout to notice destruction: wake it with a signal aimed at that thread
    // alone (a real signal that arrived first has already ended it; pthread_kill is then harmless).
    closing_ = true;
    // SIGTERM is blocked in every thread and that thread sigwaits for it: this wakes it, kills nothing.
    // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
    pthread_kill(waiter_.native_handle(), SIGTERM);
}

void stop_on_signals::wait() {
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, source_.get_token(), [] { return false; });
}

}  // namespace marquee::signals
