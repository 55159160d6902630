// marquee-scheduler: publishes a fetch job for every enabled provider at each slot of its schedule
// (`--once`: one job per provider now); `marquee-scheduler provider …` manages providers.
#include "commands.hpp"
#include "marquee/config/config.hpp"
#include "marquee/config/logging.hpp"
#include "marquee/log/log.hpp"

#include <functional>
#include <vector>

int main(int argc, char** argv) {
    namespace config = marquee::config;
    namespace scheduler = marquee::scheduler;

    CLI::App app{"Publishes provider-fetch jobs to RabbitMQ on each provider's schedule.", "marquee-scheduler"};
    scheduler::settings s;
    marquee::config::log_settings logging;
    bool once = false;
    config::add(app, "--database-url", "DATABASE_URL", s.database_url, "PostgreSQL URI");
    config::add(app, "--amqp-url", "AMQP_URL", s.amqp_url, "RabbitMQ URL amqp://user:pass@host:port/vhost");
    config::add(app, "--provider-url", "PROVIDER_URL", s.provider_url,
                "Feed URL of provider 'default', registered or updated at start (none when empty)");
    config::add(app, "--provider-timezone", "PROVIDER_TIMEZONE", s.provider_timezone,
                "Time zone of provider 'default'");
    config::add(app, "--provider-schedule", "PROVIDER_SCHEDULE", s.provider_schedule,
                "Schedule of provider 'default' (cron in UTC, or @every 10s)");
    config::add(app, "--metrics-listen", "METRICS_LISTEN", s.metrics_listen,
                "host:port serving /metrics (off when empty)");
    marquee::config::add_log_options(app, logging);
    app.add_flag("--once", once, "Publish one job per enabled provider now, then exit");

    auto* provider = app.add_subcommand("provider", "Manage providers (needs only --database-url)");
    provider->require_subcommand(1);
    provider->fallthrough();
    std::string name;
    std::string url, schedule, time_zone;
    std::int64_t fetch_timeout_ms = 0, max_feed_bytes = 0;
    marquee::feed::limits caps;
    // Options given on the command line, to tell "not given" from a default value.
    std::vector<std::function<void(scheduler::provider_changes&)>> given;
    auto editing = [&](CLI::App* cmd) {
        cmd->fallthrough();
        cmd->add_option("--name", name, "Provider name, ^[a-z0-9][a-z0-9_.-]{0,62}$")->required();
        auto* o_url = cmd->add_option("--url", url, "Feed URL (http:// or https://)");
        auto* o_schedule = cmd->add_option("--schedule", schedule, "Cron schedule in UTC (default \"* * * * *\")");
        auto* o_zone =
            cmd->add_option("--time-zone", time_zone, "IANA time zone of the feed's wall-clock times (default UTC)");
        auto* o_timeout = cmd->add_option("--fetch-timeout-ms", fetch_timeout_ms, "Fetch deadline (default 120000)");
        auto* o_bytes =
            cmd->add_option("--max-feed-bytes", max_feed_bytes, "Largest feed accepted (default 536870912)");
        // The feed caps (feed::limits): an event over one is rejected alone.
        struct cap_option {
            CLI::Option* option;
            std::int64_t* value;
            std::optional<std::int64_t> scheduler::provider_changes::*field;
        };
        std::vector<cap_option> cap_options;
        auto add_cap = [&](const char* flag, std::int64_t& value,
                           std::optional<std::int64_t> scheduler::provider_changes::*field, const char* help) {
            cap_options.push_back({cmd->add_option(flag, value, help), &value, field});
        };
        add_cap("--max-zones-per-event", caps.max_zones_per_event, &scheduler::provider_changes::max_zones_per_event,
                "Zones an event may have (default 10000)");
        add_cap("--max-events-per-base-event", caps.max_events_per_base_event,
                &scheduler::provider_changes::max_events_per_base_event,
                "Events a base_event may have (default 10000)");
        add_cap("--max-attribute-bytes", caps.max_attribute_bytes, &scheduler::provider_changes::max_attribute_bytes,
                "Longest title, name or organizer accepted, in bytes (default 4096)");
        add_cap("--max-rejections-kept", caps.max_rejections_kept, &scheduler::provider_changes::max_rejections_kept,
                "Rejected events logged one by one per run; the rest are counted (default 100)");
        given.emplace_back(
            [&, cmd, o_url, o_schedule, o_zone, o_timeout, o_bytes, cap_options](scheduler::provider_changes& c) {
                if (!*cmd) return;
                for (const auto& o : cap_options)
                    if (o.option->count() > 0) c.*(o.field) = *o.value;
                if (o_url->count() > 0) c.url = url;
                if (o_schedule->count() > 0) c.schedule = schedule;
                if (o_zone->count() > 0) c.time_zone = time_zone;
                if (o_timeout->count() > 0) c.fetch_timeout_ms = fetch_timeout_ms;
                if (o_bytes->count() > 0) c.max_feed_bytes = max_feed_bytes;
            });
        return cmd;
    };
    auto naming = [&](CLI::App* cmd) {
        cmd->fallthrough();
        cmd->add_option("name,--name", name, "Provider name")->required();
        return cmd;
    };
    auto* add = editing(provider->add_subcommand("add", "Add a provider"));
    auto* update = editing(provider->add_subcommand("update", "Change the given fields of a provider"));
    auto* list = provider->add_subcommand("list", "Print every provider")->fallthrough();
    auto* remove = naming(provider->add_subcommand("remove", "Remove a provider that never ingested anything"));
    auto* enable = naming(provider->add_subcommand("enable", "Schedule a provider again"));
    auto* disable = naming(provider->add_subcommand("disable", "Stop scheduling a provider"));

    return config::run(app, argc, argv, [&] {
        marquee::config::start_logging("scheduler", logging);
        scheduler::provider_changes changes;
        for (const auto& collect : given) collect(changes);
        if (*add) return scheduler::provider_add(s.database_url, name, changes);
        if (*update) return scheduler::provider_update(s.database_url, name, changes);
        if (*list) return scheduler::provider_list(s.database_url, stdout);
        if (*remove) return scheduler::provider_remove(s.database_url, name);
        if (*enable) return scheduler::provider_set_enabled(s.database_url, name, true);
        if (*disable) return scheduler::provider_set_enabled(s.database_url, name, false);
        return once ? scheduler::run_once(s) : scheduler::run_daemon(s);
    });
}
