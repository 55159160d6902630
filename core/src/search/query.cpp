#include "marquee/search/query.hpp"

#include "marquee/text/words.hpp"

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

enum class parameter { none, starts_at, ends_at, limit, cursor, q, price_min, price_max, provider };
constexpr std::size_t parameter_count = 9;

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
    if (key == "q") return parameter::q;
    if (key == "price_min") return parameter::price_min;
    if (key == "price_max") return parameter::price_max;
    if (key == "provider") return parameter::provider;
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
    "cursor is not a next_cursor of this query (same starts_at, ends_at, q, price_min, price_max and provider)",
    "cursor is empty",
    "cursor is given more than once",
};
constexpr parameter_messages q_messages{
    "q must hold 1 to 8 words (letters or digits) in at most 256 bytes",
    "q is empty",
    "q is given more than once",
};
constexpr parameter_messages price_min_messages{
    "price_min is not a price (digits with up to 6 decimals, at most 10^12, e.g. 20.50)",
    "price_min is empty",
    "price_min is given more than once",
};
constexpr parameter_messages price_max_messages{
    "price_max is not a price (digits with up to 6 decimals, at most 10^12, e.g. 20.50)",
    "price_max is empty",
    "price_max is given more than once",
};
constexpr parameter_messages provider_messages{
    "provider is not a provider name (a-z, 0-9, '_', '.' and '-', 1 to 63 characters, starting with a letter or digit)",
    "provider is empty",
    "provider is given more than once",
};
static_assert(max_page_limit == 1000, "update limit_messages");
static_assert(max_q_words == 8 && max_q_bytes == 256, "update q_messages");
static_assert(max_provider_name_length == 63, "update provider_messages");

const parameter_messages& messages_of(parameter p) noexcept {
    switch (p) {
        case parameter::starts_at:
            return starts_at_messages;
        case parameter::ends_at:
            return ends_at_messages;
        case parameter::limit:
            return limit_messages;
        case parameter::q:
            return q_messages;
        case parameter::price_min:
            return price_min_messages;
        case parameter::price_max:
            return price_max_messages;
        case parameter::provider:
            return provider_messages;
        case parameter::cursor:
        case parameter::none:
            break;
    }
    return cursor_messages;
}

// q's words, folded; nullopt when there are none or too many.
std::optional<title_words> parse_words(std::string_view decoded) noexcept {
    title_words words;
    std::size_t used = 0;
    for (text::word_reader reader(decoded);;) {
        auto rest = std::span<char>(words.text).subspan(used);
        auto word = reader.next(rest);
        if (!word) break;
        if (words.count == max_q_words) return std::nullopt;
        used += word->size();
        words.ends[words.count++] = static_cast<std::uint16_t>(used);
        words.signature |= text::word_signature(*word);
    }
    if (words.count == 0) return std::nullopt;
    return words;
}

// The providers table's CHECK: ^[a-z0-9][a-z0-9_.-]{0,62}$.
std::optional<provider_name> parse_provider(std::string_view decoded) noexcept {
    if (decoded.empty() || decoded.size() > max_provider_name_length) return std::nullopt;
    provider_name name;
    for (std::size_t i = 0; i < decoded.size(); ++i) {
        char c = decoded[i];
        bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alphanumeric && (i == 0 || (c != '_' && c != '.' && c != '-'))) return std::nullopt;
        name.bytes[i] = c;
    }
    name.length = static_cast<std::uint8_t>(decoded.size());
    return name;
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
    std::array<bool, parameter_count> seen{};
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
        auto& seen_this = seen[static_cast<std::size_t>(which)];
        if (seen_this) return query_error{query_error::kind::invalid_parameter, messages.repeated};
        seen_this = true;
        if (raw_value.empty()) return query_error{query_error::kind::invalid_parameter, messages.empty};
        const query_error invalid{query_error::kind::invalid_parameter, messages.invalid};

        if (which == parameter::cursor) {
            auto length = percent_decode(raw_value, cursor.data(), cursor.size());
            if (!length) return query_error{query_error::kind::invalid_parameter, messages.invalid};
            cursor_length = *length;
            continue;
        }
        if (which == parameter::q) {
            std::array<char, max_q_bytes> text{};
            // '+' is a space in q, as a form sends it; as a character it would separate words anyway.
            auto length = percent_decode(raw_value, text.data(), text.size());
            if (!length) return invalid;
            for (std::size_t i = 0; i < *length; ++i)
                if (text[i] == '+') text[i] = ' ';
            result.words = parse_words(std::string_view(text.data(), *length));
            if (!result.words) return invalid;
            continue;
        }
        std::array<char, max_value_length> buffer{};
        if (which == parameter::price_min || which == parameter::price_max || which == parameter::provider) {
            auto length = percent_decode(raw_value, buffer.data(), buffer.size());
            if (!length) return invalid;
            std::string_view decoded(buffer.data(), *length);
            if (which == parameter::provider) {
                result.provider = parse_provider(decoded);
                if (!result.provider) return invalid;
                continue;
            }
            // parse_price forgives surrounding blanks; a parameter holds the number alone.
            auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
            auto price = blank(decoded.front()) || blank(decoded.back()) ? std::nullopt : money::parse_price(decoded);
            if (!price) return invalid;
            (which == parameter::price_min ? result.price_min : result.price_max) = price;
            continue;
        }
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
    if (seen[static_cast<std::size_t>(parameter::cursor)]) {
        result.after = decode_cursor(std::string_view(cursor.data(), cursor_length), result);
        if (!result.after) return query_error{query_error::kind::invalid_parameter, cursor_messages.invalid};
        if (!result.limit) result.limit = default_page_limit;
    }
    return result;
}

}  // namespace marquee::search
