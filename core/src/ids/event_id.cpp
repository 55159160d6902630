#include "marquee/ids/event_id.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid.hpp>

#include <algorithm>
#include <cstring>

namespace marquee::ids {
namespace {

// Marquee's own UUID namespace for v5 event ids. Changing it would change every public id.
constexpr boost::uuids::uuid marquee_namespace{
    {0xd4, 0x15, 0xf3, 0x3d, 0x0a, 0x40, 0x44, 0x1b, 0x9f, 0x40, 0x75, 0x44, 0x99, 0xa7, 0x1b, 0x9b}};

constexpr char hex_digits[] = "0123456789abcdef";

}  // namespace

std::string uuid::to_string() const {
    std::string out;
    out.reserve(36);
    append_to(out);
    return out;
}

void uuid::append_to(std::string& out) const {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(hex_digits[bytes[i] >> 4]);
        out.push_back(hex_digits[bytes[i] & 0x0f]);
    }
}

std::optional<uuid> parse_uuid(std::string_view text) noexcept {
    if (text.size() != 36) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    uuid id;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (text[pos++] != '-') return std::nullopt;
        }
        int high = nibble(text[pos++]);
        int low = nibble(text[pos++]);
        if (high < 0 || low < 0) return std::nullopt;
        id.bytes[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    return id;
}

std::size_t uuid_hash::operator()(const uuid& u) const noexcept {
    // SHA-1 output is uniformly distributed: any 8 bytes make a good hash.
    std::size_t h;
    std::memcpy(&h, u.bytes.data(), sizeof h);
    return h;
}

uuid event_uuid(std::string_view provider, std::string_view base_event_id, std::string_view event_id) {
    boost::uuids::name_generator_sha1 generate(marquee_namespace);
    std::string name;
    name.reserve(provider.size() + base_event_id.size() + event_id.size() + 2);
    name.append(provider).append(1, '\n').append(base_event_id).append(1, '\n').append(event_id);
    auto generated = generate(name.data(), name.size());
    uuid result;
    std::copy(generated.begin(), generated.end(), result.bytes.begin());
    return result;
}

}  // namespace marquee::ids
