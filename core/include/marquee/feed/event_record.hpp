#pragma once
// One provider <event> after validation: views into the parsed feed, valid only during the
// callback that receives it.
#include "marquee/money/price.hpp"
#include "marquee/time/local_datetime.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace marquee::feed {

enum class sell_mode : std::uint8_t { online, offline };

std::string_view to_string(sell_mode mode) noexcept;

struct zone_record {
    std::string_view zone_id;
    std::optional<std::string_view> name;
    std::optional<std::int64_t> capacity;
    money::price price;
    std::optional<bool> numbered;
};

struct event_record {
    std::string_view base_event_id;
    std::string_view event_id;
    std::string_view title;
    std::optional<std::string_view> organizer_company_id;
    sell_mode mode = sell_mode::offline;
    time::local_datetime start;
    time::local_datetime end;
    std::optional<time::local_datetime> sell_from;
    std::optional<time::local_datetime> sell_to;
    std::optional<bool> sold_out;
    std::span<const zone_record> zones;
    std::optional<money::price> min_price;  // over every zone; nullopt without zones
    std::optional<money::price> max_price;
};

/// An <event> that breaks a rule: it is left out (its stored version, if any, stays) and counted.
struct rejection {
    std::string base_event_id;  // empty when the feed did not give a usable one
    std::string event_id;
    std::string reason;
    bool has_key = false;  // both ids are usable, so the event's id is known
};

using event_outcome = std::variant<event_record, rejection>;

}  // namespace marquee::feed
