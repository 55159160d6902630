#include "request_metrics.hpp"

#include "marquee/metrics/metrics.hpp"

#include <string>

namespace marquee::api::detail {

request_metrics::request_metrics(metrics::registry& registry) {
    for (auto which : all_routes) {
        auto ri = static_cast<std::size_t>(which);
        auto name = std::string(route_name(which));
        for (std::size_t si = 0; si < response_statuses.size(); ++si)
            requests_[ri][si] =
                &registry.make_counter("marquee_api_requests_total", "HTTP requests answered",
                                       {{"route", name}, {"status", std::to_string(response_statuses[si])}});
        latency_[ri] = &registry.make_histogram("marquee_api_request_duration_seconds",
                                                "Time from a complete request header to the response written",
                                                metrics::latency_buckets(), {{"route", name}});
    }
}

void request_metrics::record(route which, unsigned status, double seconds) noexcept {
    auto ri = static_cast<std::size_t>(which);
    requests_[ri][response_status_index(status)]->inc();
    latency_[ri]->observe(seconds);
}

}  // namespace marquee::api::detail
