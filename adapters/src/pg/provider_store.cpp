#include "marquee/pg/provider_store.hpp"

#include "marquee/error.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <pqxx/pqxx>

#include <set>

namespace marquee::pg {
namespace {

constexpr const char* insert_provider_sql = R"(
INSERT INTO providers (name, url, schedule, time_zone, enabled, fetch_timeout_ms, max_feed_bytes,
                       max_zones_per_event, max_events_per_base_event, max_attribute_bytes, max_rejections_kept)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (name) DO NOTHING
RETURNING name)";

constexpr const char* update_provider_sql = R"(
UPDATE providers
SET url = $2, schedule = $3, time_zone = $4, enabled = $5, fetch_timeout_ms = $6, max_feed_bytes = $7,
    max_zones_per_event = $8, max_events_per_base_event = $9, max_attribute_bytes = $10, max_rejections_kept = $11,
    updated_at = now()
WHERE name = $1
RETURNING name)";

constexpr const char* upsert_provider_sql = R"(
INSERT INTO providers (name, url, schedule, time_zone, enabled, fetch_timeout_ms, max_feed_bytes,
                       max_zones_per_event, max_events_per_base_event, max_attribute_bytes, max_rejections_kept)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (name) DO UPDATE
SET url = EXCLUDED.url, schedule = EXCLUDED.schedule, time_zone = EXCLUDED.time_zone, updated_at = now()
WHERE (providers.url, providers.schedule, providers.time_zone)
      IS DISTINCT FROM (EXCLUDED.url, EXCLUDED.schedule, EXCLUDED.time_zone))";

constexpr const char* get_provider_sql = R"(
SELECT name, url, schedule, time_zone, enabled, fetch_timeout_ms, max_feed_bytes,
       max_zones_per_event, max_events_per_base_event, max_attribute_bytes, max_rejections_kept
  FROM providers WHERE name = $1)";

constexpr const char* list_providers_sql = R"(
SELECT name, url, schedule, time_zone, enabled, fetch_timeout_ms, max_feed_bytes,
       max_zones_per_event, max_events_per_base_event, max_attribute_bytes, max_rejections_kept
  FROM providers ORDER BY name)";

constexpr const char* delete_provider_sql = "DELETE FROM providers WHERE name = $1 RETURNING name";

constexpr const char* set_enabled_sql = R"(
UPDATE providers SET enabled = $2, updated_at = now() WHERE name = $1 RETURNING name)";

// $1 providers, $2 slots (parallel arrays). A fresh claim inserts; an existing claim is taken over
// only when it was never published and is older than the lease ($3 seconds), so a scheduler that
// died between claim and publish does not lose the slot. Rows are claimed in key order, so two
// schedulers claiming overlapping batches take the row locks in the same order (the later one waits
// for the earlier one's commit, then finds its claims) rather than deadlock. DISTINCT: ON CONFLICT
// DO UPDATE refuses to touch a row twice. A removed provider's slot is left out rather than fail the
// whole batch on the foreign key.
constexpr const char* claim_slots_sql = R"(
INSERT INTO schedule_slots (provider, slot)
SELECT DISTINCT wanted.provider, wanted.slot
  FROM unnest($1::text[], $2::timestamptz[]) AS wanted (provider, slot)
 WHERE EXISTS (SELECT 1 FROM providers WHERE providers.name = wanted.provider)
 ORDER BY wanted.provider, wanted.slot
ON CONFLICT (provider, slot) DO UPDATE SET claimed_at = now()
WHERE schedule_slots.published_at IS NULL AND schedule_slots.claimed_at < now() - make_interval(secs => $3)
RETURNING provider, extract(epoch FROM slot)::bigint)";

// $1 providers, $2 slots: those claimed but not published (after claim_slots_sql, in its
// transaction).
constexpr const char* unpublished_slots_sql = R"(
SELECT s.provider, extract(epoch FROM s.slot)::bigint
  FROM schedule_slots s
  JOIN unnest($1::text[], $2::timestamptz[]) AS wanted (provider, slot)
    ON s.provider = wanted.provider AND s.slot = wanted.slot
 WHERE s.published_at IS NULL)";

// $1 providers, $2 slots.
constexpr const char* mark_slots_published_sql = R"(
UPDATE schedule_slots SET published_at = now()
  FROM unnest($1::text[], $2::timestamptz[]) AS done (provider, slot)
 WHERE schedule_slots.provider = done.provider AND schedule_slots.slot = done.slot)";

// $1 providers, $2 slots.
constexpr const char* release_slots_sql = R"(
DELETE FROM schedule_slots
 USING unnest($1::text[], $2::timestamptz[]) AS given_up (provider, slot)
 WHERE schedule_slots.provider = given_up.provider AND schedule_slots.slot = given_up.slot
   AND schedule_slots.published_at IS NULL)";

// A PostgreSQL array literal of `items` for a $n::text[] or $n::timestamptz[] parameter (libpqxx 6
// has no array parameters): every element double-quoted, with '"' and '\' escaped.
template <typename Text>
std::string array_literal(std::span<const domain::provider_slot> items, Text text) {
    std::string out = "{";
    for (const auto& item : items) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char c : text(item)) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

std::string providers_array(std::span<const domain::provider_slot> slots) {
    return array_literal(slots, [](const domain::provider_slot& s) -> const std::string& { return s.provider; });
}

std::string slots_array(std::span<const domain::provider_slot> slots) {
    return array_literal(slots, [](const domain::provider_slot& s) { return jobs::format_rfc3339_utc(s.slot); });
}

