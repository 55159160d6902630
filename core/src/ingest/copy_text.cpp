#include "marquee/ingest/copy_text.hpp"

#include <array>

namespace marquee::ingest {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b0 = byte(i);
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

// Bytes that leave the plain-ASCII fast path: COPY specials, NUL, and every non-ASCII byte.
constexpr auto special_bytes = [] {
    std::array<bool, 256> table{};
    for (int c = 0x80; c < 0x100; ++c) table[static_cast<std::size_t>(c)] = true;
    for (unsigned char c : {'\\', '\t', '\n', '\r', '\0'}) table[c] = true;
    return table;
}();

}  // namespace

void append_copy_text(std::string& out, std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        // Copy the longest run of plain ASCII at once.
        std::size_t run = i;
        while (run < text.size() && !special_bytes[static_cast<unsigned char>(text[run])]) ++run;
        out.append(text.data() + i, run - i);
        i = run;
        if (i >= text.size()) break;
        auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
            case '\\':
                out += "\\\\";
                ++i;
                continue;
            case '\t':
                out += "\\t";
                ++i;
                continue;
            case '\n':
                out += "\\n";
                ++i;
                continue;
            case '\r':
                out += "\\r";
                ++i;
                continue;
            case 0:
                ++i;
                continue;
            default:
                break;
        }
        if (auto length = utf8_sequence_length(text, i)) {
            out.append(text.data() + i, length);
            i += length;
        } else {
            out += replacement_character;
            ++i;
        }
    }
}

}  // namespace marquee::ingest
