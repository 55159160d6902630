#pragma once
// Turns parsed <base_event> elements into event outcomes, applying every ingestion rule.
#include "marquee/feed/detail/scanner.hpp"
#include "marquee/feed/event_record.hpp"

#include <functional>
#include <vector>

namespace marquee::feed::detail {

/// Reusable per-thread scratch space, so the hot loop does not allocate per event.
struct normaliser_scratch {
    std::vector<zone_record> zones;
};

/// Parses document[range] in place as an XML fragment and visits each <event> of each
/// <base_event> in it. Throws feed_error when the fragment is not well-formed XML.
void normalise_batch(std::span<char> document, byte_range range, text_encoding encoding, normaliser_scratch& scratch,
                     const std::function<void(const event_outcome&)>& visit);

}  // namespace marquee::feed::detail
