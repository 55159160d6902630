#pragma once
// Splits a feed into batches of whole children of <output> without building a DOM, so each batch
// can be parsed by pugixml as a fragment, in place, on any thread. Checks the document's outer
// structure (root <eventList>, balanced tags, nothing after the root); pugixml checks the inside
// of each batch.
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

namespace marquee::feed::detail {

enum class text_encoding { utf8, latin1 };

struct byte_range {
    std::size_t begin;
    std::size_t end;
};

/// Whole children of <output>, parsed together as one fragment. A single child larger than a
/// batch is a batch of its own, `split`: it is read event by event (for_each_child) so that no DOM
/// grows with it, however many events or zones it holds.
struct batch_range {
    std::size_t begin;
    std::size_t end;
    bool split = false;
};

struct feed_layout {
    text_encoding encoding = text_encoding::utf8;
    std::vector<batch_range> batches;
};

/// Throws feed_error when the document is empty, truncated, not XML, or not an <eventList>.
feed_layout scan_feed(std::string_view document, std::size_t batch_bytes);

/// One child element of a split element, found without a DOM, with what it holds.
struct child_element {
    std::string_view name;
    std::size_t begin;          // at '<'
    std::size_t start_tag_end;  // just after the start tag's '>'
    std::size_t end;            // just after the element
    std::size_t zones = 0;      // child elements named "zone"
    std::size_t nodes = 0;      // elements and attributes inside it
};

/// Visits each child element of the element at document[begin], in order. The element was checked
/// by scan_feed: this does not throw for a document scan_feed accepted.
void for_each_child(std::string_view document, std::size_t begin,
                    const std::function<void(const child_element&)>& visit);

}  // namespace marquee::feed::detail
