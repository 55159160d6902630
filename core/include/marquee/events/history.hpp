#pragma once
// GET /events/{id}/history: an event's rows of event_history (its sell mode, dates and price range
// each time one of them changed), newest first, in keyset pages like /search's. Pure parsing and
// rendering; the rows come from the storage layer.
#include "marquee/time/local_datetime.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace marquee::events {

/// One event_history row.
struct history_entry {
    std::int64_t id = 0;  ///< event_history.id: orders rows observed at the same instant
    time::instant observed_at;
    std::string sell_mode;
    std::string start_date;  ///< "YYYY-MM-DD", provider wall clock
    std::string start_time;  ///< "HH:MM:SS"
    std::string end_date;
    std::string end_time;
    std::optional<std::string> min_price;  ///< numeric text
    std::optional<std::string> max_price;
};

/// A page starts just after (older than) the row at this position: (observed_at, id) descending.
struct history_position {
    time::instant observed_at;
    std::int64_t id = 0;
    friend bool operator==(const history_position&, const history_position&) = default;
};

/// What the query string of a history request asks for.
struct history_query {
    /// Rows per page; set when the request asks for a page (limit or cursor), absent for all.
    std::optional<std::uint32_t> limit;
    /// The page starts after this row; absent: the newest.
    std::optional<history_position> after;
    friend bool operator==(const history_query&, const history_query&) = default;
};

struct parameter_error {
    /// Names the parameter, never echoes the request. Points to static storage.
    std::string_view message;
};

/// Reads limit (1 to search::max_page_limit) and cursor (a next_cursor of the same event's
/// history) from a query string, with /search's rules: each at most once, never empty, other keys
/// ignored; a cursor without a limit pages by search::default_page_limit. Never throws.
std::variant<history_query, parameter_error> parse_history_query(std::string_view query_string,
                                                                 std::string_view event_id) noexcept;

/// The opaque, URL-safe cursor of the page after `last` in `event_id`'s history.
std::string encode_history_cursor(std::string_view event_id, const history_position& last);

/// The position encode_history_cursor put in `cursor` when it made it for `event_id`; nullopt for
/// anything else, a cursor of another event's history or of /search included. Never throws.
std::optional<history_position> decode_history_cursor(std::string_view cursor, std::string_view event_id) noexcept;

/// {"data":{"history":[…]},"error":null}; a page (`paged`) adds "next_cursor": `next_cursor`, or
/// null when it is empty. Throws only std::bad_alloc.
std::string render_history(std::span<const history_entry> entries, bool paged, std::string_view next_cursor);

}  // namespace marquee::events
