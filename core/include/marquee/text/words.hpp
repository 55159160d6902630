#pragma once
// Title words as search matches them: case- and accent-insensitive. Pure, no allocation.
//
// A word is a maximal run of letters and digits. Folding lower-cases ASCII, Greek and Cyrillic
// capitals, maps Latin-1 and Latin Extended-A letters to their ASCII base ("É" → "e", "ß" → "ss",
// "Œ" → "oe") and drops combining accents (U+0300–U+036F), so "Concièrto", "CONCIERTO" and a
// decomposed "Concie\u0300rto" are one word. Separators: ASCII other than letters and digits,
// U+0080–U+00BF, × and ÷, general punctuation (U+2000–U+206F), U+3000–U+3003, U+FFFD and every
// byte that is not valid UTF-8. Any other code point is part of a word as it is.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace marquee::text {

/// How word_reader reads its input.
enum class word_source {
    plain,       // text as is
    json_string  // the inside of a JSON string literal as json::append_string writes it: an escape is a separator
};

/// Reads the folded words of a text, one at a time:
/// `for (word_reader r(text); auto w = r.next(buffer);) …`.
class word_reader {
public:
    explicit word_reader(std::string_view text, word_source source = word_source::plain) noexcept
        : text_(text), source_(source) {}
    /// The next word, folded into `buffer`; a word longer than the buffer is cut at its size (at a
    /// byte: compare it as bytes). nullopt after the last word.
    std::optional<std::string_view> next(std::span<char> buffer) noexcept;

private:
    std::string_view text_;
    std::size_t at_ = 0;
    word_source source_;
};

/// Bits every title holding a word that starts with `folded_prefix` has in its title_signature:
/// a title's signature is the OR of word_signature over its words, and a word's signature is
/// implied by that of each of its prefixes (of one or three bytes and more). 48 bits.
std::uint64_t word_signature(std::string_view folded_prefix) noexcept;

/// The OR of word_signature over the folded words of `text`.
std::uint64_t title_signature(std::string_view text, word_source source = word_source::plain) noexcept;

/// Whether every one of `folded_prefixes` starts some word of `text` (bytewise, after folding).
/// Words of `text` longer than 256 bytes are compared by their first 256.
bool has_word_prefixes(std::string_view text, std::span<const std::string_view> folded_prefixes,
                       word_source source = word_source::plain) noexcept;

inline constexpr std::uint64_t signature_mask = (std::uint64_t{1} << 48) - 1;

}  // namespace marquee::text
