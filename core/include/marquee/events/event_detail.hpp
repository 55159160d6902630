#pragma once
// One event as GET /events/{id} serves it: everything the worker stores about it (events and its
// zones, migrations/0001), as text where the database's own text is what goes out.
#include "marquee/time/local_datetime.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace marquee::events {

/// One <zone> of the feed, as stored.
struct zone {
    std::string zone_id;
    std::optional<std::string> name;
    std::optional<std::int64_t> capacity;
    std::string price;  ///< numeric text, e.g. "20.00"
    std::optional<bool> numbered;
};

struct event_detail {
    std::string id;  ///< canonical lower-case UUID
    std::string provider;
    std::string title;
    std::string start_date;  ///< "YYYY-MM-DD", provider wall clock, as /search
    std::string start_time;  ///< "HH:MM:SS"
    std::string end_date;
    std::string end_time;
    time::instant starts_at;
    time::instant ends_at;
    std::string sell_mode;                 ///< "online" or "offline"
    std::optional<std::string> sell_from;  ///< "YYYY-MM-DDTHH:MM:SS", provider wall clock
    std::optional<std::string> sell_to;
    std::optional<bool> sold_out;
    std::optional<std::string> organizer_company_id;
    time::instant first_seen_at;
    time::instant last_seen_at;
    std::optional<std::string> min_price;  ///< numeric text; null when the event has no zone
    std::optional<std::string> max_price;
    std::vector<zone> zones;  ///< in feed order
};

/// {"data":{…EventDetail…},"error":null} (api/openapi.yaml). Prices that are not JSON numbers
/// (PostgreSQL's NaN) are null, as in /search. Throws only std::bad_alloc.
std::string render_event_detail(const event_detail& e);

}  // namespace marquee::events
