#include "oversize_body.hpp"

#include <algorithm>
#include <string_view>

namespace marquee::provider_mock {
namespace {

constexpr std::string_view head =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<eventList version=\"1.0\"><output>\n<!-- ";
constexpr std::string_view tail = " -->\n</output></eventList>\n";
// Comment text may not contain "--"; a line break now and then keeps line-based tools happy.
constexpr std::string_view padding = "padding padding padding padding padding padding padding padding\n";

}  // namespace

char oversize_body::at(std::uint64_t offset) const noexcept {
    // Too small to hold the frame: plain spaces of the requested size.
    if (size_ < head.size() + tail.size()) return ' ';
    if (offset < head.size()) return head[offset];
    const auto tail_start = size_ - tail.size();
    if (offset >= tail_start) return tail[offset - tail_start];
    return padding[(offset - head.size()) % padding.size()];
}

std::size_t oversize_body::read(std::uint64_t offset, std::span<char> out) const noexcept {
    if (offset >= size_) return 0;
    const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
    for (std::size_t i = 0; i < count; ++i) out[i] = at(offset + i);
    return count;
}

}  // namespace marquee::provider_mock
