#pragma once
// Every statement of the ingestion path, named. Parameters are numbered $1… as noted per statement.
#include "marquee/ingest/staging.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace marquee::pg::ingestion_sql {

// The class of the per-provider ingestion locks (class, hashtext(provider)).
inline constexpr std::int32_t provider_lock_class = 0x6d71;  // "mq"

// $1 provider. Run only while holding the provider's lock: any run still 'running' then has lost
// its worker.
inline constexpr const char* abandon_runs = R"sql(
UPDATE ingestion_runs
   SET status = 'failed', finished_at = now(), error = 'abandoned: its worker stopped before finishing'
 WHERE provider = $1 AND status = 'running')sql";

// $1 provider, $2 job id, $3 scheduled for (text, may be null).
inline constexpr const char* start_run = R"sql(
INSERT INTO ingestion_runs (provider, status, job_id, scheduled_for)
VALUES ($1, 'running', $2, $3::timestamptz)
RETURNING id)sql";

// $1 run id, $2 error, $3 events seen, $4 events rejected.
inline constexpr const char* fail_run = R"sql(
UPDATE ingestion_runs
   SET status = 'failed', finished_at = clock_timestamp(), error = $2, events_seen = $3, events_rejected = $4
 WHERE id = $1)sql";

// $1 run id, $2 seen, $3 changed, $4 rejected.
inline constexpr const char* succeed_run = R"sql(
UPDATE ingestion_runs
   SET status = 'succeeded', finished_at = clock_timestamp(), error = NULL,
       events_seen = $2, events_changed = $3, events_rejected = $4
 WHERE id = $1)sql";

// $1 provider, $2 the job's slot (RFC 3339). A succeeded run for this slot or a later one fetched
// a feed at least as new as this job would: a job delivered again after its run committed (its ack
// lost with a connection), a retry that comes back after the next slot's run, a backlog.
inline constexpr const char* success_at_or_after = R"sql(
SELECT EXISTS (SELECT 1 FROM ingestion_runs
                WHERE provider = $1 AND status = 'succeeded' AND scheduled_for >= $2::timestamptz))sql";

// $1 provider.
inline constexpr const char* known_hashes = "SELECT id::text, content_hash FROM events WHERE provider = $1";

// The staging tables' column types. Names and order come from ingest::stage_event_columns and
// ingest::stage_zone_columns (the rows' layout); the compiler holds the two lists together.
struct column_type {
    std::string_view name;
    std::string_view type;
};
inline constexpr std::array<column_type, ingest::stage_event_columns.size()> stage_event_types = {{
    {"seq", "bigint NOT NULL"},    {"id", "uuid NOT NULL"},
    {"kind", "\"char\" NOT NULL"}, {"base_event_id", "text"},
    {"event_id", "text"},          {"title", "text"},
    {"sell_mode", "text"},         {"organizer_company_id", "text"},
    {"start_local", "timestamp"},  {"end_local", "timestamp"},
    {"starts_at", "timestamptz"},  {"ends_at", "timestamptz"},
    {"sell_from", "timestamp"},    {"sell_to", "timestamp"},
    {"sold_out", "boolean"},       {"min_price", "numeric"},
    {"max_price", "numeric"},      {"zone_count", "integer"},
    {"content_hash", "bigint"},
}};
inline constexpr std::array<column_type, ingest::stage_zone_columns.size()> stage_zone_types = {{
    {"seq", "bigint NOT NULL"},
    {"event", "uuid NOT NULL"},
    {"position", "integer NOT NULL"},
    {"zone_id", "text NOT NULL"},
    {"name", "text"},
    {"capacity", "bigint"},
    {"price", "numeric NOT NULL"},
    {"numbered", "boolean"},
}};

template <std::size_t N>
constexpr bool same_names(const std::array<column_type, N>& typed, const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i)
        if (typed[i].name != names[i]) return false;
    return true;
}
static_assert(same_names(stage_event_types, ingest::stage_event_columns), "stage_events types out of step");
static_assert(same_names(stage_zone_types, ingest::stage_zone_columns), "stage_zones types out of step");

/// CREATE TEMP TABLE statements for stage_events and stage_zones (dropped at commit).
std::string create_stage_tables();

// The statements below spell the row kinds as SQL "char" literals.
static_assert(ingest::row_kind::added == 'n' && ingest::row_kind::changed == 'c' &&
                  ingest::row_kind::unchanged == 'u' && ingest::row_kind::rejected == 'r',
              "update the kind literals in pick_winners, merge_events, touch_unchanged, merge_zones, trim_zones");

// The last occurrence of each event in the feed wins, whatever its kind.
inline constexpr const char* pick_winners = R"sql(
CREATE TEMP TABLE stage_winners ON COMMIT DROP AS
SELECT DISTINCT ON (id) * FROM stage_events ORDER BY id, seq DESC;
ANALYZE stage_winners)sql";

// Whether merge_events will write a searchable row: a new or changed event that is online now or
// was once. Only then is the data version bumped (and its row locked until commit).
inline constexpr const char* changes_searchable = R"sql(
SELECT EXISTS (SELECT 1 FROM stage_winners w LEFT JOIN events e ON e.id = w.id
                WHERE w.kind IN ('n', 'c') AND (w.sell_mode = 'online' OR e.ever_online)))sql";

