#pragma once
// Turns event outcomes into rows for the storage layer's staging tables, skipping what has not
// changed since the last ingestion: an unchanged event costs one short "seen" row, its zones are
// not even serialised.
#include "marquee/feed/event_record.hpp"
#include "marquee/feed/limits.hpp"
#include "marquee/ids/event_id.hpp"
#include "marquee/time/local_datetime.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace marquee::ingest {

/// Content hash of every event the provider has stored, by event id.
using known_hashes = std::unordered_map<ids::uuid, std::int64_t, ids::uuid_hash>;

struct provider_context {
    std::string_view provider;
    const time::zone* zone = nullptr;
    const known_hashes* known = nullptr;
    feed::limits caps;
};

/// An occurrence of a not-yet-stored event, or a rejected occurrence of any event, in feed order.
/// The storage layer needs them to copy new events' zones straight into the zones table while
/// still honouring "the last occurrence wins".
struct occurrence {
    std::uint64_t seq;
    ids::uuid id;
    bool rejected;
    std::size_t zone_rows_begin;  // the event's rows in staged_batch::new_zone_rows
    std::size_t zone_rows_end;
};

/// Kinds of staged event rows. The last occurrence of an event in a feed wins, whatever its kind.
namespace row_kind {
inline constexpr char added = 'n';      // not stored yet: full row and zones, inserted plainly
inline constexpr char changed = 'c';    // stored with other content: full row and zones, merged
inline constexpr char unchanged = 'u';  // same content hash as stored: only last_seen_at moves
inline constexpr char rejected = 'r';   // broke a rule: the stored version stays
}  // namespace row_kind

/// The staging tables' columns, in the order rows are written: defined here once. The storage
/// layer creates the tables from these names (checked against its column types at compile time)
/// and copies rows in this order.
inline constexpr std::array<std::string_view, 19> stage_event_columns = {
    "seq",         "id",         "kind",        "base_event_id",
    "event_id",    "title",      "sell_mode",   "organizer_company_id",
    "start_local", "end_local",  "starts_at",   "ends_at",
    "sell_from",   "sell_to",    "sold_out",    "min_price",
    "max_price",   "zone_count", "content_hash"};
inline constexpr std::array<std::string_view, 8> stage_zone_columns = {"seq",  "event",    "position", "zone_id",
                                                                       "name", "capacity", "price",    "numbered"};
/// The zones table takes a staged zone row without its seq.
inline constexpr auto zone_columns = std::span(stage_zone_columns).subspan<1>();

/// Position of `name` in `columns` (columns.size() when absent).
constexpr std::size_t column_index(std::span<const std::string_view> columns, std::string_view name) {
    std::size_t i = 0;
    while (i < columns.size() && columns[i] != name) ++i;
    return i;
}

/// A short row (unchanged or rejected) is "seq\tid\tkind" and a NULL for each remaining column.
inline constexpr std::size_t short_row_columns = 3;
inline constexpr std::size_t short_row_null_columns = stage_event_columns.size() - short_row_columns;
static_assert(column_index(stage_event_columns, "seq") == 0 && column_index(stage_event_columns, "id") == 1 &&
                  column_index(stage_event_columns, "kind") == 2,
              "short rows and every staged row start with seq, id, kind");
static_assert(column_index(stage_zone_columns, "seq") == 0 && column_index(stage_zone_columns, "event") == 1,
              "staged zone rows start with seq, event; zone rows drop the seq");

struct staged_batch {
    std::string event_rows;               // COPY text rows for the stage_events table
    std::string zone_rows;                // COPY text rows for the stage_zones table (changed events)
    std::string new_zone_rows;            // COPY text rows for the zones table (events not stored yet)
    std::vector<occurrence> occurrences;  // of new events, and rejected ones with a key
    std::vector<feed::rejection> rejections;
    std::size_t events_seen = 0;
    std::size_t events_changed = 0;  // new or changed occurrences (before last-wins)
    std::size_t events_unchanged = 0;

    void clear();
};

/// Hash of everything the feed says about an event, plus the time zone its instants depend on.
std::int64_t content_hash(const feed::event_record& event, std::string_view time_zone, std::string& scratch);

/// Appends outcomes to a batch. `seq` orders occurrences across the whole feed.
class batch_stager {
public:
    batch_stager(const provider_context& context, staged_batch& out) : context_(context), out_(out) {}
    void add(const feed::event_outcome& outcome, std::uint64_t seq);

private:
    void add_event(const feed::event_record& event, std::uint64_t seq);
    void add_rejection(const feed::rejection& rejected, std::uint64_t seq);
    void append_short_row(std::uint64_t seq, const ids::uuid& id, char kind);
    void append_zone_rows(std::string& out, const feed::event_record& e);

    const provider_context& context_;
    staged_batch& out_;
    std::string hash_scratch_;
    std::string prefix_;
};

}  // namespace marquee::ingest
