#pragma once
// PostgreSQL COPY text format, written by hand because it is the ingestion's hot path.
#include <string>
#include <string_view>

namespace marquee::ingest {

/// Appends `text` as one COPY text field: backslash, tab, newline and carriage return escaped,
/// NUL dropped, and invalid UTF-8 replaced by U+FFFD (PostgreSQL would reject the whole COPY).
void append_copy_text(std::string& out, std::string_view text);

inline constexpr std::string_view copy_null = "\\N";

}  // namespace marquee::ingest
