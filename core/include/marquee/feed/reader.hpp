#pragma once
// Reading a whole feed: the scanner splits it into batches of <base_event> elements, pugixml parses
// each batch in place as a fragment, and the normaliser turns every <event> into an event_outcome.
#include "marquee/feed/event_record.hpp"
#include "marquee/feed/limits.hpp"

#include <cstddef>
#include <functional>
#include <span>

namespace marquee::feed {

struct read_options {
    /// Bytes of feed per batch; a batch's DOM (about 4x its size) lives only while it is normalised.
    std::size_t batch_bytes = std::size_t{4} << 20;
    limits caps;
};

/// Visits every <event> in document order on the calling thread. The buffer is modified in place.
/// Throws feed_error when the feed as a whole cannot be read.
void for_each_event(std::span<char> document, const std::function<void(const event_outcome&)>& visit,
                    const read_options& options = {});

}  // namespace marquee::feed
