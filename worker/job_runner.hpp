#pragma once
// One fetch job from start to finish: lock the provider, record the run, fetch, ingest, record
// the outcome. Owns one PostgreSQL connection; not thread-safe (one runner per consumer thread).
#include "marquee/http/fetcher.hpp"
#include "marquee/ingest/pipeline.hpp"
#include "marquee/jobs/fetch_job.hpp"
#include "marquee/pg/ingestion_store.hpp"
#include "marquee/pg/provider_store.hpp"

#include <pqxx/connection>

#include <filesystem>
#include <memory>
#include <string>

namespace marquee::worker {

enum class job_status {
    succeeded,
    skipped,           // nothing to do (provider disabled, or a newer run already succeeded)
    deferred,          // another ingestion of the provider is running: try again shortly
    failed_transient,  // worth retrying later: timeouts, 5xx, database trouble
    failed_permanent,  // retrying the same job cannot help: 4xx, malformed feed, unknown provider
};

struct job_outcome {
    job_status status;
    std::string message;
    std::size_t events_written = 0;  // new or changed events, when succeeded
};

struct runner_settings {
    std::string database_url;
    ingest::pipeline_options pipeline;
    http::fetch_limits fetch;  // per-provider timeout and size cap override total_timeout/max_bytes
};

class job_runner {
public:
    explicit job_runner(runner_settings settings);

    /// Never throws for job failures: they are the outcome.
    job_outcome run(const jobs::fetch_job& job);

    /// Ingests a file synchronously (registering the provider disabled when it is unknown).
    /// Throws on failure.
    pg::ingestion_report ingest_file(const std::filesystem::path& file, const std::string& provider,
                                     const std::string& time_zone_if_new);

private:
    pqxx::connection& connection();
    void log_report(const std::string& provider, std::int64_t run_id, const pg::ingestion_report& report) const;

    runner_settings settings_;
    pg::provider_store providers_;
    std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace marquee::worker
