// marquee-api: serves /search from an in-memory snapshot kept in step with PostgreSQL.
#include "marquee/api/openapi.hpp"
#include "marquee/api/server.hpp"
#include "marquee/config/config.hpp"
#include "marquee/config/logging.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/metrics/metrics.hpp"
#include "marquee/pg/event_reader.hpp"
#include "marquee/pg/snapshot_source.hpp"
#include "marquee/signals/stop_on_signals.hpp"

#include <malloc.h>

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>

namespace {

// API_RATE_LIMIT: 0 (off) or a rate the limiter takes.
CLI::Validator requests_per_second() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double value = -1;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc{} || end != text.data() + text.size() ||
                !(value == 0 || (value >= 0.001 && value <= 1e6)))
                return "must be 0 (no limit) or a number of requests per second from 0.001 to 1000000";
            return {};
        },
        "0 or REQUESTS/s in [0.001, 1000000]");
}

// API_CLIENT_ADDRESS_HEADER: empty or a field name (an RFC 9110 token).
CLI::Validator header_name() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            constexpr std::string_view symbols = "!#$%&'*+-.^_`|~";
            for (char c : text) {
                bool alphanumeric = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
                if (!alphanumeric && symbols.find(c) == std::string_view::npos)
                    return "must be an HTTP header name such as X-Forwarded-For";
            }
            return {};
        },
        "HEADER");
}

void register_source_metrics(marquee::metrics::registry& registry, const marquee::pg::snapshot_source& source) {
    registry.make_callback_gauge("marquee_api_database_up", "1 when the last database operation succeeded",
                                 [&source] { return source.database_reachable() ? 1.0 : 0.0; });
    registry.make_callback_gauge("marquee_api_snapshot_data_version", "Data version of the served snapshot (0: none)",
                                 [&source] {
                                     auto s = source.current();
                                     return s ? static_cast<double>(s->data_version()) : 0.0;
                                 });
    registry.make_callback_gauge("marquee_api_snapshot_events", "Events in the served snapshot", [&source] {
        auto s = source.current();
        return s ? static_cast<double>(s->size()) : 0.0;
    });
    registry.make_callback_gauge("marquee_api_snapshot_bytes", "Pre-rendered JSON bytes in the served snapshot",
                                 [&source] {
                                     auto s = source.current();
                                     return s ? static_cast<double>(s->rendered_bytes()) : 0.0;
                                 });
    registry.make_callback_gauge(
        "marquee_api_snapshot_age_seconds",
        "Seconds since the served snapshot was last confirmed current against the database (-1: none)", [&source] {
            if (!source.current()) return -1.0;
            return std::chrono::duration<double>(std::chrono::system_clock::now() - source.verified_at()).count();
        });
    registry.make_callback_counter("marquee_api_snapshot_loads_total", "Full loads of the snapshot from the database",
                                   [&source] { return static_cast<double>(source.loads()); });
    registry.make_callback_counter("marquee_api_snapshot_deltas_total",
                                   "Changes applied to the snapshot without a full load",
                                   [&source] { return static_cast<double>(source.deltas()); });
    registry.make_callback_counter("marquee_api_database_failures_total",
                                   "Failed database connections, statements or loads",
                                   [&source] { return static_cast<double>(source.failures()); });
}

}  // namespace

