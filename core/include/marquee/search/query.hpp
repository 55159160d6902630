#pragma once
// The /search query string: which events a request asks for. Pure parsing, no I/O; a bad query is
// an ordinary outcome and comes back as a value.
#include "marquee/money/price.hpp"
#include "marquee/time/local_datetime.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace marquee::search {

/// The longest event id a page position holds (ids are 36-character UUIDs).
inline constexpr std::size_t max_page_id_length = 64;
/// limit's range; a cursor without a limit pages by default_page_limit.
inline constexpr std::uint32_t max_page_limit = 1000;
inline constexpr std::uint32_t default_page_limit = 100;

/// Where a page starts: just after the event at (starts_at, id) in the answer's order. Pages are
/// keyset pages, so an event that did not change is on exactly one page however the data changes.
struct page_after {
    time::instant starts_at;
    std::array<char, max_page_id_length> id_bytes{};
    std::uint8_t id_length = 0;

    std::string_view id() const noexcept { return {id_bytes.data(), id_length}; }
    friend bool operator==(const page_after&, const page_after&) = default;
};

/// q: the folded words every matching title must have a word starting with (text/words.hpp).
inline constexpr std::size_t max_q_bytes = 256;  ///< of q, decoded
inline constexpr std::size_t max_q_words = 8;
struct title_words {
    std::array<char, 2 * max_q_bytes> text{};  // folded, back to back ("ß" folds to two bytes)
    std::array<std::uint16_t, max_q_words> ends{};
    std::uint8_t count = 0;
    std::uint64_t signature = 0;  ///< text::word_signature of every word, ORed

    std::string_view word(std::size_t i) const noexcept {
        std::size_t begin = i == 0 ? 0 : ends[i - 1];
        return {text.data() + begin, ends[i] - begin};
    }
    friend bool operator==(const title_words&, const title_words&) = default;
};

/// provider: a provider's name, as the providers table allows it.
inline constexpr std::size_t max_provider_name_length = 63;
struct provider_name {
    std::array<char, max_provider_name_length> bytes{};
    std::uint8_t length = 0;

    std::string_view view() const noexcept { return {bytes.data(), length}; }
    friend bool operator==(const provider_name&, const provider_name&) = default;
};

/// Both bounds are inclusive; an absent bound is open.
struct query {
    /// Events that start at or after this instant.
    std::optional<time::instant> starts_at;
    /// Events that end at or before this instant.
    std::optional<time::instant> ends_at;
    /// Events per page; set when the query asks for a page (limit or cursor), absent for all.
    std::optional<std::uint32_t> limit;
    /// The page starts after this event; absent: the first page.
    std::optional<page_after> after;
    /// Events whose title has a word starting with each of these.
    std::optional<title_words> words;
    /// Events with something at or over this price: max_price >= price_min.
    std::optional<money::price> price_min;
    /// Events with something at or under this price: min_price <= price_max.
    std::optional<money::price> price_max;
    /// Events of this provider.
    std::optional<provider_name> provider;

    /// Whether the query narrows events by anything besides their dates.
    bool filters() const noexcept { return words || price_min || price_max || provider; }

    friend bool operator==(const query&, const query&) = default;
};

struct query_error {
    enum class kind {
        invalid_parameter,  // unparsable, empty or repeated parameter; a cursor of another query
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
/// Pairs are separated by '&'; keys and values are percent-decoded. Only starts_at, ends_at,
/// limit, cursor, q, price_min, price_max and provider are read; other keys are ignored,
/// malformed or not. Each must occur at most once; starts_at and ends_at hold an RFC 3339
/// date-time (see time::parse_rfc3339: 'Z', an offset, or none for UTC), limit an integer from 1
/// to max_page_limit, cursor what a page of the same query (same filters) returned as next_cursor,
/// q up to max_q_bytes holding 1 to max_q_words words ('+' is a space here, as in forms),
/// price_min and price_max a price as money::parse_price reads it, provider a provider's name.
///
/// '+' is a plus sign, not form encoding's space, because offsets such as "+02:00" are commonly
/// sent unencoded; only where a date-time has its date/time separator (the 11th character) is an
/// unencoded '+' read as a space, so form-encoded "2021-06-30+10:00:00%2B02:00" works too.
/// Never throws and never allocates.
parse_result parse_query(std::string_view query_string) noexcept;

/// The non-empty '&'-separated pairs of a query string, in order and as sent (not decoded):
/// `for (query_pairs pairs(qs); auto pair = pairs.next();) …`.
class query_pairs {
public:
    explicit query_pairs(std::string_view query_string) noexcept : rest_(query_string) {}
    /// The next pair, or nullopt after the last.
    std::optional<std::string_view> next() noexcept {
        while (!done_) {
            auto amp = rest_.find('&');
            auto pair = rest_.substr(0, amp);
            if (amp == std::string_view::npos)
                done_ = true;
            else
                rest_.remove_prefix(amp + 1);
            if (!pair.empty()) return pair;
        }
        return std::nullopt;
    }

private:
    std::string_view rest_;
    bool done_ = false;
};

/// Percent-decodes `in` into `out` (capacity `out_size`); returns the decoded length, or nullopt
/// when an escape is malformed or the result does not fit. '+' stays '+' unless it lands at
/// `plus_as_space_at`.
std::optional<std::size_t> percent_decode(std::string_view in, char* out, std::size_t out_size,
                                          std::size_t plus_as_space_at = std::string_view::npos) noexcept;

/// A 64-bit hash of what `q` selects: its dates and filters, not its page. Equal queries (however
/// written) hash alike.
std::uint64_t selection_fingerprint(const query& q) noexcept;

/// The opaque cursor of the page that follows the event at (starts_at, id) in the answer to `q`,
/// bound to q's filters (a cursor from another query is refused). URL-safe: base64url.
std::string encode_cursor(const query& q, time::instant starts_at, std::string_view id);

/// The position `cursor` names when encode_cursor made it for a query with q's filters; nullopt
/// for anything else. Never throws and never allocates.
std::optional<page_after> decode_cursor(std::string_view cursor, const query& q) noexcept;

}  // namespace marquee::search
