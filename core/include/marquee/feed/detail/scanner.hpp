#pragma once
// Splits a feed into batches of whole children of <output> without building a DOM, so each batch
// can be parsed by pugixml as a fragment, in place, on any thread. Checks the document's outer
// structure (root <eventList>, balanced tags, nothing after the root); pugixml checks the inside
// of each batch.
#include <cstddef>
#include <string_view>
#include <vector>

namespace marquee::feed::detail {

enum class text_encoding { utf8, latin1 };

struct byte_range {
    std::size_t begin;
    std::size_t end;
};

struct feed_layout {
    text_encoding encoding = text_encoding::utf8;
    std::vector<byte_range> batches;
};

/// Throws feed_error when the document is empty, truncated, not XML, or not an <eventList>.
feed_layout scan_feed(std::string_view document, std::size_t batch_bytes);

}  // namespace marquee::feed::detail