// $1 provider, $2 the data version this transaction bumped to (null when it changes nothing
// searchable). Writes new and changed events stamped with $2 (migrations/0004), appends history
// when the sell mode, dates or price range moved (or the event is new), and returns how many
// events were written.
inline constexpr const char* merge_events = R"sql(
WITH prior AS (
    SELECT e.id, e.sell_mode, e.start_local, e.end_local, e.min_price, e.max_price
      FROM events e JOIN stage_winners w ON w.id = e.id AND w.kind = 'c'
), written AS (
    INSERT INTO events AS e (
        id, provider, base_event_id, event_id, title, sell_mode, organizer_company_id,
        start_local, end_local, starts_at, ends_at, sell_from, sell_to, sold_out, min_price, max_price,
        zone_count, ever_online, content_hash, first_seen_at, last_seen_at, changed_at, changed_version)
    SELECT w.id, $1, w.base_event_id, w.event_id, w.title, w.sell_mode, w.organizer_company_id,
           w.start_local, w.end_local, w.starts_at, w.ends_at, w.sell_from, w.sell_to, w.sold_out,
           w.min_price, w.max_price, w.zone_count, w.sell_mode = 'online', w.content_hash, now(), now(), now(),
           COALESCE($2::bigint, 0)
      FROM stage_winners w
     WHERE w.kind IN ('n', 'c')
    ON CONFLICT (id) DO UPDATE SET
        title = excluded.title, sell_mode = excluded.sell_mode,
        organizer_company_id = excluded.organizer_company_id,
        start_local = excluded.start_local, end_local = excluded.end_local,
        starts_at = excluded.starts_at, ends_at = excluded.ends_at,
        sell_from = excluded.sell_from, sell_to = excluded.sell_to, sold_out = excluded.sold_out,
        min_price = excluded.min_price, max_price = excluded.max_price, zone_count = excluded.zone_count,
        ever_online = e.ever_online OR excluded.ever_online,
        content_hash = excluded.content_hash, last_seen_at = excluded.last_seen_at,
        changed_at = excluded.changed_at, changed_version = COALESCE($2::bigint, e.changed_version)
    WHERE e.content_hash IS DISTINCT FROM excluded.content_hash
    RETURNING e.id, e.sell_mode, e.start_local, e.end_local, e.min_price, e.max_price
), history AS (
    INSERT INTO event_history (event, observed_at, sell_mode, start_local, end_local, min_price, max_price)
    SELECT x.id, now(), x.sell_mode, x.start_local, x.end_local, x.min_price, x.max_price
      FROM written x LEFT JOIN prior p ON p.id = x.id
     WHERE p.id IS NULL
        OR (p.sell_mode, p.start_local, p.end_local, p.min_price, p.max_price)
           IS DISTINCT FROM (x.sell_mode, x.start_local, x.end_local, x.min_price, x.max_price)
)
SELECT count(*) FROM written)sql";

// Unchanged events: only the time they were last seen moves.
inline constexpr const char* touch_unchanged = R"sql(
UPDATE events e SET last_seen_at = now()
  FROM stage_winners w
 WHERE w.kind = 'u' AND e.id = w.id)sql";

// $1 uuid[] text. Zones copied for an occurrence that a later one superseded.
inline constexpr const char* delete_zones_of = "DELETE FROM zones WHERE event = ANY($1::uuid[])";

// Zones of changed events: only rows that differ are written.
inline constexpr const char* merge_zones = R"sql(
INSERT INTO zones AS z (event, position, zone_id, name, capacity, price, numbered)
SELECT s.event, s.position, s.zone_id, s.name, s.capacity, s.price, s.numbered
  FROM stage_zones s JOIN stage_winners w ON w.id = s.event AND w.seq = s.seq AND w.kind = 'c'
ON CONFLICT (event, position) DO UPDATE SET
    zone_id = excluded.zone_id, name = excluded.name, capacity = excluded.capacity,
    price = excluded.price, numbered = excluded.numbered
WHERE (z.zone_id, z.name, z.capacity, z.price, z.numbered)
      IS DISTINCT FROM (excluded.zone_id, excluded.name, excluded.capacity, excluded.price, excluded.numbered))sql";

// Zones past a changed event's new zone count. A join driven by the changed events: with few of
// them it probes the zones primary key per event; it never runs a subquery per zone, which an
// IN (subquery) form could, scanning the winners once per zone when the planner misjudged zones
// (a retry after an aborted first load took minutes).
inline constexpr const char* trim_zones = R"sql(
DELETE FROM zones z
 USING stage_winners w
 WHERE w.kind = 'c' AND z.event = w.id AND z.position >= w.zone_count)sql";

// Locks the version row until commit: bumps are serialised, so versions follow commit order.
inline constexpr const char* bump_data_version = R"sql(
UPDATE data_version SET version = version + 1, changed_at = now() RETURNING version)sql";

// $1 the new version. Delivered to listeners when the transaction commits.
inline constexpr const char* notify_data_version = "SELECT pg_notify('marquee_data_version', $1)";

}  // namespace marquee::pg::ingestion_sql
