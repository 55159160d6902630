#include "marquee/json/escape.hpp"

#include <cstdint>

namespace marquee::json {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";
constexpr char hex_digits[] = "0123456789abcdef";

bool is_continuation(unsigned char c) noexcept {
    return (c & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at text[i], or 0 when it is ill-formed. `consumed`
// receives the length of the maximal ill-formed subpart to replace by one U+FFFD (at least 1).
std::size_t sequence_length(std::string_view text, std::size_t i, std::size_t& consumed) noexcept {
    auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    // The range of the second byte narrows for E0, ED, F0 and F4 (no overlongs, no surrogates,
    // nothing above U+10FFFF); see Unicode table 3-7.
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        consumed = 1;
        return 0;
    }
    std::size_t n = 1;
    for (; n < length && i + n < text.size(); ++n) {
        auto c = static_cast<unsigned char>(text[i + n]);
        bool ok = n == 1 ? (c >= low && c <= high) : is_continuation(c);
        if (!ok) break;
    }
    if (n == length) return length;
    consumed = n;
    return 0;
}

}  // namespace

void append_string(std::string& out, std::string_view text) {
    out.push_back('"');
    std::size_t i = 0;
    while (i < text.size()) {
        // Copy the longest run that needs no attention in one go: that is almost every title.
        std::size_t run = i;
        while (run < text.size()) {
            auto c = static_cast<unsigned char>(text[run]);
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
            ++run;
        }
        out.append(text.data() + i, run - i);
        i = run;
        if (i == text.size()) break;
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
            ++i;
        } else if (c < 0x20) {
            out.append("\\u00");
            out.push_back(hex_digits[c >> 4]);
            out.push_back(hex_digits[c & 0xF]);
            ++i;
        } else {
            std::size_t consumed = 0;
            std::size_t length = sequence_length(text, i, consumed);
            if (length != 0) {
                out.append(text.data() + i, length);
                i += length;
            } else {
                out.append(replacement_character);
                i += consumed;
            }
        }
    }
    out.push_back('"');
}

std::string quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_string(out, text);
    return out;
}

bool is_number(std::string_view text) noexcept {
    std::size_t i = 0;
    auto digit = [&](std::size_t at) { return at < text.size() && text[at] >= '0' && text[at] <= '9'; };
    if (i < text.size() && text[i] == '-') ++i;
    if (!digit(i)) return false;
    if (text[i] == '0') {
        ++i;
    } else {
        while (digit(i)) ++i;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    return i == text.size();
}

}  // namespace marquee::json
