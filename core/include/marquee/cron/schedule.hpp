#pragma once
// When a provider is fetched: a standard five-field cron expression or one of a few extensions,
// evaluated in UTC. A provider's time zone says how to read its feed, not when to fetch it: a
// schedule never follows a local clock across DST changes, so no slot is skipped or doubled.
//
// Syntax (fields separated by blanks):
//   minute (0-59)  hour (0-23)  day-of-month (1-31)  month (1-12 or JAN-DEC)  day-of-week (0-7 or SUN-SAT)
// Each field is a comma-separated list of `*`, `a`, `a-b`, `*/n`, `a-b/n` or `a/n` (= a-max/n).
// Names are case-insensitive; 0 and 7 both mean Sunday. When both day-of-month and day-of-week are
// restricted (anything but a bare `*`), a day matches if EITHER matches, as in POSIX cron; note
// that `*/2` counts as restricted here (Vixie cron treats any field starting with `*` as
// unrestricted). A day-of-month that can never occur in the selected months (`0 0 30 2 *`) is
// rejected rather than accepted as a schedule that never fires.
//
// Extensions: @hourly, @daily (= @midnight), @weekly, @monthly, @yearly (= @annually), and
// `@every <N>s|m|h`: a fixed interval of N ≥ 1 units aligned to the Unix epoch (slots are the
// instants whose epoch seconds are multiples of the interval), at most 8784h (366 days).
#include <bitset>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace marquee::cron {

/// Why a schedule text was rejected, e.g. "minute: 60 is out of range 0-59".
struct parse_error {
    std::string message;
};

class schedule;
/// A schedule or the reason the text is not one. Bad input is an ordinary outcome, not an exception.
using parse_result = std::variant<schedule, parse_error>;

class schedule {
public:
    /// Parses `text` (leading and trailing blanks ignored). Never throws on bad input.
    static parse_result parse(std::string_view text);

    /// The first slot strictly after `t`.
    std::chrono::sys_seconds next_after(std::chrono::sys_seconds t) const;
    /// The last slot at or before `t`: the slot that is "current" at `t`.
    std::chrono::sys_seconds latest_at_or_before(std::chrono::sys_seconds t) const;

    /// The text it was parsed from, trimmed.
    const std::string& text() const noexcept { return text_; }

private:
    schedule() = default;
    bool day_matches(std::chrono::year_month_day ymd, std::chrono::weekday wd) const noexcept;

    std::string text_;
    std::chrono::seconds interval_{0};  // non-zero for @every
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_of_month_;  // bit 0 unused
    std::bitset<13> months_;         // bit 0 unused
    std::bitset<7> days_of_week_;    // 0 = Sunday
    bool dom_restricted_ = false;
    bool dow_restricted_ = false;
};

}  // namespace marquee::cron
