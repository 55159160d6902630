#include "marquee/domain/provider.hpp"

#include "marquee/cron/schedule.hpp"
#include "marquee/error.hpp"
#include "marquee/time/local_datetime.hpp"

#include <fmt/format.h>

#include <limits>

namespace marquee::domain {
namespace {

bool is_lower_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

constexpr std::size_t max_url_length = 2048;

}  // namespace

bool is_valid_provider_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 63 || !is_lower_alnum(name.front())) return false;
    for (char c : name)
        if (!is_lower_alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

bool is_valid_feed_url(std::string_view url) noexcept {
    if (url.size() > max_url_length) return false;
    std::string_view rest;
    if (url.starts_with("http://"))
        rest = url.substr(7);
    else if (url.starts_with("https://"))
        rest = url.substr(8);
    else
        return false;
    for (char c : url) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    auto host = authority;
    if (host.starts_with('[')) {
        auto close = host.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        host = host.substr(0, close + 1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    return !host.empty();
}

std::optional<validation_error> validate(const provider& p) {
    if (!is_valid_provider_name(p.name))
        return validation_error{
            "name",
            fmt::format("'{}' must match ^[a-z0-9][a-z0-9_.-]{{0,62}}$ (lower case, at most 63 characters)", p.name)};
    if (!is_valid_feed_url(p.url))
        return validation_error{"url", fmt::format("'{}' is not an absolute http:// or https:// URL", p.url)};
    auto parsed = cron::schedule::parse(p.schedule);
    if (auto* e = std::get_if<cron::parse_error>(&parsed))
        return validation_error{"schedule", fmt::format("'{}': {}", p.schedule, e->message)};
    try {
        (void)time::zone{p.time_zone};
    } catch (const config_error&) {
        return validation_error{"time_zone", fmt::format("'{}' is not a known IANA time zone", p.time_zone)};
    }
    if (p.fetch_timeout_ms <= 0 || p.fetch_timeout_ms > std::numeric_limits<std::int32_t>::max())
        return validation_error{"fetch_timeout_ms",
                                fmt::format("{} is not between 1 and 2147483647 milliseconds", p.fetch_timeout_ms)};
    if (p.max_feed_bytes <= 0)
        return validation_error{"max_feed_bytes",
                                fmt::format("{} is not a positive number of bytes", p.max_feed_bytes)};
    constexpr std::int64_t int_max = std::numeric_limits<std::int32_t>::max();
    struct cap {
        const char* field;
        std::int64_t value;
        std::int64_t least;
    };
    for (auto [field, value, least] : {cap{"max_zones_per_event", p.caps.max_zones_per_event, 1},
                                       cap{"max_events_per_base_event", p.caps.max_events_per_base_event, 1},
                                       cap{"max_attribute_bytes", p.caps.max_attribute_bytes, 255},
                                       cap{"max_rejections_kept", p.caps.max_rejections_kept, 0}})
        if (value < least || value > int_max)
            return validation_error{field, fmt::format("{} is not between {} and {}", value, least, int_max)};
    return std::nullopt;
}

}  // namespace marquee::domain
