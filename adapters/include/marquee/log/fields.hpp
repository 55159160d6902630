#pragma once
// Structured logging on top of log.hpp: named fields (provider, run_id, job_id, request_id, counts)
// on a record, or on every record a thread writes within a scope. With LOG_FORMAT=json each record
// is one JSON object per line — time, level, component, message, then the fields — for log
// pipelines; the text format stays the human one and shows the message only.
#include "marquee/log/log.hpp"

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::log {

enum class format { text, json };

/// Parses "text" or "json"; throws config_error (LOG_FORMAT) otherwise.
format parse_format(std::string_view text);
void set_format(format f) noexcept;

struct field {
    field(std::string_view k, std::string_view v) : key(k), value(v) {}
    field(std::string_view k, const char* v) : key(k), value(v) {}
    field(std::string_view k, std::integral auto v) : key(k), value(std::to_string(v)), number(true) {}

    std::string key;
    std::string value;
    bool number = false;  // written unquoted in JSON
};

using fields = std::vector<field>;

/// Fields added to every record this thread writes while the scope lives (nested scopes add up).
class scope {
public:
    explicit scope(std::initializer_list<field> added);
    ~scope();
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

private:
    std::size_t added_;
};

void write(level lvl, std::string_view message, const fields& record_fields) noexcept;

// For records written at a high rate (the API's access log), which build their lines themselves
// and write many at once, in the same format as every other record.
format current_format() noexcept;
std::string_view component() noexcept;
/// Appends "2026-11-26T04:40:00.123Z" (UTC, milliseconds): the time every record starts with.
void append_time(std::string& out);
/// Writes whole lines (each ending in '\n') with one write(2), so they never interleave with others.
void write_lines(std::string_view lines) noexcept;

template <typename... Args>
void debug(const fields& f, fmt::format_string<Args...> text, Args&&... args) {
    if (enabled(level::debug)) write(level::debug, fmt::format(text, std::forward<Args>(args)...), f);
}
template <typename... Args>
void info(const fields& f, fmt::format_string<Args...> text, Args&&... args) {
    if (enabled(level::info)) write(level::info, fmt::format(text, std::forward<Args>(args)...), f);
}
template <typename... Args>
void warn(const fields& f, fmt::format_string<Args...> text, Args&&... args) {
    if (enabled(level::warn)) write(level::warn, fmt::format(text, std::forward<Args>(args)...), f);
}
template <typename... Args>
void error(const fields& f, fmt::format_string<Args...> text, Args&&... args) {
    if (enabled(level::error)) write(level::error, fmt::format(text, std::forward<Args>(args)...), f);
}

}  // namespace marquee::log
