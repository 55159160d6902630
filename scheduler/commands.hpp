#pragma once
// What marquee-scheduler does once its settings are parsed: the daemon, --once, and the provider
// subcommands. Each validates the settings it needs first and throws config_error for a bad one
// (config::run turns that into one line and exit code 2), before touching any service.
#include "marquee/domain/provider.hpp"

#include <cstdio>
#include <optional>
#include <string>

namespace marquee::scheduler {

struct settings {
    std::string database_url;
    std::string amqp_url;
    /// When set, provider "default" is registered (or updated) from these three at start.
    std::string provider_url;
    std::string provider_timezone = "UTC";
    std::string provider_schedule = "* * * * *";
    /// host:port serving /metrics (daemon only); off when empty.
    std::string metrics_listen;
};

/// Publishes one job per enabled provider for the current second and returns 0.
int run_once(const settings& s);
/// Schedules until SIGINT/SIGTERM; returns 0 after a clean stop.
int run_daemon(const settings& s);

/// Provider fields given on the command line; unset ones keep their default (add) or stored value (update).
struct provider_changes {
    std::optional<std::string> url;
    std::optional<std::string> schedule;
    std::optional<std::string> time_zone;
    std::optional<std::int64_t> fetch_timeout_ms;
    std::optional<std::int64_t> max_feed_bytes;
    std::optional<std::int64_t> max_zones_per_event;
    std::optional<std::int64_t> max_events_per_base_event;
    std::optional<std::int64_t> max_attribute_bytes;
    std::optional<std::int64_t> max_rejections_kept;
};

int provider_add(const std::string& database_url, const std::string& name, const provider_changes& changes);
int provider_update(const std::string& database_url, const std::string& name, const provider_changes& changes);
/// Prints a table of every provider to `out`.
int provider_list(const std::string& database_url, std::FILE* out);
int provider_remove(const std::string& database_url, const std::string& name);
int provider_set_enabled(const std::string& database_url, const std::string& name, bool enabled);

}  // namespace marquee::scheduler
