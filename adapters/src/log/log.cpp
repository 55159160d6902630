#include "marquee/log/log.hpp"

#include "marquee/error.hpp"
#include "marquee/json/escape.hpp"
#include "marquee/log/fields.hpp"

#include <date/date.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>

namespace marquee::log {
namespace {

std::atomic<int> min_level_{static_cast<int>(level::info)};
std::atomic<format> format_{format::text};
std::string component_ = "marquee";
thread_local std::vector<field> scoped_fields;

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

void append_field(std::string& line, const field& f) {
    line += ',';
    json::append_string(line, f.key);
    line += ':';
    if (f.number)
        line += f.value;
    else
        json::append_string(line, f.value);
}

// The time of a record: its second formatted once per thread and second, then the milliseconds.
struct time_cache {
    std::chrono::sys_seconds second{};
    char text[24] = {};  // "2026-11-26T04:40:00"
};

void append_time_of(std::string& out, std::chrono::system_clock::time_point now) {
    thread_local time_cache cache;
    auto ms = std::chrono::floor<std::chrono::milliseconds>(now);
    auto second = std::chrono::floor<std::chrono::seconds>(ms);
    if (second != cache.second || cache.text[0] == 0) {
        // date::format reads a sys_time as UTC whatever TZ says (fmt 9 would use local time).
        auto text = date::format("%Y-%m-%dT%H:%M:%S", second);
        text.copy(cache.text, sizeof cache.text - 1);
        cache.text[std::min(text.size(), sizeof cache.text - 1)] = 0;
        cache.second = second;
    }
    auto millis = static_cast<int>((ms - second).count());
    out += cache.text;
    out += '.';
    out += static_cast<char>('0' + millis / 100);
    out += static_cast<char>('0' + millis / 10 % 10);
    out += static_cast<char>('0' + millis % 10);
    out += 'Z';
}

std::string text_line(std::string_view time, level lvl, std::string_view message) {
    return fmt::format("{} {} {}: {}\n", time, level_name(lvl), component_, message);
}

std::string json_line(std::string_view time, level lvl, std::string_view message, const fields& record_fields) {
    std::string line = R"({"time":")";
    line += time;
    line += R"(","level":)";
    std::string name(level_name(lvl));
    for (auto& c : name) c = static_cast<char>(c - 'A' + 'a');
    json::append_string(line, name);
    line += R"(,"component":)";
    json::append_string(line, component_);
    line += R"(,"message":)";
    json::append_string(line, message);
    for (const auto& f : scoped_fields) append_field(line, f);
    for (const auto& f : record_fields) append_field(line, f);
    line += "}\n";
    return line;
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

format parse_format(std::string_view text) {
    if (text == "text") return format::text;
    if (text == "json") return format::json;
    throw config_error("LOG_FORMAT", "expected text or json");
}

void set_format(format f) noexcept {
    format_.store(f);
}

scope::scope(std::initializer_list<field> added) : added_(added.size()) {
    scoped_fields.insert(scoped_fields.end(), added.begin(), added.end());
}

scope::~scope() {
    scoped_fields.erase(scoped_fields.end() - static_cast<std::ptrdiff_t>(added_), scoped_fields.end());
}

void write(level lvl, std::string_view message) noexcept {
    write(lvl, message, fields{});
}

void write(level lvl, std::string_view message, const fields& record_fields) noexcept {
    try {
        std::string time;
        append_time_of(time, std::chrono::system_clock::now());
        auto line = format_.load(std::memory_order_relaxed) == format::json
                        ? json_line(time, lvl, message, record_fields)
                        : text_line(time, lvl, message);
        // One write(2) per line keeps concurrent records whole; a short write to stderr is not retried.
        [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
        // Logging must never take the process down.
    }
}

format current_format() noexcept {
    return format_.load(std::memory_order_relaxed);
}

std::string_view component() noexcept {
    return component_;
}

void append_time(std::string& out) {
    append_time_of(out, std::chrono::system_clock::now());
}

void write_lines(std::string_view lines) noexcept {
    // One write(2): a short write to stderr is not retried.
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, lines.data(), lines.size());
}

}  // namespace marquee::log
