#include "marquee/pg/ingestion_store.hpp"

#include "copy_writer.hpp"
#include "ingestion_sql.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"
#include "new_zone_writer.hpp"
#include "refused_rows.hpp"

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>

namespace marquee::pg {
namespace {

ingest::known_hashes load_known_hashes(pqxx::transaction_base& tx, const std::string& provider) {
    ingest::known_hashes known;
    auto rows = tx.exec_params(ingestion_sql::known_hashes, provider);
    known.reserve(rows.size());
    for (const auto& row : rows) known.emplace(ids::parse_uuid(row[0].c_str()).value(), row[1].as<std::int64_t>());
    return known;
}

}  // namespace

advisory_key provider_lock_key(std::string provider) {
    return advisory_key::named(ingestion_sql::provider_lock_class, std::move(provider));
}

std::int64_t ingestion_store::start_run(const std::string& provider, const std::string& job_id,
                                        const std::string& scheduled_for) {
    return translate_errors([&] {
        pqxx::work tx(connection_);
        auto abandoned = tx.exec_params(ingestion_sql::abandon_runs, provider);
        if (abandoned.affected_rows() > 0)
            log::warn("provider {}: {} earlier run(s) had lost their worker; marked failed", provider,
                      abandoned.affected_rows());
        std::optional<std::string> when;
        if (!scheduled_for.empty()) when = scheduled_for;
        auto id = tx.exec_params1(ingestion_sql::start_run, provider, job_id, when)[0].as<std::int64_t>();
        tx.commit();
        return id;
    });
}

bool ingestion_store::has_success_at_or_after(const std::string& provider, const std::string& slot) {
    return translate_errors([&] {
        pqxx::read_transaction tx(connection_);
        return tx.exec_params1(ingestion_sql::success_at_or_after, provider, slot)[0].as<bool>();
    });
}

void ingestion_store::fail_run(std::int64_t run_id, const std::string& error, std::size_t seen,
                               std::size_t rejected) noexcept {
    try {
        pqxx::work tx(connection_);
        tx.exec_params(ingestion_sql::fail_run, run_id, error, static_cast<long long>(seen),
                       static_cast<long long>(rejected));
        tx.commit();
    } catch (const std::exception& e) {
        log::error("could not record the failure of run {}: {}", run_id, e.what());
    }
}

ingestion_report ingestion_store::ingest(std::int64_t run_id, const domain::provider& provider,
                                         std::span<char> document, const ingest::pipeline_options& options,
                                         const exclusions& excluded) {
    try {
        return translate_errors([&] { return ingest_in_transaction(run_id, provider, document, options, excluded); });
    } catch (const refused_data&) {
        throw;
    } catch (const storage_error& e) {
        // A data error in a set-based statement names its row in the message's detail.
        if (e.is_data_error()) throw refused_data(e, detail::event_in_failing_row(e.what()));
        throw;
    }
}

ingestion_report ingestion_store::ingest_in_transaction(std::int64_t run_id, const domain::provider& provider,
                                                        std::span<char> document,
                                                        const ingest::pipeline_options& options,
                                                        const exclusions& excluded) {
    time::zone zone(provider.time_zone);
    pqxx::work tx(connection_);
    auto known = load_known_hashes(tx, provider.name);
    tx.exec0(ingestion_sql::create_stage_tables());

    ingestion_report report;
    ingest::provider_context context{provider.name, &zone, &known, provider.caps};
    detail::new_zone_writer new_zones(tx);
    std::size_t excluded_count = 0;
    const auto keep = static_cast<std::size_t>(std::max<std::int64_t>(0, provider.caps.max_rejections_kept));
    auto keep_rejections = [&](std::vector<feed::rejection>& rejections) {
        for (auto& r : rejections) {
            if (report.rejections.size() >= keep) break;
            report.rejections.push_back(std::move(r));
        }
    };
    auto totals = ingest::stage_feed(document, context, options, [&](ingest::staged_batch& batch) {
        if (!excluded.empty()) {
            std::vector<feed::rejection> refused;
            excluded_count += detail::exclude_events(batch, excluded, refused);
            keep_rejections(refused);
        }
        detail::copy_rows(tx, "stage_events", ingest::stage_event_columns, batch.event_rows);
        detail::copy_rows(tx, "stage_zones", ingest::stage_zone_columns, batch.zone_rows);
        new_zones.add(batch);
        keep_rejections(batch.rejections);
    });
    new_zones.finish();
    report.events_seen = totals.events_seen;
    report.events_rejected = totals.events_rejected + excluded_count;
    report.events_unchanged = totals.events_unchanged;

    tx.exec0(ingestion_sql::pick_winners);
    tx.exec0(ingestion_sql::touch_unchanged);
    tx.exec0(ingestion_sql::merge_zones);
    tx.exec0(ingestion_sql::trim_zones);
    // The version is bumped last, just before the rows it stamps are written: its row stays locked
    // until commit, so the shorter the rest of the transaction, the less other providers wait.
    std::optional<std::int64_t> stamp;
    if (tx.exec1(ingestion_sql::changes_searchable)[0].as<bool>())
        stamp = tx.exec1(ingestion_sql::bump_data_version)[0].as<std::int64_t>();
    auto merged = tx.exec_params1(ingestion_sql::merge_events, provider.name, stamp);
    report.events_changed = merged[0].as<std::size_t>();
    if (stamp) {
        report.data_version = *stamp;
        tx.exec_params(ingestion_sql::notify_data_version, std::to_string(*stamp));
    }
    tx.exec_params(ingestion_sql::succeed_run, run_id, static_cast<long long>(report.events_seen),
                   static_cast<long long>(report.events_changed), static_cast<long long>(report.events_rejected));
    tx.commit();
    return report;
}

}  // namespace marquee::pg
