#pragma once
// A feed provider as marquee stores it (table providers), and the rules a provider must satisfy
// before it is stored. The same rules are CHECK constraints in migrations/0001_init.sql where SQL
// can express them; the schedule and the time zone can only be checked here.
#include "marquee/feed/limits.hpp"

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::domain {

struct provider {
    std::string name;
    std::string url;
    std::string schedule = "* * * * *";
    std::string time_zone = "UTC";
    bool enabled = true;
    std::int64_t fetch_timeout_ms = 120000;
    std::int64_t max_feed_bytes = 536870912;
    feed::limits caps;

    friend bool operator==(const provider&, const provider&) = default;
};

/// One slot of a provider's schedule: what a scheduler claims, publishes one fetch job for and marks
/// published (table schedule_slots).
struct provider_slot {
    std::string provider;
    std::chrono::sys_seconds slot{};

    friend auto operator<=>(const provider_slot&, const provider_slot&) = default;
};

/// What a batch claim found: the slots this scheduler won (its to publish), and those another
/// scheduler holds but has not published yet (it may have died in between: look again later).
/// Every other slot asked for is published already.
struct slot_claims {
    std::vector<provider_slot> won;
    std::vector<provider_slot> held_elsewhere;
};

/// Which field of a provider is wrong and why, e.g. {"schedule", "minute: 60 is out of range 0-59"}.
/// `field` is the member's name (name, url, schedule, time_zone, fetch_timeout_ms, max_feed_bytes,
/// or one of the caps: max_zones_per_event, max_events_per_base_event, max_attribute_bytes,
/// max_rejections_kept).
struct validation_error {
    std::string field;
    std::string message;
};

/// ^[a-z0-9][a-z0-9_.-]{0,62}$ — names appear in URLs, metrics labels and log lines unquoted.
bool is_valid_provider_name(std::string_view name) noexcept;

/// An absolute http:// or https:// URL with a host and no blanks or control characters.
bool is_valid_feed_url(std::string_view url) noexcept;

/// The first problem with `p`, or nullopt when it may be stored. Checks the name pattern, the URL,
/// that the schedule parses (cron::schedule), that the time zone is known to the tz database, and
/// that fetch_timeout_ms (at most 2^31-1, it is an integer column) and max_feed_bytes are positive,
/// and that the caps fit their integer columns: zones and events per element at least 1, attribute
/// bytes at least 255 (the longest id), rejections kept at least 0.
std::optional<validation_error> validate(const provider& p);

}  // namespace marquee::domain
