#include "marquee/events/event_detail.hpp"

#include "object_writer.hpp"

#include "marquee/search/render.hpp"

namespace marquee::events {

std::string render_event_detail(const event_detail& e) {
    std::string data;
    data.reserve(512 + 128 * e.zones.size());
    detail::object_writer event(data);
    event.text("id", e.id);
    event.text("provider", e.provider);
    event.text("title", e.title);
    event.text("start_date", e.start_date);
    event.text("start_time", e.start_time);
    event.text("end_date", e.end_date);
    event.text("end_time", e.end_time);
    event.instant("starts_at", e.starts_at);
    event.instant("ends_at", e.ends_at);
    event.text("sell_mode", e.sell_mode);
    event.optional_text("sell_from", e.sell_from);
    event.optional_text("sell_to", e.sell_to);
    event.boolean("sold_out", e.sold_out);
    event.optional_text("organizer_company_id", e.organizer_company_id);
    event.instant("first_seen_at", e.first_seen_at);
    event.instant("last_seen_at", e.last_seen_at);
    event.number("min_price", e.min_price);
    event.number("max_price", e.max_price);
    event.objects("zones", e.zones, [](detail::object_writer& zone, const events::zone& z) {
        zone.text("zone_id", z.zone_id);
        zone.optional_text("name", z.name);
        zone.integer("capacity", z.capacity);
        zone.number("price", z.price);
        zone.boolean("numbered", z.numbered);
    });
    event.close();
    return search::render_data(data);
}

}  // namespace marquee::events
