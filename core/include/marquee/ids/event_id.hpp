#pragma once
// Event identity. An event's key is (provider, base_event_id, event_id) — event_id alone is not
// unique — and its public id is the UUID v5 of that key: stable forever (docs/adr/0002).
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace marquee::ids {

struct uuid {
    std::array<std::uint8_t, 16> bytes{};

    /// Canonical lower-case text, 36 characters.
    std::string to_string() const;
    void append_to(std::string& out) const;
    friend auto operator<=>(const uuid&, const uuid&) = default;
};

/// Parses the canonical text form (36 characters, hex digits in either case); nullopt otherwise.
std::optional<uuid> parse_uuid(std::string_view text) noexcept;

struct uuid_hash {
    std::size_t operator()(const uuid& u) const noexcept;
};

/// The UUID v5 (SHA-1, marquee's namespace) of "provider\nbase_event_id\nevent_id". Ids never
/// contain control characters (the feed validation rejects them), so the encoding is unambiguous.
uuid event_uuid(std::string_view provider, std::string_view base_event_id, std::string_view event_id);

}  // namespace marquee::ids
