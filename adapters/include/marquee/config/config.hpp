#pragma once
// The one way executables read configuration: CLI11 options, each with an environment variable of
// the same meaning (the flag wins). A missing or malformed setting is reported on one line naming
// the setting, and the process exits with code 2. Bounds are checked while parsing, by a CLI11
// validator on the option (CLI::Range, seconds_up_to); values with structure (URLs, addresses,
// time zones) by the check_/parse_ helpers below, at the start of run()'s body.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace marquee::config {

inline constexpr int exit_bad_config = 2;

struct amqp_settings {
    std::string host;
    std::uint16_t port = 5672;
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
};

struct listen_address {
    std::string host;
    std::uint16_t port = 0;
};

/// amqp://user:pass@host:port/vhost (vhost percent-decoded, "/" when absent). Throws config_error.
amqp_settings parse_amqp_url(std::string_view url, std::string_view setting = "AMQP_URL");
/// host:port or [v6]:port. Throws config_error.
listen_address parse_listen_address(std::string_view text, std::string_view setting);
/// A libpq URI: postgresql://… or postgres://…. Throws config_error.
void check_database_url(std::string_view url, std::string_view setting = "DATABASE_URL");
/// An absolute http:// or https:// URL with a host. Throws config_error.
void check_http_url(std::string_view url, std::string_view setting);
/// An IANA time zone name known to the system's tz database. Throws config_error.
void check_time_zone(std::string_view name, std::string_view setting);

/// Validator of a duration setting given in (fractional) seconds: more than 0, at most `max`.
CLI::Validator seconds_up_to(double max);
/// Such a setting's value as a duration.
std::chrono::milliseconds milliseconds_of_seconds(double seconds);

/// Adds the option --NAME with environment fallback ENV. Returns the option for further tuning.
template <typename T>
CLI::Option* add(CLI::App& app, const std::string& flag, const std::string& env, T& target,
                 const std::string& description) {
    return app.add_option(flag, target, description)->envname(env)->capture_default_str();
}

/// The standard process frame: parses `app`, then runs `body`. --help prints and returns 0; a CLI
/// or config_error is one line on stderr and exit code 2; any other exception is logged, exit 1.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace marquee::config
