#pragma once
// The work one feed may ask of a worker. Each is a provider setting (table providers) with these
// defaults; an event over a cap is rejected alone, its stored version stays.
#include <cstdint>

namespace marquee::feed {

struct limits {
    std::int64_t max_zones_per_event = 10'000;
    std::int64_t max_events_per_base_event = 10'000;
    /// Bytes of any attribute value marquee reads (title, ids, dates, prices, names…).
    std::int64_t max_attribute_bytes = 4'096;
    /// Rejections kept (and logged one line each) per run; the rest are only counted.
    std::int64_t max_rejections_kept = 100;

    friend bool operator==(const limits&, const limits&) = default;
};

}  // namespace marquee::feed
