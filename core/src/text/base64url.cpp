#include "marquee/text/base64url.hpp"

#include <array>

namespace marquee::text {
namespace {

constexpr std::string_view digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t not_a_digit = 0xff;

// Each byte's value as a base64url digit, not_a_digit for the rest.
constexpr auto digit_values = [] {
    std::array<std::uint8_t, 256> values{};
    values.fill(not_a_digit);
    for (std::size_t i = 0; i < digits.size(); ++i)
        values[static_cast<unsigned char>(digits[i])] = static_cast<std::uint8_t>(i);
    return values;
}();

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::uint32_t pending = 0;  // bits not written yet, the oldest highest
    int pending_bits = 0;
    for (std::uint8_t byte : bytes) {
        pending = (pending << 8) | byte;
        pending_bits += 8;
        while (pending_bits >= 6) {
            pending_bits -= 6;
            out.push_back(digits[(pending >> pending_bits) & 63]);
        }
    }
    if (pending_bits > 0) out.push_back(digits[(pending << (6 - pending_bits)) & 63]);
    return out;
}

std::optional<std::size_t> base64url_decode(std::string_view text, std::span<std::uint8_t> out) noexcept {
    // Four digits hold three bytes, two one and three two; a lone digit holds none.
    if (text.size() % 4 == 1) return std::nullopt;
    std::size_t written = 0;
    std::uint32_t pending = 0;
    int pending_bits = 0;
    for (char c : text) {
        auto value = digit_values[static_cast<unsigned char>(c)];
        if (value == not_a_digit) return std::nullopt;
        pending = ((pending << 6) | value) & 0xfff;
        pending_bits += 6;
        if (pending_bits >= 8) {
            pending_bits -= 8;
            if (written == out.size()) return std::nullopt;
            out[written++] = static_cast<std::uint8_t>(pending >> pending_bits);
            pending &= (1U << pending_bits) - 1;
        }
    }
    // The last digit's unused bits are zero in what base64url_encode writes.
    if (pending != 0) return std::nullopt;
    return written;
}

}  // namespace marquee::text
