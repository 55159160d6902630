#include "marquee/time/local_datetime.hpp"

#include "marquee/error.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <array>

namespace marquee::time {
namespace {

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, unsigned& value) noexcept {
    if (pos + count > text.size()) return false;
    unsigned v = 0;
    for (std::size_t i = 0; i < count; ++i) {
        char c = text[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    value = v;
    return true;
}

bool valid_calendar(const local_datetime& t) noexcept {
    if (t.month < 1 || t.month > 12 || t.day < 1) return false;
    auto ymd = date::year{t.year} / date::month{t.month} / date::day{t.day};
    return ymd.ok() && t.hour < 24 && t.minute < 60 && t.second < 60;
}

// Reads "YYYY-MM-DD?HH:MM:SS" where '?' is one of `separators`; returns the position after it.
std::optional<std::size_t> read_datetime(std::string_view text, std::string_view separators,
                                         local_datetime& out) noexcept {
    unsigned year = 0;
    if (!read_digits(text, 0, 4, year) || text.size() < 19) return std::nullopt;
    if (text[4] != '-' || text[7] != '-' || separators.find(text[10]) == std::string_view::npos || text[13] != ':' ||
        text[16] != ':')
        return std::nullopt;
    out.year = static_cast<int>(year);
    if (!read_digits(text, 5, 2, out.month) || !read_digits(text, 8, 2, out.day) ||
        !read_digits(text, 11, 2, out.hour) || !read_digits(text, 14, 2, out.minute) ||
        !read_digits(text, 17, 2, out.second))
        return std::nullopt;
    if (!valid_calendar(out)) return std::nullopt;
    return 19;
}

void append_2(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10 % 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

void append_4(std::string& out, int v) {
    append_2(out, static_cast<unsigned>(v) / 100);
    append_2(out, static_cast<unsigned>(v) % 100);
}

}  // namespace

std::optional<local_datetime> parse_local_datetime(std::string_view text) noexcept {
    local_datetime t;
    auto end = read_datetime(text, "T", t);
    if (!end || *end != text.size()) return std::nullopt;
    return t;
}

bool is_storable(const local_datetime& t) noexcept {
    return t.year >= 1 && t.year <= 9999;
}

bool is_storable(instant t) noexcept {
    constexpr auto first = date::sys_days{date::year{1} / 1 / 1};
    constexpr auto after_last = date::sys_days{date::year{10000} / 1 / 1};
    return t >= first && t < after_last;
}

std::string format_date(const local_datetime& t) {
    std::string out;
    out.reserve(10);
    append_4(out, t.year);
    out.push_back('-');
    append_2(out, t.month);
    out.push_back('-');
    append_2(out, t.day);
    return out;
}

std::string format_time(const local_datetime& t) {
    std::string out;
    out.reserve(8);
    append_2(out, t.hour);
    out.push_back(':');
    append_2(out, t.minute);
    out.push_back(':');
    append_2(out, t.second);
    return out;
}

void append_sql_timestamp(std::string& out, const local_datetime& t) {
    append_4(out, t.year);
    out.push_back('-');
    append_2(out, t.month);
    out.push_back('-');
    append_2(out, t.day);
    out.push_back(' ');
    append_2(out, t.hour);
    out.push_back(':');
    append_2(out, t.minute);
    out.push_back(':');
    append_2(out, t.second);
}

std::string format_rfc3339(instant t) {
    auto days = std::chrono::floor<date::days>(t);
    date::year_month_day ymd{days};
    date::hh_mm_ss clock{t - days};
    local_datetime wall{static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()),
                        static_cast<unsigned>(clock.hours().count()),
                        static_cast<unsigned>(clock.minutes().count()),
                        static_cast<unsigned>(clock.seconds().count())};
    std::string out;
    out.reserve(27);
    append_sql_timestamp(out, wall);
    out[10] = 'T';
    if (auto micros = static_cast<unsigned>(clock.subseconds().count()); micros != 0) {
        out.push_back('.');
        append_2(out, micros / 10000);
        append_2(out, micros / 100 % 100);
        append_2(out, micros % 100);
    }
    out.push_back('Z');
    return out;
}

std::chrono::sys_seconds as_utc(const local_datetime& t) noexcept {
    auto days = date::sys_days{date::year{t.year} / date::month{t.month} / date::day{t.day}};
    return std::chrono::sys_seconds{days.time_since_epoch()} + std::chrono::hours{t.hour} +
           std::chrono::minutes{t.minute} + std::chrono::seconds{t.second};
}

zone::zone(std::string_view iana_name) : name_(iana_name) {
    try {
        tz_ = date::locate_zone(name_);
    } catch (const std::exception&) {
        throw config_error("time zone", "'" + name_ + "' is not a known IANA time zone");
    }
}

instant zone::to_instant(const local_datetime& t) const {
    auto local = date::local_seconds{as_utc(t).time_since_epoch()};
    auto info = tz_->get_info(local);
    std::chrono::sys_seconds result;
    switch (info.result) {
        case date::local_info::unique:
        case date::local_info::ambiguous:
            result = std::chrono::sys_seconds{local.time_since_epoch()} - info.first.offset;
            break;
        case date::local_info::nonexistent:
        default:
            result = info.first.end;
            break;
    }
    return std::chrono::time_point_cast<std::chrono::microseconds>(result);
}

std::optional<instant> parse_rfc3339(std::string_view text) noexcept {
    local_datetime t;
    auto pos = read_datetime(text, "Tt ", t);
    if (!pos) return std::nullopt;
    std::size_t i = *pos;
    std::int64_t micros = 0;
    if (i < text.size() && text[i] == '.') {
        ++i;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (digits < 6) micros = micros * 10 + (text[i] - '0');
            ++digits;
            ++i;
        }
        if (digits == 0) return std::nullopt;
        for (std::size_t d = digits; d < 6; ++d) micros *= 10;
    }
    std::chrono::seconds offset{0};
    if (i < text.size()) {
        char c = text[i];
        if (c == 'Z' || c == 'z') {
            ++i;
        } else if (c == '+' || c == '-') {
            unsigned oh = 0;
            unsigned om = 0;
            if (!read_digits(text, i + 1, 2, oh) || i + 3 >= text.size() || text[i + 3] != ':' ||
                !read_digits(text, i + 4, 2, om) || oh > 23 || om > 59)
                return std::nullopt;
            offset = std::chrono::hours{oh} + std::chrono::minutes{om};
            if (c == '-') offset = -offset;
            i += 6;
        } else {
            return std::nullopt;
        }
    }
    if (i != text.size()) return std::nullopt;
    auto utc = as_utc(t) - offset;
    return instant{utc.time_since_epoch()} + std::chrono::microseconds{micros};
}

}  // namespace marquee::time