int main(int argc, char** argv) {
    // Snapshot blocks (a few hundred KB of JSON each) are allocated and freed as changes arrive.
    // glibc raises its mmap threshold whenever a mapped chunk is freed; blocks then come from the
    // heap, and the ones a change replaces stay in RSS as fragments. A fixed threshold keeps every
    // block mapped, so a replaced block goes back to the system (docs/adr/0017).
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    CLI::App app{"Serves the event search API from an in-memory snapshot of PostgreSQL.", "marquee-api"};
    std::string database_url;
    std::string notify_database_url;
    std::string listen = "127.0.0.1:8080";
    marquee::config::log_settings logging;
    unsigned threads = std::max(1U, std::thread::hardware_concurrency());
    double read_timeout = 10;
    double idle_timeout = 60;
    double write_timeout = 30;
    double refresh_interval = 5;
    double statement_timeout = 10;
    std::size_t max_connections = 10000;
    unsigned cache_max_age = 5;
    std::string access_log = "errors";
    double rate_limit = 0;
    unsigned rate_burst = 0;
    std::string client_address_header;
    unsigned event_readers = 2;
    std::size_t event_cache_bytes = std::size_t{32} << 20;
    double event_timeout = 2;
    namespace config = marquee::config;
    config::add(app, "--database-url", "DATABASE_URL", database_url, "PostgreSQL URI (a streaming replica will do)");
    config::add(app, "--notify-database-url", "API_NOTIFY_DATABASE_URL", notify_database_url,
                "PostgreSQL URI to LISTEN on for new data versions: the primary, when --database-url is a replica "
                "(a replica cannot LISTEN; without this, only --refresh-interval finds changes). Default: "
                "--database-url");
    config::add(app, "--api-listen", "API_LISTEN", listen, "Address to serve on, host:port");
    config::add(app, "--threads", "API_THREADS", threads, "I/O threads")->check(CLI::Range(1U, 256U));
    config::add(app, "--read-timeout", "API_READ_TIMEOUT", read_timeout,
                "Seconds from a connection's start, or a later request's first byte, to the complete header")
        ->check(config::seconds_up_to(86400));
    config::add(app, "--idle-timeout", "API_IDLE_TIMEOUT", idle_timeout,
                "Seconds a keep-alive connection may wait for its next request after answering one")
        ->check(config::seconds_up_to(86400));
    config::add(app, "--write-timeout", "API_WRITE_TIMEOUT", write_timeout, "Seconds to write one response")
        ->check(config::seconds_up_to(86400));
    config::add(app, "--max-connections", "API_MAX_CONNECTIONS", max_connections,
                "Open connections at most (lowered to fit the open-file limit); at the cap a new one closes the "
                "longest-idle keep-alive connection")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
    config::add(app, "--access-log", "API_ACCESS_LOG", access_log,
                "Requests the access log records: off, errors (5xx answers) or all")
        ->check(CLI::IsMember({"off", "errors", "all"}));
    config::add(app, "--rate-limit", "API_RATE_LIMIT", rate_limit,
                "Requests per second each client may make on average (0: no limit); more are answered 429 with "
                "Retry-After. /healthz, /readyz and /metrics are never limited")
        ->check(requests_per_second());
    config::add(app, "--rate-burst", "API_RATE_BURST", rate_burst,
                "Requests a client may make at once with --rate-limit (0: one second's worth, at least 1)")
        ->check(CLI::Range(0U, 1'000'000U));
    config::add(app, "--client-address-header", "API_CLIENT_ADDRESS_HEADER", client_address_header,
                "Header in which a trusted load balancer appends the client's address, e.g. X-Forwarded-For: its "
                "rightmost element is the client --rate-limit counts (the TCP peer when absent or no address). "
                "Empty: the TCP peer")
        ->check(header_name());
    config::add(app, "--cache-max-age", "API_CACHE_MAX_AGE", cache_max_age, "Cache-Control max-age of /search, s");
    config::add(app, "--event-readers", "API_EVENT_READERS", event_readers,
                "Threads (each with its own database connection) reading /events/{id} and /events/{id}/history "
                "off the I/O threads")
        ->check(CLI::Range(1U, 64U));
    config::add(app, "--event-cache-bytes", "API_EVENT_CACHE_BYTES", event_cache_bytes,
                "Bytes of rendered /events answers kept; younger than --cache-max-age they are served without "
                "the database, older ones while the database cannot answer")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 40));
    config::add(app, "--event-timeout", "API_EVENT_TIMEOUT", event_timeout,
                "Seconds an /events request waits for the database before it is answered from the cache, or 503")
        ->check(config::seconds_up_to(3600));
    config::add(app, "--refresh-interval", "API_REFRESH_INTERVAL", refresh_interval,
                "Seconds between data version checks when no NOTIFY arrives")
        ->check(config::seconds_up_to(86400));
    config::add(app, "--statement-timeout", "API_STATEMENT_TIMEOUT", statement_timeout,
                "Seconds each database statement may take")
        ->check(config::seconds_up_to(86400));
    marquee::config::add_log_options(app, logging);

    return config::run(app, argc, argv, [&] {
        marquee::config::start_logging("api", logging);
        config::check_database_url(database_url);
        if (!notify_database_url.empty()) config::check_database_url(notify_database_url, "API_NOTIFY_DATABASE_URL");
        auto address = config::parse_listen_address(listen, "API_LISTEN");

        marquee::api::server_options options;
        options.host = address.host;
        options.port = address.port;
        options.threads = threads;
        options.read_timeout = config::milliseconds_of_seconds(read_timeout);
        options.idle_timeout = config::milliseconds_of_seconds(idle_timeout);
        options.write_timeout = config::milliseconds_of_seconds(write_timeout);
        options.max_connections = max_connections;
        options.cache_max_age = std::chrono::seconds{cache_max_age};
        options.access_log = marquee::api::parse_access_log_mode(access_log);
        options.rate_limit = rate_limit;
        options.rate_burst = rate_burst;
        options.client_address_header = client_address_header;
        options.event_cache_bytes = event_cache_bytes;
        options.event_timeout = config::milliseconds_of_seconds(event_timeout);

        marquee::pg::snapshot_source_options source_options;
        source_options.database_url = database_url;
        source_options.notify_url = notify_database_url;
        source_options.refresh_interval = config::milliseconds_of_seconds(refresh_interval);
        source_options.statement_timeout = config::milliseconds_of_seconds(statement_timeout);

        marquee::signals::stop_on_signals stop;  // before any other thread starts
        marquee::metrics::registry registry;
        marquee::pg::snapshot_source source(source_options);
        register_source_metrics(registry, source);
        // A statement past the requests' deadline would be answered to nobody.
        marquee::pg::event_reader readers(
            {.database_url = database_url,
             .readers = event_readers,
             .statement_timeout = std::min(options.event_timeout, source_options.statement_timeout)});
        marquee::api::data_access data{[&source] { return source.current(); },
                                       [&source] { return source.generation(); },
                                       [&source] { return source.database_reachable(); },
                                       [&readers](auto job, auto deadline, auto done) {
                                           return readers.submit(std::move(job), deadline, std::move(done));
                                       }};
        registry.make_callback_gauge("marquee_api_event_lookups_queued",
                                     "Event and history lookups waiting for a reader thread",
                                     [&readers] { return static_cast<double>(readers.queued()); });
        auto openapi = std::make_shared<const std::string>(marquee::api::openapi_yaml);
        marquee::api::server server(options, std::move(data), openapi, registry);
        // The readers stop before the server goes, however this scope ends: a reader completes a
        // lookup on a session's I/O thread.
        struct stop_readers {
            marquee::pg::event_reader& readers;
            ~stop_readers() { readers.stop(); }
        } readers_stop_first{readers};
        auto port = server.listen();
        source.start();
        readers.start();
        marquee::log::info("listening on {}:{} with {} threads", options.host, port, options.threads);
        std::stop_callback stop_serving(stop.token(), [&server] { server.stop(); });
        server.run();
        readers.stop();
        source.stop();
        marquee::log::info("stopped");
        return 0;
    });
}
