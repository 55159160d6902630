#pragma once
// How transient failures are retried: exponential backoff through the TTL'd retry queue, up to a
// maximum number of attempts.
#include <algorithm>
#include <chrono>

namespace marquee::worker {

struct retry_policy {
    int max_attempts = 5;
    std::chrono::milliseconds first_delay{5'000};
    std::chrono::milliseconds max_delay{300'000};

    /// The wait before attempt `attempt` (2 for the first retry): first_delay doubled per retry.
    std::chrono::milliseconds delay_before(int attempt) const noexcept {
        auto delay = first_delay;
        for (int a = 2; a < attempt && delay < max_delay; ++a) delay *= 2;
        return std::min(delay, max_delay);
    }
};

}  // namespace marquee::worker
