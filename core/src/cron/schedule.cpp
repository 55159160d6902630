#include "marquee/cron/schedule.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

namespace marquee::cron {
namespace {

using namespace std::chrono;

constexpr std::int64_t max_interval_seconds = 8784LL * 3600;

struct field_spec {
    const char* name;
    unsigned min;
    unsigned max;
    // Three-letter names for min, min+1, …; empty when the field has none.
    std::array<const char*, 12> names;
};

constexpr field_spec minute_field{"minute", 0, 59, {}};
constexpr field_spec hour_field{"hour", 0, 23, {}};
constexpr field_spec dom_field{"day-of-month", 1, 31, {}};
constexpr field_spec month_field{
    "month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
// 7 is accepted as Sunday and folded to 0 by the caller.
constexpr field_spec dow_field{"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        auto pos = s.find(sep, start);
        parts.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
        if (pos == std::string_view::npos) return parts;
        start = pos + 1;
    }
}

std::vector<std::string_view> split_blanks(std::string_view s) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_blank(s[i])) ++i;
        auto start = i;
        while (i < s.size() && !is_blank(s[i])) ++i;
        if (i > start) parts.push_back(s.substr(start, i - start));
    }
    return parts;
}

std::optional<std::uint64_t> parse_number(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

// A number or (for month and day-of-week) a name; the error message otherwise.
std::variant<unsigned, std::string> parse_value(std::string_view text, const field_spec& f) {
    if (text.empty()) return fmt::format("{}: missing value", f.name);
    if (auto n = parse_number(text)) {
        if (*n < f.min || *n > f.max) return fmt::format("{}: {} is out of range {}-{}", f.name, text, f.min, f.max);
        return static_cast<unsigned>(*n);
    }
    if (f.names[0] != nullptr) {
        auto l = lower(text);
        for (unsigned i = 0; i < f.names.size() && f.names[i] != nullptr; ++i)
            if (l == f.names[i]) return f.min + i;
    }
    return fmt::format("{}: '{}' is not a valid value", f.name, text);
}

// Sets the bits of `field_text` in `bits` (indexed by value); returns an error message or nullopt.
template <std::size_t N>
std::optional<std::string> parse_field(std::string_view field_text, const field_spec& f, std::bitset<N>& bits) {
    for (auto item : split(field_text, ',')) {
        if (item.empty()) return fmt::format("{}: empty list element in '{}'", f.name, field_text);
        std::string_view range = item;
        unsigned step = 1;
        bool has_step = false;
        if (auto slash = item.find('/'); slash != std::string_view::npos) {
            range = item.substr(0, slash);
            auto step_text = item.substr(slash + 1);
            auto n = parse_number(step_text);
            if (!n) return fmt::format("{}: step '{}' is not a number", f.name, step_text);
            if (*n == 0) return fmt::format("{}: step must be at least 1", f.name);
            if (*n > f.max) return fmt::format("{}: step {} is larger than {}", f.name, step_text, f.max);
            step = static_cast<unsigned>(*n);
            has_step = true;
        }
        unsigned first = f.min;
        unsigned last = f.max;
        if (range == "*") {
            // Sunday is 0 only; 7 would add nothing.
            if (&f == &dow_field) last = 6;
        } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
            auto a = parse_value(range.substr(0, dash), f);
            if (auto* e = std::get_if<std::string>(&a)) return *e;
            auto b = parse_value(range.substr(dash + 1), f);
            if (auto* e = std::get_if<std::string>(&b)) return *e;
            first = std::get<unsigned>(a);
            last = std::get<unsigned>(b);
            if (first > last) return fmt::format("{}: range '{}' runs backwards", f.name, range);
        } else {
            auto a = parse_value(range, f);
            if (auto* e = std::get_if<std::string>(&a)) return *e;
            first = std::get<unsigned>(a);
            // "a/n" means a, a+n, … up to the field's maximum; a lone "a" is just a.
            last = has_step ? f.max : first;
        }
        for (unsigned v = first; v <= last; v += step) bits.set(&f == &dow_field ? v % 7 : v);
    }
    return std::nullopt;
}

