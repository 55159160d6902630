// libFuzzer target for provider schedules (cron expressions come from operators and the providers
// table): the text before the first newline is parsed; bytes after it pick an extra instant.
// Oracles, for every schedule that parses, at several instants t: next_after(t) > t and is a slot;
// latest_at_or_before(t) <= t and is a slot; both agree with each other; and, checked minute by
// minute against a plain reference matcher written from the syntax in schedule.hpp, the slot found
// matches and no slot lies between it and t. Rejections carry a message.
#include "marquee/cron/schedule.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono;
namespace cron = marquee::cron;

void require(bool condition) {
    if (!condition) std::abort();
}

// ---- the reference: one value at a time, straight from the documented syntax -----------------

std::string lower(std::string_view s) {
    std::string out;
    for (char c : s) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

bool blank(char c) {
    return c == ' ' || c == '\t';
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && blank(s[i])) ++i;
        std::size_t start = i;
        while (i < s.size() && !blank(s[i])) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

std::optional<long> number_or_name(std::string_view text, const std::vector<std::string>& names, long first_name) {
    if (text.empty()) return std::nullopt;
    unsigned long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && end == text.data() + text.size()) return static_cast<long>(std::min(n, 1'000'000ULL));
    for (std::size_t i = 0; i < names.size(); ++i)
        if (lower(text) == names[i]) return first_name + static_cast<long>(i);
    return std::nullopt;
}

// Whether `value` is selected by one field's text (known to be valid: the real parser took it).
bool field_selects(std::string_view field, long value, long min, long max, const std::vector<std::string>& names) {
    std::size_t start = 0;
    for (;;) {
        auto comma = field.find(',', start);
        auto item = field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        std::string_view range = item;
        long step = 1;
        bool stepped = false;
        if (auto slash = item.find('/'); slash != std::string_view::npos) {
            range = item.substr(0, slash);
            step = number_or_name(item.substr(slash + 1), {}, 0).value();
            stepped = true;
        }
        long first = min;
        long last = max;
        if (range == "*") {
            if (max == 7) last = 6;  // day-of-week: Sunday counts once, as 0
        } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
            first = number_or_name(range.substr(0, dash), names, min).value();
            last = number_or_name(range.substr(dash + 1), names, min).value();
        } else {
            first = number_or_name(range, names, min).value();
            last = stepped ? max : first;
        }
        if (value >= first && value <= last && (value - first) % step == 0) return true;
        if (comma == std::string_view::npos) return false;
        start = comma + 1;
    }
}

// Every value of a field, selected or not, asked of field_selects once (the check runs per minute).
std::vector<bool> table(std::string_view field, long min, long max, const std::vector<std::string>& names) {
    std::vector<bool> selected(static_cast<std::size_t>(max) + 1, false);
    for (long v = min; v <= max; ++v) selected[static_cast<std::size_t>(v)] = field_selects(field, v, min, max, names);
    return selected;
}

struct reference {
    std::int64_t interval = 0;  // @every, in seconds
    std::vector<bool> minute, hour, day_of_month, month, day_of_week;
    bool dom_restricted = false;
    bool dow_restricted = false;

    bool matches(sys_seconds t) const {
        if (interval != 0) return t.time_since_epoch().count() % interval == 0;
        if (t != floor<minutes>(t)) return false;
        const auto day = floor<days>(t);
        const year_month_day ymd{day};
        const hh_mm_ss<seconds> clock{t - day};
        const auto wd = weekday{day}.c_encoding();
        if (!minute[static_cast<std::size_t>(clock.minutes().count())]) return false;
        if (!hour[static_cast<std::size_t>(clock.hours().count())]) return false;
        if (!month[static_cast<unsigned>(ymd.month())]) return false;
        const bool dom = day_of_month[static_cast<unsigned>(ymd.day())];
        const bool dow = day_of_week[wd] || (wd == 0 && day_of_week[7]);  // 0 and 7 are Sunday
        if (dom_restricted && dow_restricted) return dom || dow;
        return dom && dow;
    }
};

