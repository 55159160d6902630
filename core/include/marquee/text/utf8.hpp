#pragma once
// UTF-8 as PostgreSQL (and every JSON reader) accepts it: RFC 3629, no overlong forms, no
// surrogates, nothing above U+10FFFF.
#include <cstddef>
#include <string>
#include <string_view>

namespace marquee::text {

/// Length of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

/// Whether every byte of `s` belongs to a valid UTF-8 sequence. NUL counts as invalid: no text
/// column can hold it.
bool is_valid_utf8(std::string_view s) noexcept;

/// `value` made safe for one log line or error message: quoted, control characters, quotes,
/// backslashes and invalid UTF-8 escaped (\n, \x01), cut after `max_bytes` bytes of input with
/// the full length noted. Provider values reach logs only through this.
std::string quoted(std::string_view value, std::size_t max_bytes = 64);

}  // namespace marquee::text
