#pragma once
// Providers (table providers) and the scheduler's slot claims (table schedule_slots).
//
// The store owns one PostgreSQL connection, opened on first use and opened again after it broke, so
// a long-running scheduler survives a database restart: the failing call throws storage_error and
// the next call reconnects. Not thread-safe: one store per thread. Callers validate providers
// (domain::validate) before storing them; the table's CHECK constraints are the last line.
#include "marquee/domain/provider.hpp"
#include "marquee/pg/connection.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::pg {

class provider_store {
public:
    explicit provider_store(std::string database_url, connection_options options = {});
    ~provider_store();
    provider_store(provider_store&&) noexcept;
    provider_store& operator=(provider_store&&) noexcept;

    /// Every method throws storage_error (with the SQLSTATE) when PostgreSQL fails.

    /// Adds `p`; false when a provider of that name exists.
    bool insert(const domain::provider& p);
    /// Replaces every field of the provider named p.name; false when there is none.
    bool update(const domain::provider& p);
    /// Adds `p`, or updates the url, schedule and time zone of an existing provider (what the
    /// PROVIDER_* settings say) while keeping its enabled flag and fetch limits, which operators
    /// manage with `provider update|enable|disable`.
    void upsert(const domain::provider& p);
    std::optional<domain::provider> get(std::string_view name);
    /// Ordered by name.
    std::vector<domain::provider> list();
    /// False when there is none. Throws storage_error with SQLSTATE 23503 (foreign_key_violation)
    /// when events or ingestion runs refer to it: disable such a provider instead.
    bool remove(std::string_view name);
    /// False when there is none.
    bool set_enabled(std::string_view name, bool enabled);

    /// How long a claim holds before another scheduler may take it over: longer than a scheduler
    /// retries a publish (20 s), shorter than a minute, so the slot of a scheduler that died
    /// between claim and publish still goes out before a per-minute schedule's next one.
    static constexpr std::chrono::seconds default_claim_lease{30};

    /// Claims each of `slots` for publishing, all in one statement; returns the ones this caller
    /// won, in the order given. A slot is won by exactly one caller across all schedulers — or again
    /// when an earlier claim was never marked published within `stale_after` (its scheduler died
    /// between claiming and publishing), which this call then takes over. A slot of a provider that
    /// no longer exists is not claimed. Claims are taken in (provider, slot) order, so schedulers
    /// claiming overlapping batches wait for each other instead of deadlocking.
    /// Also says which of the others another scheduler holds without having published them yet.
    domain::slot_claims claim_slots(std::span<const domain::provider_slot> slots,
                                    std::chrono::seconds stale_after = default_claim_lease);
    /// Records that the jobs for `slots` were confirmed by RabbitMQ (one statement).
    void mark_slots_published(std::span<const domain::provider_slot> slots);
    /// Gives up the unpublished claims among `slots` so they can be claimed again (after failed
    /// publishes; one statement).
    void release_slots(std::span<const domain::provider_slot> slots);

private:
    template <typename Body>
    decltype(auto) run(Body&& body);

    std::string database_url_;
    connection_options options_;
    std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace marquee::pg