reference reference_of(std::string_view text) {
    auto w = words(text);
    reference r;
    const std::string first = lower(w.at(0));
    if (first == "@every") {
        const auto spec = lower(w.at(1));
        const std::int64_t unit = spec.back() == 's' ? 1 : spec.back() == 'm' ? 60 : 3600;
        // Not number_or_name: it clamps field values, and an interval goes up to 31,622,400 s.
        std::int64_t count = 0;
        auto digits = std::string_view(spec).substr(0, spec.size() - 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
        require(ec == std::errc{} && end == digits.data() + digits.size());
        r.interval = count * unit;
        return r;
    }
    std::string expression(text);
    if (first == "@hourly") expression = "0 * * * *";
    if (first == "@daily" || first == "@midnight") expression = "0 0 * * *";
    if (first == "@weekly") expression = "0 0 * * 0";
    if (first == "@monthly") expression = "0 0 1 * *";
    if (first == "@yearly" || first == "@annually") expression = "0 0 1 1 *";
    const auto fields = words(expression);
    require(fields.size() == 5);
    static const std::vector<std::string> months{"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
    static const std::vector<std::string> weekdays{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    r.minute = table(fields[0], 0, 59, {});
    r.hour = table(fields[1], 0, 23, {});
    r.day_of_month = table(fields[2], 1, 31, {});
    r.month = table(fields[3], 1, 12, months);
    r.day_of_week = table(fields[4], 0, 7, weekdays);
    r.dom_restricted = fields[2] != "*";
    r.dow_restricted = fields[4] != "*";
    return r;
}

// ---- the properties ---------------------------------------------------------------------------

// How far the minute-by-minute check looks: far enough for every-hour-or-so schedules, short
// enough to keep an iteration fast. Schedules with rarer slots are checked at the slot only.
constexpr auto brute_force_window = days{3};

void check(const cron::schedule& s, const reference& ref, sys_seconds t) {
    const auto next = s.next_after(t);
    require(next > t);
    require(ref.matches(next));
    require(s.latest_at_or_before(next) == next);  // a slot is its own latest slot

    const auto latest = s.latest_at_or_before(t);
    require(latest <= t);
    require(ref.matches(latest));
    require(s.next_after(latest) == next);  // no slot in (latest, t], so the same next one

    if (ref.interval != 0) {
        require(next - t <= seconds{ref.interval});
        return;
    }
    if (next - t <= brute_force_window)
        for (auto m = floor<minutes>(t) + minutes{1}; m < next; m += minutes{1}) require(!ref.matches(m));
    if (t - latest <= brute_force_window)
        for (auto m = floor<minutes>(latest) + minutes{1}; m <= t; m += minutes{1}) require(!ref.matches(m));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const auto text = input.substr(0, newline);

    auto parsed = cron::schedule::parse(text);
    if (auto* e = std::get_if<cron::parse_error>(&parsed)) {
        require(!e->message.empty());
        return 0;
    }
    const auto& s = std::get<cron::schedule>(parsed);
    const auto ref = reference_of(s.text());

    // Instants where calendars are awkward: month and year ends, Feb 29 of a leap year and of a
    // century that is not one, before the epoch, a second before a minute.
    std::vector<sys_seconds> instants{
        sys_days{2024y / 2 / 28} + hours{23} + minutes{59} + seconds{30},
        sys_days{2021y / 12 / 31} + hours{23} + minutes{59} + seconds{59},
        sys_days{2099y / 12 / 31} + hours{12},
        sys_days{1969y / 12 / 31} + hours{23} + minutes{59} + seconds{59},
        sys_days{1970y / 1 / 1},
    };
    if (newline != std::string_view::npos) {
        // Up to 8 bytes after the newline choose an instant between 1900 and about 2440.
        std::uint64_t raw = 0;
        std::memcpy(&raw, input.data() + newline + 1, std::min<std::size_t>(8, input.size() - newline - 1));
        const std::int64_t span = std::int64_t{540} * 366 * 86400;
        const auto from_1900 = sys_days{1900y / 1 / 1}.time_since_epoch().count() * 86400;
        instants.push_back(sys_seconds{seconds{from_1900 + static_cast<std::int64_t>(raw % span)}});
    }
    for (auto t : instants) check(s, ref, t);
    return 0;
}
