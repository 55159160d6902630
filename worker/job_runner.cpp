#include "job_runner.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"

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
    if (!connection_ || !connection_->is_open())
        connection_ = pg::connect(settings_.database_url, {.application_name = "marquee-worker"});
    return *connection_;
}

void job_runner::log_report(const std::string& provider, std::int64_t run_id,
                            const pg::ingestion_report& report) const {
    for (const auto& r : report.rejections)
        log::warn("provider {} run {}: rejected event base_event_id='{}' event_id='{}': {}", provider, run_id,
                  r.base_event_id, r.event_id, r.reason);
    log::info("provider {} run {} succeeded: {} events seen, {} written, {} unchanged, {} rejected{}", provider, run_id,
              report.events_seen, report.events_changed, report.events_unchanged, report.events_rejected,
              report.data_version ? fmt::format(", data version {}", report.data_version) : std::string{});
}

job_outcome job_runner::run(const jobs::fetch_job& job) {
    std::int64_t run_id = 0;
    try {
        pg::ingestion_store store(connection());
        auto provider = providers_.get(job.provider);
        if (!provider) return {job_status::failed_permanent, fmt::format("unknown provider '{}'", job.provider)};
        if (!provider->enabled) return {job_status::skipped, fmt::format("provider '{}' is disabled", job.provider)};

        // A consumer never waits for another ingestion of the same provider: waiting would tie up
        // a consumer that other providers' jobs need.
        auto lock = pg::provider_lock::try_acquire(connection(), provider->name);
        if (!lock) return {job_status::deferred, fmt::format("another ingestion of '{}' is running", provider->name)};
        auto slot = jobs::format_rfc3339_utc(job.scheduled_for);
        // Coalescing: a backlog of jobs (a worker outage, retries) collapses into the newest.
        if (store.has_newer_success(provider->name, slot))
            return {job_status::skipped, fmt::format("a newer run of '{}' already succeeded", provider->name)};
        run_id = store.start_run(provider->name, job.job_id, slot);
        try {
            auto limits = settings_.fetch;
            limits.total_timeout = std::chrono::milliseconds{provider->fetch_timeout_ms};
            limits.max_bytes = static_cast<std::size_t>(provider->max_feed_bytes);
            auto fetched = http::fetch(provider->url, limits);
            auto report = store.ingest(run_id, *provider, fetched.body, settings_.pipeline);
            log_report(provider->name, run_id, report);
            return {job_status::succeeded, {}, report.events_changed};
        } catch (const fetch_error& e) {
            store.fail_run(run_id, e.what());
            return {e.transient() ? job_status::failed_transient : job_status::failed_permanent, e.what()};
        } catch (const feed_error& e) {
            store.fail_run(run_id, e.what());
            return {job_status::failed_permanent, e.what()};
        } catch (const storage_error& e) {
            // The connection may be gone; record the failure on a fresh one if we can.
            connection_.reset();
            try {
                pg::ingestion_store(connection()).fail_run(run_id, fmt::format("database error: {}", e.what()));
            } catch (const std::exception&) {
                // PostgreSQL is down: the next run marks this one abandoned.
            }
            return {job_status::failed_transient, e.what()};
        }
    } catch (const storage_error& e) {
        connection_.reset();
        return {job_status::failed_transient, e.what()};
    }
}

pg::ingestion_report job_runner::ingest_file(const std::filesystem::path& file, const std::string& provider_name,
                                             const std::string& time_zone_if_new) {
    auto document = read_file(file);
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
    pg::ingestion_store store(connection());
    pg::provider_lock lock(connection(), provider->name);
    auto run_id = store.start_run(provider->name, "file:" + file.filename().string(), "");
    try {
        auto report = store.ingest(run_id, *provider, document, settings_.pipeline);
        log_report(provider->name, run_id, report);
        return report;
    } catch (const std::exception& e) {
        store.fail_run(run_id, e.what());
        throw;
    }
}

}  // namespace marquee::worker
