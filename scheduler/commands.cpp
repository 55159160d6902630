#include "commands.hpp"

#include "backends.hpp"
#include "clock.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/metrics/exporter.hpp"
#include "marquee/metrics/metrics.hpp"
#include "marquee/signals/stop_on_signals.hpp"
#include "scheduler_loop.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace marquee::scheduler {
namespace {

using namespace std::chrono_literals;

constexpr auto once_publish_deadline = 30s;
constexpr auto daemon_publish_deadline = 20s;

pg::connection_options database_options() {
    pg::connection_options o;
    o.application_name = "marquee-scheduler";
    o.connect_timeout = 5s;
    o.statement_timeout = 10s;
    return o;
}

void check_database(const settings& s) {
    config::check_database_url(s.database_url);
}

amqp::connection_options amqp_options(const settings& s) {
    if (s.amqp_url.empty()) throw config_error("AMQP_URL", "is required (amqp://user:pass@host:port/vhost)");
    amqp::connection_options o;
    o.server = config::parse_amqp_url(s.amqp_url);
    return o;
}

// The "default" provider the settings describe, or nullopt when PROVIDER_URL is unset.
std::optional<domain::provider> default_provider(const settings& s) {
    if (s.provider_url.empty()) return std::nullopt;
    domain::provider p;
    p.name = "default";
    p.url = s.provider_url;
    p.time_zone = s.provider_timezone;
    p.schedule = s.provider_schedule;
    if (auto bad = domain::validate(p)) {
        std::string setting = bad->field == "time_zone"  ? "PROVIDER_TIMEZONE"
                              : bad->field == "schedule" ? "PROVIDER_SCHEDULE"
                                                         : "PROVIDER_URL";
        throw config_error(setting, bad->message);
    }
    return p;
}

// A provider field's command-line flag, for error messages.
std::string flag_of(const std::string& field) {
    std::string flag = "--" + field;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
}

void validate_or_throw(const domain::provider& p) {
    if (auto bad = domain::validate(p)) throw config_error(flag_of(bad->field), bad->message);
}

domain::provider apply(domain::provider p, const provider_changes& c) {
    if (c.url) p.url = *c.url;
    if (c.schedule) p.schedule = *c.schedule;
    if (c.time_zone) p.time_zone = *c.time_zone;
    if (c.fetch_timeout_ms) p.fetch_timeout_ms = *c.fetch_timeout_ms;
    if (c.max_feed_bytes) p.max_feed_bytes = *c.max_feed_bytes;
    if (c.max_zones_per_event) p.caps.max_zones_per_event = *c.max_zones_per_event;
    if (c.max_events_per_base_event) p.caps.max_events_per_base_event = *c.max_events_per_base_event;
    if (c.max_attribute_bytes) p.caps.max_attribute_bytes = *c.max_attribute_bytes;
    if (c.max_rejections_kept) p.caps.max_rejections_kept = *c.max_rejections_kept;
    return p;
}

void check_name(const std::string& name) {
    if (!domain::is_valid_provider_name(name))
        throw config_error("--name", fmt::format("'{}' is not a valid provider name", name));
}

void register_metrics(metrics::registry& registry, const loop_stats& stats) {
    auto read = [](const auto& value) { return [&value] { return static_cast<double>(value.load()); }; };
    registry.make_callback_counter("marquee_scheduler_jobs_published_total", "Fetch jobs published and confirmed",
                                   read(stats.jobs_published));
    registry.make_callback_counter("marquee_scheduler_slots_taken_elsewhere_total",
                                   "Slots another scheduler replica claimed first", read(stats.slots_taken_elsewhere));
    registry.make_callback_counter("marquee_scheduler_publish_failures_total",
                                   "Publish attempts that failed (the slot is retried)", read(stats.publish_failures));
    registry.make_callback_counter("marquee_scheduler_storage_failures_total",
                                   "Provider reloads and slot claims that failed", read(stats.storage_failures));
    registry.make_callback_gauge("marquee_scheduler_providers", "Providers being scheduled", read(stats.providers));
    registry.make_callback_gauge("marquee_scheduler_last_publish_timestamp_seconds",
                                 "Unix time of the last published job (0 before the first)",
                                 read(stats.last_publish_unix));
}

// How many messages wait in each fetch queue and how many consumers it has, for the backlog,
// dead-letter and no-worker alerts (deploy/prometheus): the scheduler runs while workers may not.
// A passive queue.declare every `interval` from a thread and a connection of its own; it creates
// nothing. The values are NaN after a failed probe, so no alert reads a stale number.
class queue_watch {
public:
    queue_watch(amqp::connection_options options, std::chrono::milliseconds interval)
        : options_(std::move(options)), interval_(interval) {}

