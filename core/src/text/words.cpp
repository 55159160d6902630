#include "marquee/text/words.hpp"

#include "marquee/hash/mix.hpp"
#include "marquee/text/utf8.hpp"

#include <array>

namespace marquee::text {
namespace {

// U+00C0–U+017F folded; "" is a separator (× and ÷).
constexpr std::array<std::string_view, 0x180 - 0xC0> latin_folds{
    "a", "a", "a",  "a",  "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // U+00C0
    "d", "n", "o",  "o",  "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  // U+00D0
    "a", "a", "a",  "a",  "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // U+00E0
    "d", "n", "o",  "o",  "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",   // U+00F0
    "a", "a", "a",  "a",  "a", "a", "c",  "c", "c", "c", "c", "c", "c", "c", "d",  "d",   // U+0100
    "d", "d", "e",  "e",  "e", "e", "e",  "e", "e", "e", "e", "e", "g", "g", "g",  "g",   // U+0110
    "g", "g", "g",  "g",  "h", "h", "h",  "h", "i", "i", "i", "i", "i", "i", "i",  "i",   // U+0120
    "i", "i", "ij", "ij", "j", "j", "k",  "k", "k", "l", "l", "l", "l", "l", "l",  "l",   // U+0130
    "l", "l", "l",  "n",  "n", "n", "n",  "n", "n", "n", "n", "n", "o", "o", "o",  "o",   // U+0140
    "o", "o", "oe", "oe", "r", "r", "r",  "r", "r", "r", "s", "s", "s", "s", "s",  "s",   // U+0150
    "s", "s", "t",  "t",  "t", "t", "t",  "t", "u", "u", "u", "u", "u", "u", "u",  "u",   // U+0160
    "u", "u", "u",  "u",  "w", "w", "y",  "y", "y", "z", "z", "z", "z", "z", "z",  "s",   // U+0170
};

// What one code point contributes to a word.
struct folded {
    enum class kind { letters, separator, nothing } what;
    std::string_view bytes;  // for letters: the folded bytes (into `scratch` or the table)
};

std::size_t encode_utf8(char32_t c, std::array<char, 4>& out) noexcept {
    if (c < 0x800) {
        out[0] = static_cast<char>(0xC0 | (c >> 6));
        out[1] = static_cast<char>(0x80 | (c & 0x3F));
        return 2;
    }
    out[0] = static_cast<char>(0xE0 | (c >> 12));
    out[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (c & 0x3F));
    return 3;
}

char32_t decode_utf8(std::string_view s) noexcept {
    auto byte = [&](std::size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(s[i])); };
    switch (s.size()) {
        case 1:
            return byte(0);
        case 2:
            return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
        case 3:
            return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
        default:
            return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    }
}

folded fold(std::string_view sequence, std::array<char, 4>& scratch) noexcept {
    using kind = folded::kind;
    char32_t c = decode_utf8(sequence);
    if (c < 0x80) {
        char ascii = static_cast<char>(c);
        if (ascii >= 'A' && ascii <= 'Z') ascii = static_cast<char>(ascii - 'A' + 'a');
        bool alphanumeric = (ascii >= 'a' && ascii <= 'z') || (ascii >= '0' && ascii <= '9');
        if (!alphanumeric) return {kind::separator, {}};
        scratch[0] = ascii;
        return {kind::letters, {scratch.data(), 1}};
    }
    if (c < 0xC0) return {kind::separator, {}};
    if (c < 0x180) {
        auto ascii = latin_folds[c - 0xC0];
        return ascii.empty() ? folded{kind::separator, {}} : folded{kind::letters, ascii};
    }
    if (c >= 0x300 && c <= 0x36F) return {kind::nothing, {}};
    if ((c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x3003) || c == 0xFFFD) return {kind::separator, {}};
    char32_t lower = c;
    if ((c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F))
        lower = c + 0x20;
    else if (c >= 0x400 && c <= 0x40F)
        lower = c + 0x50;
    if (lower != c) return {kind::letters, {scratch.data(), encode_utf8(lower, scratch)}};
    return {kind::letters, sequence};
}

}  // namespace

std::optional<std::string_view> word_reader::next(std::span<char> buffer) noexcept {
    std::size_t length = 0;
    bool in_word = false;
    std::array<char, 4> scratch{};
    while (at_ < text_.size()) {
        // ASCII, most of most titles, without decoding: a letter or digit joins the word (lower
        // case), anything else but a JSON escape ends it.
        if (auto c = text_[at_]; static_cast<unsigned char>(c) < 0x80 && c != '\\') {
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                in_word = true;
                if (length < buffer.size()) buffer[length++] = c;
                ++at_;
                continue;
            }
            ++at_;
            if (in_word) break;
            continue;
        }
        folded f{folded::kind::separator, {}};
        if (source_ == word_source::json_string && text_[at_] == '\\') {
            at_ += at_ + 1 < text_.size() && text_[at_ + 1] == 'u' ? 6 : 2;
        } else if (auto n = utf8_sequence_length(text_, at_); n == 0) {
            ++at_;
        } else {
            f = fold(text_.substr(at_, n), scratch);
            at_ += n;
        }
        if (f.what == folded::kind::separator) {
            if (in_word) break;
            continue;
        }
        if (f.what == folded::kind::nothing) continue;
        in_word = true;
        for (char c : f.bytes)
            if (length < buffer.size()) buffer[length++] = c;
    }
    if (at_ > text_.size()) at_ = text_.size();
    if (!in_word) return std::nullopt;
    return std::string_view(buffer.data(), length);
}

std::uint64_t word_signature(std::string_view folded_prefix) noexcept {
    if (folded_prefix.empty()) return 0;
    auto first = static_cast<unsigned char>(folded_prefix[0]);
    std::uint64_t bits = std::uint64_t{1} << (hash::mix(1, first) % 12);
    if (folded_prefix.size() >= 3) {
        std::uint64_t three = first | (static_cast<std::uint64_t>(static_cast<unsigned char>(folded_prefix[1])) << 8) |
                              (static_cast<std::uint64_t>(static_cast<unsigned char>(folded_prefix[2])) << 16);
        bits |= std::uint64_t{1} << (12 + hash::mix(3, three) % 36);
    }
    return bits;
}

std::uint64_t title_signature(std::string_view text, word_source source) noexcept {
    std::array<char, 3> buffer{};
    std::uint64_t bits = 0;
    for (word_reader words(text, source); auto word = words.next(buffer);) bits |= word_signature(*word);
    return bits;
}

bool has_word_prefixes(std::string_view text, std::span<const std::string_view> folded_prefixes,
                       word_source source) noexcept {
    if (folded_prefixes.size() > 64) return false;
    const std::uint64_t all =
        folded_prefixes.size() == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << folded_prefixes.size()) - 1;
    std::uint64_t found = 0;
    std::array<char, 256> buffer{};
    for (word_reader words(text, source); found != all;) {
        auto word = words.next(buffer);
        if (!word) return false;
        for (std::size_t i = 0; i < folded_prefixes.size(); ++i) {
            auto prefix = folded_prefixes[i];
            // The first byte decides most comparisons; no call for those.
            if (prefix.empty() || (word->size() >= prefix.size() && (*word)[0] == prefix[0] &&
                                   word->compare(0, prefix.size(), prefix) == 0))
                found |= std::uint64_t{1} << i;
        }
    }
    return true;
}

}  // namespace marquee::text
