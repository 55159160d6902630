#include "marquee/text/utf8.hpp"

#include <fmt/format.h>

namespace marquee::text {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b0 = byte(i);
    if (b0 < 0x80) return b0 == 0 ? 0 : 1;
    std::size_t need;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + need >= s.size()) return 0;
    unsigned char b1 = byte(i + 1);
    if (b1 < lo || b1 > hi) return 0;
    for (std::size_t k = 2; k <= need; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    return need + 1;
}

bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        // Plain ASCII is nearly all of it: skip it a byte at a time without the general decoder.
        auto c = static_cast<unsigned char>(s[i]);
        if (c != 0 && c < 0x80) {
            ++i;
            continue;
        }
        auto length = utf8_sequence_length(s, i);
        if (length == 0) return false;
        i += length;
    }
    return true;
}

std::string quoted(std::string_view value, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(value.size(), max_bytes) + 8);
    out.push_back('\'');
    std::size_t i = 0;
    while (i < value.size() && i < max_bytes) {
        auto c = static_cast<unsigned char>(value[i]);
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\'':
                out += "\\'";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += fmt::format("\\x{:02x}", c);
                } else if (c >= 0x80) {
                    auto length = utf8_sequence_length(value, i);
                    if (length == 0 || i + length > max_bytes) {
                        out += fmt::format("\\x{:02x}", c);
                    } else {
                        out.append(value.data() + i, length);
                        i += length;
                        continue;
                    }
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
        ++i;
    }
    out.push_back('\'');
    if (i < value.size()) out += fmt::format("… ({} bytes)", value.size());
    return out;
}

}  // namespace marquee::text