domain::provider from_row(const pqxx::row& row) {
    domain::provider p;
    p.name = row[0].as<std::string>();
    p.url = row[1].as<std::string>();
    p.schedule = row[2].as<std::string>();
    p.time_zone = row[3].as<std::string>();
    p.enabled = row[4].as<bool>();
    p.fetch_timeout_ms = row[5].as<std::int64_t>();
    p.max_feed_bytes = row[6].as<std::int64_t>();
    p.caps.max_zones_per_event = row[7].as<std::int64_t>();
    p.caps.max_events_per_base_event = row[8].as<std::int64_t>();
    p.caps.max_attribute_bytes = row[9].as<std::int64_t>();
    p.caps.max_rejections_kept = row[10].as<std::int64_t>();
    return p;
}

template <typename Body>
decltype(auto) in_transaction(pqxx::connection& conn, Body&& body) {
    pqxx::work tx(conn);
    if constexpr (std::is_void_v<decltype(body(tx))>) {
        body(tx);
        tx.commit();
    } else {
        auto result = body(tx);
        tx.commit();
        return result;
    }
}

pqxx::result exec_provider(pqxx::work& tx, const char* sql, const domain::provider& p) {
    return tx.exec_params(sql, p.name, p.url, p.schedule, p.time_zone, p.enabled, p.fetch_timeout_ms, p.max_feed_bytes,
                          p.caps.max_zones_per_event, p.caps.max_events_per_base_event, p.caps.max_attribute_bytes,
                          p.caps.max_rejections_kept);
}

}  // namespace

provider_store::provider_store(std::string database_url, connection_options options)
    : database_url_(std::move(database_url)), options_(options) {}

provider_store::~provider_store() = default;
provider_store::provider_store(provider_store&&) noexcept = default;
provider_store& provider_store::operator=(provider_store&&) noexcept = default;

template <typename Body>
decltype(auto) provider_store::run(Body&& body) {
    if (conn_ && !usable(*conn_)) conn_.reset();
    if (!conn_) conn_ = connect(database_url_, options_);
    try {
        return translate_errors([&] { return in_transaction(*conn_, body); });
    } catch (const storage_error& e) {
        // libpqxx can call a connection the server has dropped open: keep it only when the server
        // answered and refused the data.
        if (!e.is_data_error() || !conn_->is_open()) conn_.reset();
        throw;
    }
}

bool provider_store::insert(const domain::provider& p) {
    return run([&](pqxx::work& tx) { return !exec_provider(tx, insert_provider_sql, p).empty(); });
}

bool provider_store::update(const domain::provider& p) {
    return run([&](pqxx::work& tx) { return !exec_provider(tx, update_provider_sql, p).empty(); });
}

void provider_store::upsert(const domain::provider& p) {
    run([&](pqxx::work& tx) { exec_provider(tx, upsert_provider_sql, p); });
}

std::optional<domain::provider> provider_store::get(std::string_view name) {
    return run([&](pqxx::work& tx) -> std::optional<domain::provider> {
        auto r = tx.exec_params(get_provider_sql, std::string(name));
        if (r.empty()) return std::nullopt;
        return from_row(r[0]);
    });
}

std::vector<domain::provider> provider_store::list() {
    return run([&](pqxx::work& tx) {
        std::vector<domain::provider> out;
        for (const auto& row : tx.exec(list_providers_sql)) out.push_back(from_row(row));
        return out;
    });
}

bool provider_store::remove(std::string_view name) {
    return run([&](pqxx::work& tx) { return !tx.exec_params(delete_provider_sql, std::string(name)).empty(); });
}

bool provider_store::set_enabled(std::string_view name, bool enabled) {
    return run([&](pqxx::work& tx) { return !tx.exec_params(set_enabled_sql, std::string(name), enabled).empty(); });
}

domain::slot_claims provider_store::claim_slots(std::span<const domain::provider_slot> slots,
                                                std::chrono::seconds stale_after) {
    if (slots.empty()) return {};
    auto slot_of = [](const pqxx::row& row) {
        return domain::provider_slot{row[0].as<std::string>(),
                                     std::chrono::sys_seconds{std::chrono::seconds{row[1].as<std::int64_t>()}}};
    };
    auto [won, unpublished] = run([&](pqxx::work& tx) {
        std::set<domain::provider_slot> claimed;
        std::set<domain::provider_slot> open;
        for (const auto& row : tx.exec_params(claim_slots_sql, providers_array(slots), slots_array(slots),
                                              static_cast<double>(stale_after.count())))
            claimed.insert(slot_of(row));
        for (const auto& row : tx.exec_params(unpublished_slots_sql, providers_array(slots), slots_array(slots)))
            open.insert(slot_of(row));
        return std::pair{std::move(claimed), std::move(open)};
    });
    domain::slot_claims out;
    for (const auto& s : slots) {
        if (won.erase(s) > 0)
            out.won.push_back(s);
        else if (unpublished.contains(s))
            out.held_elsewhere.push_back(s);
    }
    return out;
}

void provider_store::mark_slots_published(std::span<const domain::provider_slot> slots) {
    if (slots.empty()) return;
    run([&](pqxx::work& tx) { tx.exec_params(mark_slots_published_sql, providers_array(slots), slots_array(slots)); });
}

void provider_store::release_slots(std::span<const domain::provider_slot> slots) {
    if (slots.empty()) return;
    run([&](pqxx::work& tx) { tx.exec_params(release_slots_sql, providers_array(slots), slots_array(slots)); });
}

}  // namespace marquee::pg
