#pragma once
// Where the scheduler gets "now" and how it waits: injected, so the loop is tested without sleeping.
#include <chrono>
#include <stop_token>

namespace marquee::scheduler {

class clock {
public:
    using time_point = std::chrono::system_clock::time_point;

    virtual ~clock() = default;
    virtual time_point now() = 0;
    /// Returns at `deadline` or as soon as `stop` is requested, whichever comes first.
    virtual void sleep_until(time_point deadline, std::stop_token stop) = 0;
};

/// The system clock; sleep_until wakes early on a stop request.
class system_clock final : public clock {
public:
    time_point now() override;
    void sleep_until(time_point deadline, std::stop_token stop) override;
};

}  // namespace marquee::scheduler