    void register_metrics(metrics::registry& registry) {
        for (auto& q : queues_) {
            metrics::labels l{{"queue", std::string(q.name)}};
            registry.make_callback_gauge(
                "marquee_scheduler_queue_messages",
                "Messages ready in the queue at the last probe (NaN: the probe failed)",
                [&q] { return q.messages.load(); }, l);
            registry.make_callback_gauge(
                "marquee_scheduler_queue_consumers", "Consumers of the queue at the last probe (NaN: the probe failed)",
                [&q] { return q.consumers.load(); }, l);
        }
        registry.make_callback_counter("marquee_scheduler_queue_probe_failures_total",
                                       "Queue depth probes that failed (RabbitMQ unreachable or a queue missing)",
                                       [this] { return static_cast<double>(failures_.load()); });
    }

    void start() {
        thread_ = std::jthread([this](std::stop_token stop) {
            std::mutex mutex;
            std::condition_variable_any wake;
            while (!stop.stop_requested()) {
                probe();
                std::unique_lock lock(mutex);
                wake.wait_for(lock, stop, interval_, [] { return false; });
            }
        });
    }

private:
    static constexpr double unknown = std::numeric_limits<double>::quiet_NaN();
    struct queue {
        std::string_view name;
        std::atomic<double> messages{unknown};
        std::atomic<double> consumers{unknown};
    };

    void probe() noexcept {
        try {
            if (!conn_ || !conn_->usable()) {
                conn_.reset();
                conn_.emplace(options_);
            }
            for (auto& q : queues_) {
                auto state = amqp::topology::probe(*conn_, q.name);
                q.messages = state.messages;
                q.consumers = state.consumers;
            }
            failing_ = false;
        } catch (const std::exception& e) {
            ++failures_;
            for (auto& q : queues_) q.messages = q.consumers = unknown;
            conn_.reset();
            if (!failing_) log::warn("cannot read the fetch queues' depth (retrying): {}", e.what());
            failing_ = true;
        }
    }

    amqp::connection_options options_;
    std::chrono::milliseconds interval_;
    std::array<queue, 3> queues_{queue{amqp::topology::jobs_queue}, queue{amqp::topology::retry_queue},
                                 queue{amqp::topology::dead_queue}};
    std::atomic<std::uint64_t> failures_{0};
    std::optional<amqp::connection> conn_;
    bool failing_ = false;
    std::jthread thread_;  // last: stopped and joined before the members it uses go
};

constexpr auto queue_probe_interval = 5s;

}  // namespace

int run_once(const settings& s) {
    check_database(s);
    auto amqp_settings = amqp_options(s);
    auto provider = default_provider(s);

    pg::provider_store store(s.database_url, database_options());
    if (provider) store.upsert(*provider);
    amqp::publisher publisher(amqp_settings, amqp::topology::declare);
    publisher.connect();

    auto slot = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::vector<domain::provider_slot> slots;
    std::vector<jobs::fetch_job> jobs;
    std::vector<amqp::outgoing_message> messages;
    for (const auto& p : store.list()) {
        if (!p.enabled) continue;
        slots.push_back({p.name, slot});
        const auto& job = jobs.emplace_back(jobs::make_fetch_job(p.name, slot));
        messages.push_back({jobs::to_json(job), {.expiration = {}, .message_id = job.job_id}});
    }
    if (slots.empty()) {
        log::warn("no enabled provider: nothing published");
        return 0;
    }
    // Recorded like a daemon's slots (a daemon then skips this second); published regardless,
    // since --once is an explicit request. The slot is this second: a worker skips a job whose
    // slot already has a succeeded run, so a second --once within the same second fetches nothing.
    store.claim_slots(slots);
    auto failures = publisher.publish_all_with_retry(amqp::topology::exchange, amqp::topology::jobs_routing_key,
                                                     messages, once_publish_deadline);
    std::vector<domain::provider_slot> published;
    std::optional<std::string> failure;
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (failures[i]) {
            log::error("provider {}: cannot publish job {}: {}", slots[i].provider, jobs[i].job_id, *failures[i]);
            if (!failure) failure = failures[i];
            continue;
        }
        log::info("provider {}: published job {} for {}", slots[i].provider, jobs[i].job_id,
                  jobs::format_rfc3339_utc(slot));
        published.push_back(slots[i]);
    }
    store.mark_slots_published(published);
    if (failure) throw queue_error(*failure);
    return 0;
}

