#include "clock.hpp"

#include <condition_variable>
#include <mutex>

namespace marquee::scheduler {

clock::time_point system_clock::now() {
    return std::chrono::system_clock::now();
}

void system_clock::sleep_until(time_point deadline, std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    woken.wait_until(lock, stop, deadline, [] { return false; });
}

}  // namespace marquee::scheduler
