#include "marquee/log/log.hpp"

#include "marquee/error.hpp"

#include <date/date.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

namespace marquee::log {
namespace {

std::atomic<int> min_level_{static_cast<int>(level::info)};
std::string component_ = "marquee";

std::string_view level_name(level lvl) noexcept {
    switch (lvl) {
        case level::debug:
            return "DEBUG";
        case level::info:
            return "INFO";
        case level::warn:
            return "WARN";
        case level::error:
            return "ERROR";
    }
    return "?";
}

}  // namespace

void init(std::string_view component, level min_level) {
    component_ = std::string(component);
    min_level_.store(static_cast<int>(min_level));
}

level parse_level(std::string_view text) {
    if (text == "debug") return level::debug;
    if (text == "info") return level::info;
    if (text == "warn") return level::warn;
    if (text == "error") return level::error;
    throw config_error("LOG_LEVEL", "expected debug, info, warn or error");
}

bool enabled(level lvl) noexcept {
    return static_cast<int>(lvl) >= min_level_.load(std::memory_order_relaxed);
}

void write(level lvl, std::string_view message) noexcept {
    try {
        // date::format reads a sys_time as UTC whatever TZ says (fmt 9 would use local time).
        auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
        auto line = fmt::format("{}Z {} {}: {}\n", date::format("%Y-%m-%dT%H:%M:%S", now), level_name(lvl), component_,
                                message);
        // One write(2) per line keeps concurrent records whole; a short write to stderr is not retried.
        [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
        // Logging must never take the process down.
    }
}

}  // namespace marquee::log
