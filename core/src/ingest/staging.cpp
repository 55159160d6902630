#include "marquee/ingest/staging.hpp"

#include "marquee/ingest/copy_text.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <date/date.h>
#include <charconv>
#include <chrono>
#include <cstring>

namespace marquee::ingest {
namespace {

void put_text(std::string& b, std::string_view s) {
    auto size = static_cast<std::uint32_t>(s.size());
    b.append(reinterpret_cast<const char*>(&size), sizeof size);
    b.append(s);
}

template <typename T>
void put_value(std::string& b, const T& value) {
    b.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
void put_optional(std::string& b, const std::optional<T>& value) {
    b.push_back(value ? '\1' : '\0');
    if (value) put_value(b, *value);
}

void put_datetime(std::string& b, const time::local_datetime& t) {
    put_value(b, time::as_utc(t).time_since_epoch().count());
}

void put_optional_datetime(std::string& b, const std::optional<time::local_datetime>& t) {
    b.push_back(t ? '\1' : '\0');
    if (t) put_datetime(b, *t);
}

void tab(std::string& out) {
    out.push_back('\t');
}

void append_uint(std::string& out, std::uint64_t v) {
    char digits[20];
    auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_int(std::string& out, std::int64_t v) {
    if (v < 0) {
        out.push_back('-');
        append_uint(out, static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(v));
    } else {
        append_uint(out, static_cast<std::uint64_t>(v));
    }
}

void append_optional_text(std::string& out, const std::optional<std::string_view>& s) {
    if (s)
        append_copy_text(out, *s);
    else
        out += copy_null;
}

void append_optional_timestamp(std::string& out, const std::optional<time::local_datetime>& t) {
    if (t)
        time::append_sql_timestamp(out, *t);
    else
        out += copy_null;
}

void append_bool(std::string& out, const std::optional<bool>& b) {
    if (b)
        out.push_back(*b ? 't' : 'f');
    else
        out += copy_null;
}

void append_optional_price(std::string& out, const std::optional<money::price>& p) {
    if (p)
        money::append_price(out, *p);
    else
        out += copy_null;
}

void append_instant(std::string& out, time::instant at) {
    auto seconds = std::chrono::floor<std::chrono::seconds>(at);
    auto day = std::chrono::floor<date::days>(seconds);
    date::year_month_day ymd{day};
    date::hh_mm_ss<std::chrono::seconds> hms{seconds - day};
    time::local_datetime t{static_cast<int>(ymd.year()),
                           static_cast<unsigned>(ymd.month()),
                           static_cast<unsigned>(ymd.day()),
                           static_cast<unsigned>(hms.hours().count()),
                           static_cast<unsigned>(hms.minutes().count()),
                           static_cast<unsigned>(hms.seconds().count())};
    time::append_sql_timestamp(out, t);
    out += "+00";
}

}  // namespace

void staged_batch::clear() {
    event_rows.clear();
    zone_rows.clear();
    new_zone_rows.clear();
    occurrences.clear();
    rejections.clear();
    events_seen = events_changed = events_unchanged = 0;
}

std::int64_t content_hash(const feed::event_record& e, std::string_view time_zone, std::string& b) {
    b.clear();
    put_text(b, time_zone);
    put_text(b, e.base_event_id);
    put_text(b, e.event_id);
    put_text(b, e.title);
    b.push_back(e.organizer_company_id ? '\1' : '\0');
    if (e.organizer_company_id) put_text(b, *e.organizer_company_id);
    b.push_back(static_cast<char>(e.mode));
    put_datetime(b, e.start);
    put_datetime(b, e.end);
    put_optional_datetime(b, e.sell_from);
    put_optional_datetime(b, e.sell_to);
    put_optional(b, e.sold_out);
    put_value(b, static_cast<std::uint64_t>(e.zones.size()));
    for (const auto& z : e.zones) {
        put_text(b, z.zone_id);
        b.push_back(z.name ? '\1' : '\0');
        if (z.name) put_text(b, *z.name);
        put_optional(b, z.capacity);
        put_value(b, z.price.micros);
        put_optional(b, z.numbered);
    }
    auto h = XXH3_64bits(b.data(), b.size());
    std::int64_t result;
    std::memcpy(&result, &h, sizeof result);
    return result;
}

void batch_stager::add(const feed::event_outcome& outcome, std::uint64_t seq) {
    ++out_.events_seen;
    if (auto* event = std::get_if<feed::event_record>(&outcome))
        add_event(*event, seq);
    else
        add_rejection(std::get<feed::rejection>(outcome), seq);
}

namespace {

// "seq\tid\t": how every staged row of an occurrence starts.
void append_occurrence_key(std::string& out, std::uint64_t seq, const ids::uuid& id) {
    append_uint(out, seq);
    tab(out);
    id.append_to(out);
    tab(out);
}

}  // namespace

void batch_stager::append_short_row(std::uint64_t seq, const ids::uuid& id, char kind) {
    auto& out = out_.event_rows;
    append_occurrence_key(out, seq, id);
    out.push_back(kind);
    for (std::size_t column = 0; column < short_row_null_columns; ++column) {
        tab(out);
        out += copy_null;
    }
    out.push_back('\n');
}

void batch_stager::add_rejection(const feed::rejection& rejected, std::uint64_t seq) {
    out_.rejections.push_back(rejected);
    if (!rejected.has_key) return;
    auto id = ids::event_uuid(context_.provider, rejected.base_event_id, rejected.event_id);
    append_short_row(seq, id, row_kind::rejected);
    out_.occurrences.push_back({seq, id, true, 0, 0});
}

void batch_stager::add_event(const feed::event_record& e, std::uint64_t seq) {
    // Wall-clock times the normaliser accepted can still leave the storable range once the
    // provider's time zone is applied: such an event is rejected like any other invalid one.
    auto starts_at = context_.zone->to_instant(e.start);
    auto ends_at = context_.zone->to_instant(e.end);
    if (!time::is_storable(starts_at) || !time::is_storable(ends_at)) {
        auto which = !time::is_storable(starts_at) ? "event_start_date" : "event_end_date";
        return add_rejection(
            {std::string(e.base_event_id), std::string(e.event_id),
             fmt::format("{} is outside the years 0001-9999 in time zone {}", which, context_.zone->name()), true},
            seq);
    }
    auto id = ids::event_uuid(context_.provider, e.base_event_id, e.event_id);
    auto hash = content_hash(e, context_.zone->name(), hash_scratch_);
    char kind = row_kind::added;
    if (context_.known) {
        auto found = context_.known->find(id);
        if (found != context_.known->end()) {
            if (found->second == hash) {
                ++out_.events_unchanged;
                append_short_row(seq, id, row_kind::unchanged);
                return;
            }
            kind = row_kind::changed;
        }
    }
    ++out_.events_changed;
    auto& out = out_.event_rows;
    append_occurrence_key(out, seq, id);
    out.push_back(kind);
    tab(out);
    append_copy_text(out, e.base_event_id);
    tab(out);
    append_copy_text(out, e.event_id);
    tab(out);
    append_copy_text(out, e.title);
    tab(out);
    out += feed::to_string(e.mode);
    tab(out);
    append_optional_text(out, e.organizer_company_id);
    tab(out);
    time::append_sql_timestamp(out, e.start);
    tab(out);
    time::append_sql_timestamp(out, e.end);
    tab(out);
    append_instant(out, starts_at);
    tab(out);
    append_instant(out, ends_at);
    tab(out);
    append_optional_timestamp(out, e.sell_from);
    tab(out);
    append_optional_timestamp(out, e.sell_to);
    tab(out);
    append_bool(out, e.sold_out);
    tab(out);
    append_optional_price(out, e.min_price);
    tab(out);
    append_optional_price(out, e.max_price);
    tab(out);
    append_uint(out, e.zones.size());
    tab(out);
    append_int(out, hash);
    out.push_back('\n');

    if (kind == row_kind::added) {
        // Zones of new events go straight to the zones table: no seq, prefix "event\t".
        prefix_.clear();
        id.append_to(prefix_);
        tab(prefix_);
        auto begin = out_.new_zone_rows.size();
        append_zone_rows(out_.new_zone_rows, e);
        out_.occurrences.push_back({seq, id, false, begin, out_.new_zone_rows.size()});
    } else {
        prefix_.clear();
        append_occurrence_key(prefix_, seq, id);
        append_zone_rows(out_.zone_rows, e);
    }
}

// Every zone row of an event starts with prefix_, built once per event.
void batch_stager::append_zone_rows(std::string& zones, const feed::event_record& e) {
    std::uint64_t position = 0;
    for (const auto& z : e.zones) {
        zones += prefix_;
        append_uint(zones, position++);
        tab(zones);
        append_copy_text(zones, z.zone_id);
        tab(zones);
        append_optional_text(zones, z.name);
        tab(zones);
        if (z.capacity)
            append_int(zones, *z.capacity);
        else
            zones += copy_null;
        tab(zones);
        money::append_price(zones, z.price);
        tab(zones);
        append_bool(zones, z.numbered);
        zones.push_back('\n');
    }
}

}  // namespace marquee::ingest
