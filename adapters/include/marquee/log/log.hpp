#pragma once
// The one logger: one line per record on stderr, "2026-11-22T15:28:20.123Z level component: message".
// Thread-safe; a record is written with a single write(2) so lines never interleave.
#include <fmt/format.h>

#include <string_view>

namespace marquee::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

/// Sets the process-wide component name (e.g. "worker") and minimum level.
void init(std::string_view component, level min_level = level::info);
/// Parses "debug", "info", "warn" or "error"; throws config_error otherwise.
level parse_level(std::string_view text);
bool enabled(level lvl) noexcept;
void write(level lvl, std::string_view message) noexcept;

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(level::debug)) write(level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(level::info)) write(level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(level::warn)) write(level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(level::error)) write(level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace marquee::log
