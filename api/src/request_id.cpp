#include "request_id.hpp"

#include <charconv>
#include <random>

namespace marquee::api::detail {

bool usable_request_id(std::string_view value) noexcept {
    if (value.empty() || value.size() > 128) return false;
    for (char c : value)
        if (c <= ' ' || c > '~') return false;
    return true;
}

request_ids::request_ids() {
    std::random_device entropy;
    prefix_ = (std::uint64_t{entropy()} << 32) ^ entropy();
}

std::string_view request_ids::id_for(std::string_view client_value) noexcept {
    if (usable_request_id(client_value)) return client_value;
    char* end = text_ + sizeof text_;
    auto prefix_end = std::to_chars(text_, end, prefix_, 16).ptr;
    // Fixed width, so ids sort and align in logs.
    std::size_t digits = static_cast<std::size_t>(prefix_end - text_);
    if (digits < 16) {
        std::char_traits<char>::move(text_ + (16 - digits), text_, digits);
        std::char_traits<char>::assign(text_, 16 - digits, '0');
    }
    text_[16] = '-';
    auto counter_end = std::to_chars(text_ + 17, end, next_++, 16).ptr;
    return {text_, static_cast<std::size_t>(counter_end - text_)};
}

}  // namespace marquee::api::detail
