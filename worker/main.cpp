// marquee-worker: consumes fetch jobs from RabbitMQ and ingests provider feeds into PostgreSQL;
// `marquee-worker ingest FILE` ingests one file synchronously.
#include "consume_loop.hpp"
#include "job_runner.hpp"
#include "marquee/config/config.hpp"
#include "marquee/config/logging.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/metrics/exporter.hpp"
#include "marquee/metrics/metrics.hpp"
#include "worker_metrics.hpp"

#include <memory>
#include <thread>

int main(int argc, char** argv) {
    CLI::App app{"Consumes provider-fetch jobs and ingests feeds into PostgreSQL.", "marquee-worker"};
    std::string database_url;
    std::string amqp_url;
    marquee::config::log_settings logging;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    unsigned concurrency = 4;  // fetches wait on the network: a slow provider must not hold up the rest
    std::size_t batch_kib = 4096;
    marquee::config::add(app, "--database-url", "DATABASE_URL", database_url, "PostgreSQL URI")->required();
    marquee::config::add(app, "--amqp-url", "AMQP_URL", amqp_url, "RabbitMQ URL amqp://user:pass@host:port/vhost");
    marquee::config::add(app, "--threads", "WORKER_THREADS", threads, "Threads parsing and normalising one feed")
        ->check(CLI::Range(1u, 256u));
    marquee::config::add(app, "--concurrency", "WORKER_CONCURRENCY", concurrency, "Jobs processed at once")
        ->check(CLI::Range(1u, 64u));
    marquee::config::add(app, "--batch-kib", "WORKER_BATCH_KIB", batch_kib, "Feed KiB parsed per batch")
        ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 20));
    marquee::worker::retry_policy retry;
    int first_retry_ms = 5000;
    marquee::config::add(app, "--max-attempts", "WORKER_MAX_ATTEMPTS", retry.max_attempts,
                         "Attempts at a job before it is dead-lettered")
        ->check(CLI::Range(1, 100));
    marquee::config::add(app, "--first-retry-ms", "WORKER_FIRST_RETRY_MS", first_retry_ms,
                         "Delay before the first retry; doubles per retry up to 5 minutes")
        ->check(CLI::Range(1, 3'600'000));
    bool deny_private_networks = false;
    std::string fetch_ca_file;
    marquee::config::add(app, "--fetch-deny-private-networks", "FETCH_DENY_PRIVATE_NETWORKS", deny_private_networks,
                         "Also refuse feeds and redirects that resolve to loopback, private, unique-local, CGNAT or "
                         "unspecified addresses (link-local ones are always refused)");
    marquee::config::add(app, "--fetch-ca-file", "FETCH_CA_FILE", fetch_ca_file,
                         "PEM file of the CAs trusted for https feeds (default: the system store)");
    std::string metrics_listen;
    marquee::config::add(app, "--metrics-listen", "METRICS_LISTEN", metrics_listen,
                         "host:port serving Prometheus metrics at /metrics (off when empty)");
    marquee::config::add_log_options(app, logging);

    app.fallthrough();  // global flags may follow the subcommand
    auto* ingest = app.add_subcommand("ingest", "Ingest one feed file synchronously and exit once committed");
    std::string file;
    std::string provider = "default";
    std::string time_zone = "UTC";
    ingest->add_option("file", file, "Feed XML file")->required()->check(CLI::ExistingFile);
    ingest->add_option("--provider", provider, "Provider name")->capture_default_str();
    marquee::config::add(*ingest, "--provider-timezone", "PROVIDER_TIMEZONE", time_zone,
                         "Time zone for a provider not yet registered");

    return marquee::config::run(app, argc, argv, [&] {
        marquee::config::start_logging("worker", logging);
        marquee::config::check_database_url(database_url);
        marquee::worker::runner_settings settings{database_url, {threads, batch_kib * 1024}, {}};
        settings.fetch.deny_private_networks = deny_private_networks;
        settings.fetch.ca_file = fetch_ca_file;
        if (*ingest) {
            marquee::config::check_time_zone(time_zone, "PROVIDER_TIMEZONE");
            marquee::worker::job_runner runner(settings);
            runner.ingest_file(file, provider, time_zone);
            return 0;
        }
        if (amqp_url.empty()) throw marquee::config_error("AMQP_URL", "is required (amqp://user:pass@host:port/vhost)");
        auto amqp = marquee::config::parse_amqp_url(amqp_url);
        marquee::signals::stop_on_signals stop;  // before any other thread starts
        retry.first_delay = std::chrono::milliseconds{first_retry_ms};
        marquee::metrics::registry registry;
        marquee::worker::worker_metrics metrics(registry);
        std::unique_ptr<marquee::metrics::exporter> exporter;
        if (!metrics_listen.empty()) {
            auto listen = marquee::config::parse_listen_address(metrics_listen, "METRICS_LISTEN");
            exporter = std::make_unique<marquee::metrics::exporter>(
                registry, marquee::metrics::exporter_options{.host = listen.host, .port = listen.port});
            marquee::log::info("serving metrics on http://{}:{}/metrics", listen.host, exporter->port());
        }
        return marquee::worker::run_consumers(settings, amqp, concurrency, retry, metrics, stop);
    });
}
