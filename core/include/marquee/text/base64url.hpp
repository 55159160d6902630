#pragma once
// base64url (RFC 4648 section 5) without padding, for opaque tokens that go into URLs unescaped
// (page cursors). Decoding accepts exactly what encoding writes: one text per byte string.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace marquee::text {

/// The unpadded base64url text of `bytes`. Throws only std::bad_alloc.
std::string base64url_encode(std::span<const std::uint8_t> bytes);

/// Decodes `text` into `out`; returns the number of bytes written, or nullopt when `text` holds a
/// character outside the alphabet, has a length no encoding has, sets bits encoding leaves zero,
/// or decodes to more than out.size() bytes. Never throws and never allocates.
std::optional<std::size_t> base64url_decode(std::string_view text, std::span<std::uint8_t> out) noexcept;

}  // namespace marquee::text
