#pragma once
// One fetch job from start to finish: lock the provider, record the run, fetch, ingest, record
// the outcome. Owns one PostgreSQL connection; not thread-safe (one runner per consumer thread).
#include "job_outcome.hpp"
#include "marquee/http/fetcher.hpp"
#include "marquee/ingest/pipeline.hpp"
#include "marquee/jobs/fetch_job.hpp"
#include "marquee/pg/ingestion_store.hpp"
#include "marquee/pg/provider_store.hpp"

#include <pqxx/connection>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace marquee::worker {

struct runner_settings {
    std::string database_url;
    ingest::pipeline_options pipeline;
    http::fetch_limits fetch;  // per-provider timeout and size cap override total_timeout/max_bytes
};

class job_runner {
public:
    explicit job_runner(runner_settings settings);

    /// Never throws: every failure, whatever its type, is the outcome (and recorded in
    /// ingestion_runs once the run was started).
    job_outcome run(const jobs::fetch_job& job) noexcept;

    /// Ingests a file synchronously (registering the provider disabled when it is unknown).
    /// Throws on failure.
    pg::ingestion_report ingest_file(const std::filesystem::path& file, const std::string& provider,
                                     const std::string& time_zone_if_new);

private:
    pqxx::connection& connection();
    // Everything that refers to the connection lives inside: it is gone before run() may drop
    // the connection. `run_id` is set once the run is recorded.
    job_outcome run_locked(const jobs::fetch_job& job, std::int64_t& run_id);
    pg::ingestion_report ingest_refusing_bad_events(const domain::provider& provider, std::int64_t run_id,
                                                    pg::ingestion_store& store,
                                                    const std::function<std::string()>& read_feed);
    void record_failure(std::int64_t run_id, const std::string& message) noexcept;
    void log_report(const std::string& provider, std::int64_t run_id, const pg::ingestion_report& report) const;

    runner_settings settings_;
    pg::provider_store providers_;
    std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace marquee::worker
