#include "signals.hpp"

#include "marquee/log/log.hpp"

#include <csignal>
#include <ctime>

#include <pthread.h>

namespace marquee::scheduler {
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
    waiter_ = std::jthread([this, set](std::stop_token own) {
        // Wakes every 200 ms to notice its own destruction.
        const timespec poll{0, 200'000'000};
        while (!own.stop_requested()) {
            int signal = sigtimedwait(&set, nullptr, &poll);
            if (signal == SIGINT || signal == SIGTERM) {
                log::info("signal {}: stopping", signal);
                source_.request_stop();
                return;
            }
        }
    });
}

stop_on_signals::~stop_on_signals() = default;

}  // namespace marquee::scheduler
