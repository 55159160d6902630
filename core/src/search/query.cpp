#include "marquee/search/query.hpp"

#include <array>

namespace marquee::search {
namespace {

// Where RFC 3339 puts the date/time separator: "YYYY-MM-DD?HH:MM:SS".
constexpr std::size_t date_time_separator_at = 10;

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum class parameter { none, starts_at, ends_at, limit, cursor };

parameter parameter_of(std::string_view raw_key) noexcept {
    // Keys longer than ours cannot decode to them; this also bounds the decode buffer.
    std::array<char, 16> buffer{};
    auto length = percent_decode(raw_key, buffer.data(), buffer.size());
    if (!length) return parameter::none;
    std::string_view key(buffer.data(), *length);
    if (key == "starts_at") return parameter::starts_at;
    if (key == "ends_at") return parameter::ends_at;
    if (key == "limit") return parameter::limit;
    if (key == "cursor") return parameter::cursor;
    return parameter::none;
}

// A limit: decimal digits only, 1 to max_page_limit.
std::optional<std::uint32_t> parse_limit(std::string_view text) noexcept {
    if (text.empty() || text.size() > 4) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (value < 1 || value > max_page_limit) return std::nullopt;
    return value;
}

struct parameter_messages {
    std::string_view invalid;
    std::string_view empty;
    std::string_view repeated;
};

constexpr parameter_messages starts_at_messages{
    "starts_at is not an RFC 3339 date-time (e.g. 2021-07-21T17:32:28Z)",
    "starts_at is empty",
    "starts_at is given more than once",
};
constexpr parameter_messages ends_at_messages{
    "ends_at is not an RFC 3339 date-time (e.g. 2021-07-21T17:32:28Z)",
    "ends_at is empty",
    "ends_at is given more than once",
};
constexpr parameter_messages limit_messages{
    "limit is not an integer from 1 to 1000",
    "limit is empty",
    "limit is given more than once",
};
constexpr parameter_messages cursor_messages{
    "cursor is not a next_cursor of this query (same starts_at and ends_at)",
    "cursor is empty",
    "cursor is given more than once",
};
static_assert(max_page_limit == 1000, "update limit_messages");

const parameter_messages& messages_of(parameter p) noexcept {
    switch (p) {
        case parameter::starts_at:
            return starts_at_messages;
        case parameter::ends_at:
            return ends_at_messages;
        case parameter::limit:
            return limit_messages;
        case parameter::cursor:
        case parameter::none:
            break;
    }
    return cursor_messages;
}

// The longest cursor value read (encode_cursor writes at most 110 characters).
constexpr std::size_t max_cursor_length = 128;

}  // namespace

std::optional<std::size_t> percent_decode(std::string_view in, char* out, std::size_t out_size,
                                          std::size_t plus_as_space_at) noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (n == out_size) return std::nullopt;
        char c = in[i];
        if (c == '%') {
            if (in.size() - i < 3) return std::nullopt;
            int high = hex_value(in[i + 1]);
            int low = hex_value(in[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            out[n++] = static_cast<char>(high * 16 + low);
            i += 2;
        } else if (c == '+' && n == plus_as_space_at) {
            out[n++] = ' ';
        } else {
            out[n++] = c;
        }
    }
    return n;
}

parse_result parse_query(std::string_view query_string) noexcept {
    query result;
    bool seen_starts_at = false;
    bool seen_ends_at = false;
    bool seen_limit = false;
    bool seen_cursor = false;
    std::array<char, max_cursor_length> cursor{};
    std::size_t cursor_length = 0;
    for (query_pairs pairs(query_string); auto next = pairs.next();) {
        auto pair = *next;
        auto eq = pair.find('=');
        auto raw_key = pair.substr(0, eq);
        auto raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        auto which = parameter_of(raw_key);
        if (which == parameter::none) continue;

        const auto& messages = messages_of(which);
        bool& seen = which == parameter::starts_at ? seen_starts_at
                     : which == parameter::ends_at ? seen_ends_at
                     : which == parameter::limit   ? seen_limit
                                                   : seen_cursor;
        if (seen) return query_error{query_error::kind::invalid_parameter, messages.repeated};
        seen = true;
        if (raw_value.empty()) return query_error{query_error::kind::invalid_parameter, messages.empty};

        if (which == parameter::cursor) {
            auto length = percent_decode(raw_value, cursor.data(), cursor.size());
            if (!length) return query_error{query_error::kind::invalid_parameter, messages.invalid};
            cursor_length = *length;
            continue;
        }
        std::array<char, max_value_length> buffer{};
        if (which == parameter::limit) {
            auto length = percent_decode(raw_value, buffer.data(), buffer.size());
            auto limit = length ? parse_limit(std::string_view(buffer.data(), *length)) : std::nullopt;
            if (!limit) return query_error{query_error::kind::invalid_parameter, messages.invalid};
            result.limit = limit;
            continue;
        }
        auto length = percent_decode(raw_value, buffer.data(), buffer.size(), date_time_separator_at);
        if (!length) return query_error{query_error::kind::invalid_parameter, messages.invalid};
        auto instant = time::parse_rfc3339(std::string_view(buffer.data(), *length));
        if (!instant) return query_error{query_error::kind::invalid_parameter, messages.invalid};
        (which == parameter::starts_at ? result.starts_at : result.ends_at) = *instant;
    }
    if (result.starts_at && result.ends_at && *result.starts_at > *result.ends_at)
        return query_error{query_error::kind::invalid_range, "starts_at is after ends_at"};
    if (seen_cursor) {
        result.after = decode_cursor(std::string_view(cursor.data(), cursor_length), result);
        if (!result.after) return query_error{query_error::kind::invalid_parameter, cursor_messages.invalid};
        if (!result.limit) result.limit = default_page_limit;
    }
    return result;
}

}  // namespace marquee::search
