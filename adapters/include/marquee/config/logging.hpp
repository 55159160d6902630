#pragma once
// The logging settings every executable takes: --log-level/LOG_LEVEL and --log-format/LOG_FORMAT.
#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace marquee::config {

struct log_settings {
    std::string level = "info";
    std::string format = "text";
};

void add_log_options(CLI::App& app, log_settings& settings);
/// Starts the logger for `component`. Throws config_error on a bad level or format.
void start_logging(std::string_view component, const log_settings& settings);

}  // namespace marquee::config