int run_daemon(const settings& s) {
    check_database(s);
    auto amqp_settings = amqp_options(s);
    auto provider = default_provider(s);

    std::optional<config::listen_address> metrics_address;
    if (!s.metrics_listen.empty()) metrics_address = config::parse_listen_address(s.metrics_listen, "METRICS_LISTEN");

    signals::stop_on_signals stop;  // before any other thread starts
    pg::provider_store store(s.database_url, database_options());
    amqp::publisher publisher(amqp_settings, amqp::topology::declare);
    try {
        publisher.connect();  // declares the topology early; a failure is retried on publishing
    } catch (const queue_error& e) {
        log::warn("{} (retrying when a job is due)", e.what());
    }
    pg_slot_store slots(store, provider);
    amqp_job_sink sink(publisher, daemon_publish_deadline);
    system_clock clk;
    scheduler_loop loop(slots, sink, clk);
    queue_watch queues(amqp_settings, queue_probe_interval);
    metrics::registry registry;
    std::optional<metrics::exporter> exporter;
    if (metrics_address) {
        register_metrics(registry, loop.stats());
        queues.register_metrics(registry);
        queues.start();
        try {
            exporter.emplace(registry,
                             metrics::exporter_options{.host = metrics_address->host, .port = metrics_address->port});
        } catch (const error& e) {
            throw config_error("METRICS_LISTEN", e.what());
        }
        log::info("serving /metrics on {}:{}", metrics_address->host, exporter->port());
    }
    log::info("scheduling providers");
    loop.run(stop.token());
    log::info("stopped");
    return 0;
}

int provider_add(const std::string& database_url, const std::string& name, const provider_changes& changes) {
    check_name(name);
    if (!changes.url) throw config_error("--url", "is required");
    domain::provider p;
    p.name = name;
    p = apply(std::move(p), changes);
    validate_or_throw(p);
    config::check_database_url(database_url);
    pg::provider_store store(database_url, database_options());
    if (!store.insert(p))
        throw config_error("--name", fmt::format("provider '{}' exists; use `provider update`", name));
    std::printf("added provider %s\n", name.c_str());
    return 0;
}

int provider_update(const std::string& database_url, const std::string& name, const provider_changes& changes) {
    config::check_database_url(database_url);
    check_name(name);
    pg::provider_store store(database_url, database_options());
    auto current = store.get(name);
    if (!current) throw config_error("--name", fmt::format("no provider named '{}'", name));
    auto p = apply(*current, changes);
    validate_or_throw(p);
    if (!store.update(p)) throw config_error("--name", fmt::format("no provider named '{}'", name));
    std::printf("updated provider %s\n", name.c_str());
    return 0;
}

int provider_list(const std::string& database_url, std::FILE* out) {
    config::check_database_url(database_url);
    pg::provider_store store(database_url, database_options());
    std::vector<std::array<std::string, 7>> rows{
        {"NAME", "ENABLED", "SCHEDULE", "TIME ZONE", "TIMEOUT MS", "MAX BYTES", "URL"}};
    for (const auto& p : store.list())
        rows.push_back({p.name, p.enabled ? "yes" : "no", p.schedule, p.time_zone, std::to_string(p.fetch_timeout_ms),
                        std::to_string(p.max_feed_bytes), p.url});
    std::array<std::size_t, 7> width{};
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i + 1 < row.size(); ++i) line += fmt::format("{:<{}}  ", row[i], width[i]);
        line += row.back();
        fmt::print(out, "{}\n", line);
    }
    return 0;
}

int provider_remove(const std::string& database_url, const std::string& name) {
    config::check_database_url(database_url);
    check_name(name);
    pg::provider_store store(database_url, database_options());
    try {
        if (!store.remove(name)) throw config_error("--name", fmt::format("no provider named '{}'", name));
    } catch (const storage_error& e) {
        if (e.sqlstate() != "23503") throw;
        std::fprintf(stderr, "marquee-scheduler: provider '%s' has ingested events or runs; disable it instead\n",
                     name.c_str());
        return 1;
    }
    std::printf("removed provider %s\n", name.c_str());
    return 0;
}

int provider_set_enabled(const std::string& database_url, const std::string& name, bool enabled) {
    config::check_database_url(database_url);
    check_name(name);
    pg::provider_store store(database_url, database_options());
    if (!store.set_enabled(name, enabled)) throw config_error("--name", fmt::format("no provider named '{}'", name));
    std::printf("%s provider %s\n", enabled ? "enabled" : "disabled", name.c_str());
    return 0;
}

}  // namespace marquee::scheduler
