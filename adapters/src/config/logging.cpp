#include "marquee/config/logging.hpp"

#include "marquee/config/config.hpp"
#include "marquee/log/fields.hpp"

namespace marquee::config {

void add_log_options(CLI::App& app, log_settings& settings) {
    add(app, "--log-level", "LOG_LEVEL", settings.level, "debug, info, warn or error");
    add(app, "--log-format", "LOG_FORMAT", settings.format,
        "text (one human line per record) or json (one JSON object per line, with structured fields)");
}

void start_logging(std::string_view component, const log_settings& settings) {
    auto lvl = log::parse_level(settings.level);
    log::set_format(log::parse_format(settings.format));
    log::init(component, lvl);
}

}  // namespace marquee::config
