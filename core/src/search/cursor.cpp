// Page cursors: base64url of [format 1][starts_at µs, 8 bytes][filters' fingerprint, 8 bytes]
// [id length][id]. Opaque to clients; the fingerprint ties a cursor to the query that made it.
#include "marquee/search/query.hpp"

#include "marquee/hash/mix.hpp"
#include "marquee/text/base64url.hpp"

#include <array>
#include <cstring>

namespace marquee::search {
namespace {

constexpr std::uint8_t cursor_format = 1;
constexpr std::size_t fixed_bytes = 1 + 8 + 8 + 1;
constexpr std::size_t max_cursor_bytes = fixed_bytes + max_page_id_length;

}  // namespace

// What a page's position depends on besides the position itself: the filters, dates included. (limit is not:
// a client may change the page size between pages.)
std::uint64_t selection_fingerprint(const query& q) noexcept {
    using hash::mix;
    std::uint64_t h = mix(0, (q.starts_at ? 1U : 0U) | (q.ends_at ? 2U : 0U));
    h = mix(h, q.starts_at ? static_cast<std::uint64_t>(q.starts_at->time_since_epoch().count()) : 0);
    h = mix(h, q.ends_at ? static_cast<std::uint64_t>(q.ends_at->time_since_epoch().count()) : 0);
    if (!q.filters()) return h;  // as before filters existed: cursors already handed out stay valid
    auto mix_text = [&](std::string_view text) {
        h = mix(h, text.size());
        for (unsigned char c : text) h = mix(h, c);
    };
    h = mix(h, (q.words ? 1U : 0U) | (q.price_min ? 2U : 0U) | (q.price_max ? 4U : 0U) | (q.provider ? 8U : 0U));
    if (q.words)
        for (std::size_t i = 0; i < q.words->count; ++i) mix_text(q.words->word(i));
    if (q.price_min) h = mix(h, static_cast<std::uint64_t>(q.price_min->micros));
    if (q.price_max) h = mix(h, static_cast<std::uint64_t>(q.price_max->micros));
    if (q.provider) mix_text(q.provider->view());
    return h;
}

namespace {

void put64(std::uint8_t* out, std::uint64_t v) noexcept {
    for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<std::uint8_t>(v & 0xff);
}

std::uint64_t get64(const std::uint8_t* in) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
    return v;
}

}  // namespace

std::string encode_cursor(const query& q, time::instant starts_at, std::string_view id) {
    std::array<std::uint8_t, max_cursor_bytes> bytes{};
    if (id.size() > max_page_id_length) id = id.substr(0, max_page_id_length);
    bytes[0] = cursor_format;
    put64(&bytes[1], static_cast<std::uint64_t>(starts_at.time_since_epoch().count()));
    put64(&bytes[9], selection_fingerprint(q));
    bytes[17] = static_cast<std::uint8_t>(id.size());
    std::memcpy(&bytes[fixed_bytes], id.data(), id.size());
    return text::base64url_encode(std::span<const std::uint8_t>(bytes.data(), fixed_bytes + id.size()));
}

std::optional<page_after> decode_cursor(std::string_view cursor, const query& q) noexcept {
    std::array<std::uint8_t, max_cursor_bytes> bytes{};
    auto decoded = text::base64url_decode(cursor, bytes);
    if (!decoded) return std::nullopt;
    const std::size_t n = *decoded;
    if (n < fixed_bytes || bytes[0] != cursor_format) return std::nullopt;
    if (get64(&bytes[9]) != selection_fingerprint(q)) return std::nullopt;
    const std::size_t id_length = bytes[17];
    if (id_length > max_page_id_length || n != fixed_bytes + id_length) return std::nullopt;
    page_after after;
    after.starts_at = time::instant{std::chrono::microseconds{static_cast<std::int64_t>(get64(&bytes[1]))}};
    std::memcpy(after.id_bytes.data(), &bytes[fixed_bytes], id_length);
    after.id_length = static_cast<std::uint8_t>(id_length);
    return after;
}

}  // namespace marquee::search