unsigned days_in_month_max(unsigned month) noexcept {
    constexpr std::array<unsigned, 13> max_days{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return max_days[month];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    auto q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::optional<std::string_view> macro_expansion(std::string_view name) {
    auto l = lower(name);
    if (l == "@hourly") return "0 * * * *";
    if (l == "@daily" || l == "@midnight") return "0 0 * * *";
    if (l == "@weekly") return "0 0 * * 0";
    if (l == "@monthly") return "0 0 1 * *";
    if (l == "@yearly" || l == "@annually") return "0 0 1 1 *";
    return std::nullopt;
}

}  // namespace

parse_result schedule::parse(std::string_view text) {
    schedule s;
    text = trim(text);
    s.text_ = std::string(text);
    if (text.empty()) return parse_error{"empty schedule"};

    std::string_view expression = text;
    if (text.front() == '@') {
        auto words = split_blanks(text);
        if (lower(words[0]) == "@every") {
            if (words.size() != 2) return parse_error{"@every takes one interval, e.g. '@every 10s'"};
            auto spec = words[1];
            auto unit = static_cast<char>(std::tolower(static_cast<unsigned char>(spec.back())));
            std::int64_t unit_seconds = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
            auto n = parse_number(spec.substr(0, spec.size() - 1));
            if (unit_seconds == 0 || !n)
                return parse_error{fmt::format("@every: '{}' is not <N>s, <N>m or <N>h", spec)};
            if (*n == 0) return parse_error{"@every: the interval must be at least 1"};
            if (*n > static_cast<std::uint64_t>(max_interval_seconds / unit_seconds))
                return parse_error{fmt::format("@every: '{}' is longer than 8784h", spec)};
            s.interval_ = seconds{static_cast<std::int64_t>(*n) * unit_seconds};
            return s;
        }
        if (words.size() != 1) return parse_error{fmt::format("'{}' takes no arguments", words[0])};
        auto expansion = macro_expansion(words[0]);
        if (!expansion)
            return parse_error{fmt::format(
                "unknown macro '{}' (expected @every, @hourly, @daily, @weekly, @monthly or @yearly)", words[0])};
        expression = *expansion;
    }

    auto fields = split_blanks(expression);
    if (fields.size() != 5)
        return parse_error{
            fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), got {}", fields.size())};
    std::optional<std::string> err;
    if ((err = parse_field(fields[0], minute_field, s.minutes_)) ||
        (err = parse_field(fields[1], hour_field, s.hours_)) ||
        (err = parse_field(fields[2], dom_field, s.days_of_month_)) ||
        (err = parse_field(fields[3], month_field, s.months_)) ||
        (err = parse_field(fields[4], dow_field, s.days_of_week_)))
        return parse_error{std::move(*err)};
    s.dom_restricted_ = fields[2] != "*";
    s.dow_restricted_ = fields[4] != "*";

    // With day-of-week unrestricted only day-of-month decides; make sure some selected day exists
    // in some selected month (Feb 29 counts: it occurs in leap years).
    if (s.dom_restricted_ && !s.dow_restricted_) {
        bool possible = false;
        for (unsigned m = 1; m <= 12 && !possible; ++m)
            for (unsigned d = 1; d <= days_in_month_max(m) && !possible; ++d)
                possible = s.months_[m] && s.days_of_month_[d];
        if (!possible) return parse_error{"day-of-month never occurs in the selected months"};
    }
    return s;
}

bool schedule::day_matches(year_month_day ymd, weekday wd) const noexcept {
    bool dom = days_of_month_[static_cast<unsigned>(ymd.day())];
    bool dow = days_of_week_[wd.c_encoding()];
    if (dom_restricted_ && dow_restricted_) return dom || dow;
    return dom && dow;
}

// Both searches walk the calendar field by field, jumping whole months, days and hours that cannot
// match; parse() guarantees a matching day exists, so they always end (at worst 8 years away, for
// Feb 29 across a non-leap century year).
sys_seconds schedule::next_after(sys_seconds t) const {
    if (interval_.count() != 0) {
        auto n = interval_.count();
        return sys_seconds{seconds{(floor_div(t.time_since_epoch().count(), n) + 1) * n}};
    }
    auto m = floor<minutes>(t) + minutes{1};
    for (;;) {
        auto day = floor<days>(m);
        year_month_day ymd{day};
        if (!months_[static_cast<unsigned>(ymd.month())]) {
            m = sys_days{year_month_day{ymd.year() / ymd.month() / 1} + months{1}};
            continue;
        }
        if (!day_matches(ymd, weekday{day})) {
            m = day + days{1};
            continue;
        }
        auto minute_of_day = (m - day).count();
        auto h = minute_of_day / 60;
        if (!hours_[static_cast<std::size_t>(h)]) {
            m = day + hours{h + 1};
            continue;
        }
        if (!minutes_[static_cast<std::size_t>(minute_of_day % 60)]) {
            m += minutes{1};
            continue;
        }
        return m;
    }
}

sys_seconds schedule::latest_at_or_before(sys_seconds t) const {
    if (interval_.count() != 0) {
        auto n = interval_.count();
        return sys_seconds{seconds{floor_div(t.time_since_epoch().count(), n) * n}};
    }
    auto m = floor<minutes>(t);
    for (;;) {
        auto day = floor<days>(m);
        year_month_day ymd{day};
        if (!months_[static_cast<unsigned>(ymd.month())]) {
            m = sys_days{ymd.year() / ymd.month() / 1} - minutes{1};
            continue;
        }
        if (!day_matches(ymd, weekday{day})) {
            m = day - minutes{1};
            continue;
        }
        auto minute_of_day = (m - day).count();
        auto h = minute_of_day / 60;
        if (!hours_[static_cast<std::size_t>(h)]) {
            m = day + hours{h} - minutes{1};
            continue;
        }
        if (!minutes_[static_cast<std::size_t>(minute_of_day % 60)]) {
            m -= minutes{1};
            continue;
        }
        return m;
    }
}

}  // namespace marquee::cron
