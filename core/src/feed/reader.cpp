#include "marquee/feed/reader.hpp"

#include "marquee/feed/detail/normaliser.hpp"
#include "marquee/feed/detail/scanner.hpp"

namespace marquee::feed {

void for_each_event(std::span<char> document, const std::function<void(const event_outcome&)>& visit,
                    const read_options& options) {
    auto layout = detail::scan_feed({document.data(), document.size()}, options.batch_bytes);
    detail::normaliser_scratch scratch;
    for (const auto& batch : layout.batches)
        detail::normalise_batch(document, batch, layout.encoding, options.caps, scratch, visit);
}

}  // namespace marquee::feed
