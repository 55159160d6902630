#pragma once
// marquee_api_requests_total by route and status, and marquee_api_request_duration_seconds by
// route: every counter registered up front, so counting a request is one relaxed atomic add.
#include "marquee/api/handler.hpp"

#include <array>

namespace marquee::metrics {
class counter;
class histogram;
class registry;
}  // namespace marquee::metrics

namespace marquee::api::detail {

class request_metrics {
public:
    /// Registers the metrics in `registry`, which must outlive this.
    explicit request_metrics(metrics::registry& registry);

    /// Counts one answered request and the seconds from its complete head to its written response.
    void record(route which, unsigned status, double seconds) noexcept;

private:
    std::array<std::array<metrics::counter*, response_statuses.size()>, route_count> requests_{};
    std::array<metrics::histogram*, route_count> latency_{};
};

}  // namespace marquee::api::detail
