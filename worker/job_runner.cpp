#include "job_runner.hpp"

#include "marquee/error.hpp"
#include "marquee/log/fields.hpp"
#include "marquee/pg/connection.hpp"
#include "marquee/text/utf8.hpp"

#include <fmt/format.h>

#include <fstream>

namespace marquee::worker {
namespace {

// One allocation of the file's size and one read: feeds are hundreds of megabytes.
std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::error_code ec;
    auto size = std::filesystem::file_size(file, ec);
    if (!in || ec) throw config_error("FILE", fmt::format("cannot read {}", file.string()));
    std::string text(size, '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(size)))
        throw config_error("FILE", fmt::format("cannot read {}", file.string()));
    return text;
}

}  // namespace

job_runner::job_runner(runner_settings settings)
    : settings_(std::move(settings)), providers_(settings_.database_url, {.application_name = "marquee-worker"}) {}

pqxx::connection& job_runner::connection() {
    if (!connection_ || !pg::usable(*connection_))
        connection_ = pg::connect(settings_.database_url, {.application_name = "marquee-worker"});
    return *connection_;
}

void job_runner::log_report(const std::string& provider, std::int64_t run_id,
                            const pg::ingestion_report& report) const {
    // Values from the feed reach the log only quoted and cut short: one line per rejection. The
    // ids of an event without a usable key arrive quoted already (feed::rejection).
    auto shown = [](const feed::rejection& r, const std::string& id) {
        return r.has_key || id.empty() ? text::quoted(id) : id;
    };
    for (const auto& r : report.rejections)
        log::warn("provider {} run {}: rejected event base_event_id={} event_id={}: {}", provider, run_id,
                  shown(r, r.base_event_id), shown(r, r.event_id), r.reason);
    if (report.events_rejected > report.rejections.size())
        log::warn("provider {} run {}: {} more rejected events not logged (max_rejections_kept)", provider, run_id,
                  report.events_rejected - report.rejections.size());
    log::info(log::fields{{"events_seen", report.events_seen},
                          {"events_written", report.events_changed},
                          {"events_unchanged", report.events_unchanged},
                          {"events_rejected", report.events_rejected},
                          {"data_version", report.data_version}},
              "provider {} run {} succeeded: {} events seen, {} written, {} unchanged, {} rejected{}", provider, run_id,
              report.events_seen, report.events_changed, report.events_unchanged, report.events_rejected,
              report.data_version ? fmt::format(", data version {}", report.data_version) : std::string{});
}

job_outcome job_runner::run(const jobs::fetch_job& job) noexcept {
    std::int64_t run_id = 0;
    job_outcome outcome;
    try {
        outcome = run_locked(job, run_id);
    } catch (...) {
        outcome = outcome_of(std::current_exception());
        // libpqxx can call a connection the server has dropped open until it is used again: after
        // any failure, start afresh. Only here, with no lock or store left referring to it, may
        // the connection go.
        connection_.reset();
        if (run_id != 0) record_failure(run_id, outcome.message);
    }
    return outcome;
}

void job_runner::record_failure(std::int64_t run_id, const std::string& message) noexcept {
    try {
        pg::ingestion_store(connection()).fail_run(run_id, message);
    } catch (const std::exception& e) {
        // PostgreSQL is unreachable: the provider's next run marks this one abandoned.
        log::warn("could not record the failure of run {}: {}", run_id, e.what());
    }
}

job_outcome job_runner::run_locked(const jobs::fetch_job& job, std::int64_t& run_id) {
    auto provider = providers_.get(job.provider);
    if (!provider) return {job_status::failed_permanent, fmt::format("unknown provider '{}'", job.provider)};
    if (!provider->enabled) return {job_status::skipped, fmt::format("provider '{}' is disabled", job.provider)};

    // One connection for the whole job: the store and the lock refer to it until they are gone.
    auto& conn = connection();
    pg::ingestion_store store(conn);
    // A consumer never waits for another ingestion of the same provider: waiting would tie up
    // a consumer that other providers' jobs need.
    auto lock = pg::advisory_lock::try_acquire(conn, pg::provider_lock_key(provider->name));
    if (!lock) return {job_status::deferred, fmt::format("another ingestion of '{}' is running", provider->name)};
    auto slot = jobs::format_rfc3339_utc(job.scheduled_for);
    // Coalescing: a backlog of jobs (a worker outage, retries) collapses into the newest, and a
    // job delivered again after its run committed (the ack lost with a connection) runs once.
    if (store.has_success_at_or_after(provider->name, slot))
        return {job_status::skipped,
                fmt::format("a run of '{}' for this slot or a later one already succeeded", provider->name)};
    run_id = store.start_run(provider->name, job.job_id, slot);
    log::scope run_fields{{"run_id", run_id}};
    auto limits = settings_.fetch;
    limits.total_timeout = std::chrono::milliseconds{provider->fetch_timeout_ms};
    limits.max_bytes = static_cast<std::size_t>(provider->max_feed_bytes);
    auto report = ingest_refusing_bad_events(*provider, run_id, store,
                                             [&] { return std::move(http::fetch(provider->url, limits).body); });
    log_report(provider->name, run_id, report);
    return {job_status::succeeded, {}, report.events_changed};
}

// Defence in depth: an event PostgreSQL refuses (a data error the core's validation let through)
// is rejected alone and the feed tried once more, read anew since parsing consumed the document.
pg::ingestion_report job_runner::ingest_refusing_bad_events(const domain::provider& provider, std::int64_t run_id,
                                                            pg::ingestion_store& store,
                                                            const std::function<std::string()>& read_feed) {
    pg::exclusions excluded;
    for (;;) {
        auto document = read_feed();
        try {
            return store.ingest(run_id, provider, document, settings_.pipeline, excluded);
        } catch (const pg::refused_data& e) {
            if (!excluded.empty() || !e.event()) throw;
            auto reason = fmt::format("refused by the database: {}", text::quoted(e.what(), 300));
            // e.what() names the event.
            log::warn("provider {} run {}: {}; trying the feed again without that event", provider.name, run_id,
                      reason);
            excluded.emplace(*e.event(), std::move(reason));
        }
    }
}

pg::ingestion_report job_runner::ingest_file(const std::filesystem::path& file, const std::string& provider_name,
                                             const std::string& time_zone_if_new) {
    auto provider = providers_.get(provider_name);
    if (!provider) {
        // Recorded disabled, with a placeholder URL, so that no scheduler ever fetches it.
        provider = domain::provider{};
        provider->name = provider_name;
        provider->url = "http://unconfigured.invalid/";
        provider->time_zone = time_zone_if_new;
        provider->enabled = false;
        if (auto problem = domain::validate(*provider))
            throw config_error(problem->field == "name" ? "--provider" : "PROVIDER_TIMEZONE", problem->message);
        providers_.insert(*provider);
        provider = providers_.get(provider_name);
    }
    auto& conn = connection();
    pg::ingestion_store store(conn);
    pg::advisory_lock lock(conn, pg::provider_lock_key(provider->name));
    auto run_id = store.start_run(provider->name, "file:" + file.filename().string(), "");
    log::scope run_fields{{"provider", provider->name}, {"run_id", run_id}};
    try {
        auto report = ingest_refusing_bad_events(*provider, run_id, store, [&] { return read_file(file); });
        log_report(provider->name, run_id, report);
        return report;
    } catch (const std::exception& e) {
        store.fail_run(run_id, e.what());
        throw;
    }
}

}  // namespace marquee::worker
