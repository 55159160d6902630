#include "marquee/ingest/copy_text.hpp"

#include "marquee/text/utf8.hpp"

#include <array>

namespace marquee::ingest {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

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
        if (auto length = text::utf8_sequence_length(text, i)) {
            out.append(text.data() + i, length);
            i += length;
        } else {
            out += replacement_character;
            ++i;
        }
    }
}

}  // namespace marquee::ingest
