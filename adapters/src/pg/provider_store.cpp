#include "marquee/pg/provider_store.hpp"

#include "marquee/error.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <pqxx/pqxx>

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

// A fresh claim inserts; an existing claim is taken over only when it was never published and is
// older than the lease, so a scheduler that died between claim and publish does not lose the slot.
constexpr const char* claim_slot_sql = R"(
INSERT INTO schedule_slots (provider, slot) VALUES ($1, $2::timestamptz)
ON CONFLICT (provider, slot) DO UPDATE SET claimed_at = now()
WHERE schedule_slots.published_at IS NULL AND schedule_slots.claimed_at < now() - make_interval(secs => $3)
RETURNING provider)";

constexpr const char* mark_published_sql = R"(
UPDATE schedule_slots SET published_at = now() WHERE provider = $1 AND slot = $2::timestamptz)";

constexpr const char* release_slot_sql = R"(
DELETE FROM schedule_slots WHERE provider = $1 AND slot = $2::timestamptz AND published_at IS NULL)";

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

bool provider_store::claim_slot(std::string_view provider, std::chrono::sys_seconds slot,
                                std::chrono::seconds stale_after) {
    return run([&](pqxx::work& tx) {
        return !tx.exec_params(claim_slot_sql, std::string(provider), jobs::format_rfc3339_utc(slot),
                               static_cast<double>(stale_after.count()))
                    .empty();
    });
}

void provider_store::mark_published(std::string_view provider, std::chrono::sys_seconds slot) {
    run([&](pqxx::work& tx) {
        tx.exec_params(mark_published_sql, std::string(provider), jobs::format_rfc3339_utc(slot));
    });
}

void provider_store::release_slot(std::string_view provider, std::chrono::sys_seconds slot) {
    run([&](pqxx::work& tx) {
        tx.exec_params(release_slot_sql, std::string(provider), jobs::format_rfc3339_utc(slot));
    });
}

}  // namespace marquee::pg
