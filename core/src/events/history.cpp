// History cursors: base64url of ['h'][observed_at µs, 8 bytes][row id, 8 bytes][event fingerprint,
// 8 bytes], big-endian. The fingerprint ties a cursor to the event whose history made it.
#include "marquee/events/history.hpp"

#include "object_writer.hpp"

#include "marquee/hash/mix.hpp"
#include "marquee/search/query.hpp"
#include "marquee/search/render.hpp"
#include "marquee/text/base64url.hpp"

#include <array>
#include <charconv>

namespace marquee::events {
namespace {

constexpr std::uint8_t cursor_tag = 'h';
constexpr std::size_t cursor_bytes = 1 + 3 * 8;
// Seeds the fingerprint, so a history cursor is no /search cursor's fingerprint by accident.
constexpr std::uint64_t fingerprint_seed = 0x6869'7374'6f72'7921ULL;

std::uint64_t fingerprint(std::string_view event_id) noexcept {
    return hash::mix_bytes(fingerprint_seed, event_id);
}

void store_be(std::span<std::uint8_t, 8> out, std::uint64_t value) noexcept {
    for (auto it = out.rbegin(); it != out.rend(); ++it, value >>= 8) *it = static_cast<std::uint8_t>(value);
}

std::uint64_t load_be(std::span<const std::uint8_t, 8> in) noexcept {
    std::uint64_t value = 0;
    for (auto byte : in) value = value << 8 | byte;
    return value;
}

enum class parameter { limit, cursor, other };

struct messages {
    std::string_view invalid;
    std::string_view empty;
    std::string_view repeated;
};

constexpr messages limit_messages{"limit is not an integer from 1 to 1000", "limit is empty",
                                  "limit is given more than once"};
constexpr messages cursor_messages{"cursor is not a next_cursor of this event's history", "cursor is empty",
                                   "cursor is given more than once"};
static_assert(search::max_page_limit == 1000, "update limit_messages");

parameter parameter_of(std::string_view raw_key) noexcept {
    std::array<char, 8> key{};
    auto length = search::percent_decode(raw_key, key.data(), key.size());
    if (!length) return parameter::other;
    std::string_view decoded(key.data(), *length);
    if (decoded == "limit") return parameter::limit;
    if (decoded == "cursor") return parameter::cursor;
    return parameter::other;
}

std::optional<std::uint32_t> limit_of(std::string_view text) noexcept {
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > search::max_page_limit)
        return std::nullopt;
    return value;
}

}  // namespace

std::string encode_history_cursor(std::string_view event_id, const history_position& last) {
    std::array<std::uint8_t, cursor_bytes> bytes{};
    bytes[0] = cursor_tag;
    auto fields = std::span(bytes).subspan<1>();
    store_be(fields.subspan<0, 8>(), static_cast<std::uint64_t>(last.observed_at.time_since_epoch().count()));
    store_be(fields.subspan<8, 8>(), static_cast<std::uint64_t>(last.id));
    store_be(fields.subspan<16, 8>(), fingerprint(event_id));
    return text::base64url_encode(bytes);
}

std::optional<history_position> decode_history_cursor(std::string_view cursor, std::string_view event_id) noexcept {
    std::array<std::uint8_t, cursor_bytes> bytes{};
    auto length = text::base64url_decode(cursor, bytes);
    if (!length || *length != cursor_bytes || bytes[0] != cursor_tag) return std::nullopt;
    auto fields = std::span<const std::uint8_t, cursor_bytes>(bytes).subspan<1>();
    if (load_be(fields.subspan<16, 8>()) != fingerprint(event_id)) return std::nullopt;
    history_position position;
    position.observed_at =
        time::instant{std::chrono::microseconds{static_cast<std::int64_t>(load_be(fields.subspan<0, 8>()))}};
    position.id = static_cast<std::int64_t>(load_be(fields.subspan<8, 8>()));
    return position;
}

std::variant<history_query, parameter_error> parse_history_query(std::string_view query_string,
                                                                 std::string_view event_id) noexcept {
    history_query q;
    bool seen_limit = false;
    bool seen_cursor = false;
    for (search::query_pairs pairs(query_string); auto pair = pairs.next();) {
        auto equals = pair->find('=');
        auto which = parameter_of(pair->substr(0, equals));
        if (which == parameter::other) continue;
        const auto& m = which == parameter::limit ? limit_messages : cursor_messages;
        bool& seen = which == parameter::limit ? seen_limit : seen_cursor;
        if (seen) return parameter_error{m.repeated};
        seen = true;
        auto raw = equals == std::string_view::npos ? std::string_view{} : pair->substr(equals + 1);
        if (raw.empty()) return parameter_error{m.empty};
        std::array<char, 64> value{};
        auto length = search::percent_decode(raw, value.data(), value.size());
        if (!length || *length == 0) return parameter_error{length ? m.empty : m.invalid};
        std::string_view decoded(value.data(), *length);
        if (which == parameter::limit) {
            q.limit = limit_of(decoded);
            if (!q.limit) return parameter_error{m.invalid};
        } else {
            q.after = decode_history_cursor(decoded, event_id);
            if (!q.after) return parameter_error{m.invalid};
        }
    }
    if (q.after && !q.limit) q.limit = search::default_page_limit;
    return q;
}

std::string render_history(std::span<const history_entry> entries, bool paged, std::string_view next_cursor) {
    std::string data;
    data.reserve(64 + 192 * entries.size());
    detail::object_writer page(data);
    page.objects("history", entries, [](detail::object_writer& entry, const history_entry& h) {
        entry.instant("observed_at", h.observed_at);
        entry.text("sell_mode", h.sell_mode);
        entry.text("start_date", h.start_date);
        entry.text("start_time", h.start_time);
        entry.text("end_date", h.end_date);
        entry.text("end_time", h.end_time);
        entry.number("min_price", h.min_price);
        entry.number("max_price", h.max_price);
    });
    if (paged) {
        if (next_cursor.empty())
            page.null("next_cursor");
        else
            page.text("next_cursor", next_cursor);
    }
    page.close();
    return search::render_data(data);
}

}  // namespace marquee::events
