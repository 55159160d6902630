#pragma once
// JSON string literals from arbitrary bytes. Stored titles are whatever a provider sent, so the
// input may be invalid UTF-8; the output is always valid UTF-8 JSON.
#include <string>
#include <string_view>

namespace marquee::json {

/// Appends `text` to `out` as a JSON string literal, quotes included. '"' and '\' are escaped,
/// control characters (U+0000-U+001F) become \u00XX, other valid UTF-8 passes through unchanged,
/// and each maximal ill-formed subsequence (Unicode 15, section 3.9) becomes one U+FFFD.
/// Throws only std::bad_alloc.
void append_string(std::string& out, std::string_view text);

/// append_string into a new string.
std::string quote(std::string_view text);

/// True when `text` is a JSON number (RFC 8259 grammar: -?int frac? exp?). PostgreSQL's text of a
/// numeric is one, except for NaN and the infinities.
bool is_number(std::string_view text) noexcept;

}  // namespace marquee::json
