#pragma once
// The /search query string: which events a request asks for. Pure parsing, no I/O; a bad query is
// an ordinary outcome and comes back as a value.
#include "marquee/time/local_datetime.hpp"

#include <optional>
#include <string_view>
#include <variant>

namespace marquee::search {

/// Both bounds are inclusive; an absent bound is open.
struct query {
    /// Events that start at or after this instant.
    std::optional<time::instant> starts_at;
    /// Events that end at or before this instant.
    std::optional<time::instant> ends_at;

    friend bool operator==(const query&, const query&) = default;
};

struct query_error {
    enum class kind {
        invalid_parameter,  // unparsable, empty or repeated starts_at/ends_at
        invalid_range,      // starts_at after ends_at
    };
    kind what;
    /// Human-readable, names the parameter, never echoes the request. Points to static storage.
    std::string_view message;
};

using parse_result = std::variant<query, query_error>;

/// The longest decoded starts_at/ends_at value considered; anything longer is not a date-time we
/// accept (RFC 3339 needs 35 characters with six fraction digits).
inline constexpr std::size_t max_value_length = 64;

/// Parses the query string of a /search request (the part after '?', without the fragment).
///
/// Pairs are separated by '&'; keys and values are percent-decoded. Only starts_at and ends_at
/// are read; other keys are ignored, malformed or not. Each must occur at most once and hold an
/// RFC 3339 date-time (see time::parse_rfc3339: 'Z', an offset, or none for UTC).
///
/// '+' is a plus sign, not form encoding's space, because offsets such as "+02:00" are commonly
/// sent unencoded; only where a date-time has its date/time separator (the 11th character) is an
/// unencoded '+' read as a space, so form-encoded "2021-06-30+10:00:00%2B02:00" works too.
/// Never throws and never allocates.
parse_result parse_query(std::string_view query_string) noexcept;

/// Percent-decodes `in` into `out` (capacity `out_size`); returns the decoded length, or nullopt
/// when an escape is malformed or the result does not fit. '+' stays '+' unless it lands at
/// `plus_as_space_at`.
std::optional<std::size_t> percent_decode(std::string_view in, char* out, std::size_t out_size,
                                          std::size_t plus_as_space_at = std::string_view::npos) noexcept;

}  // namespace marquee::search
