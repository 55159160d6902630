#pragma once
// Turns parsed <base_event> elements into event outcomes, applying every ingestion rule.
#include "marquee/feed/detail/scanner.hpp"
#include "marquee/feed/event_record.hpp"
#include "marquee/feed/limits.hpp"

#include <functional>
#include <vector>

namespace marquee::feed::detail {

/// Reusable per-thread scratch space, so the hot loop does not allocate per event.
struct normaliser_scratch {
    std::vector<zone_record> zones;
};

/// Parses document[batch] in place as an XML fragment (a split batch event by event) and visits
/// each <event> of each <base_event> in it. Throws feed_error when it is not well-formed XML.
void normalise_batch(std::span<char> document, const batch_range& batch, text_encoding encoding, const limits& caps,
                     normaliser_scratch& scratch, const std::function<void(const event_outcome&)>& visit);

}  // namespace marquee::feed::detail
