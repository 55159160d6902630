#include "marquee/cron/schedule.hpp"

#include <gtest/gtest.h>

#include <date/date.h>

#include <sstream>
#include <string>

namespace {

using marquee::cron::parse_error;
using marquee::cron::schedule;
using std::chrono::sys_seconds;

// "YYYY-MM-DD HH:MM:SS" read as UTC.
sys_seconds at(const std::string& text) {
    std::istringstream in(text);
    sys_seconds t;
    in >> date::parse("%Y-%m-%d %H:%M:%S", t);
    if (in.fail()) throw std::invalid_argument("bad test time " + text);
    return t;
}

std::string show(sys_seconds t) {
    return date::format("%Y-%m-%d %H:%M:%S", t);
}

schedule parsed(const std::string& text) {
    auto r = schedule::parse(text);
    if (auto* e = std::get_if<parse_error>(&r)) throw std::invalid_argument(text + ": " + e->message);
    return std::get<schedule>(r);
}

std::string error_of(const std::string& text) {
    auto r = schedule::parse(text);
    auto* e = std::get_if<parse_error>(&r);
    return e ? e->message : std::string("<accepted>");
}

std::string next(const std::string& expr, const std::string& from) {
    return show(parsed(expr).next_after(at(from)));
}

std::string latest(const std::string& expr, const std::string& from) {
    return show(parsed(expr).latest_at_or_before(at(from)));
}

// The first `count` slots after `from`, space separated.
std::string slots(const std::string& expr, const std::string& from, int count) {
    auto s = parsed(expr);
    auto t = at(from);
    std::string out;
    for (int i = 0; i < count; ++i) {
        t = s.next_after(t);
        if (!out.empty()) out += ", ";
        out += show(t);
    }
    return out;
}

TEST(cron_schedule, every_minute) {
    EXPECT_EQ(next("* * * * *", "2024-03-10 12:00:00"), "2024-03-10 12:01:00");
    EXPECT_EQ(next("* * * * *", "2024-03-10 12:00:59"), "2024-03-10 12:01:00");
    EXPECT_EQ(next("* * * * *", "2024-03-10 12:00:01"), "2024-03-10 12:01:00");
    EXPECT_EQ(latest("* * * * *", "2024-03-10 12:00:59"), "2024-03-10 12:00:00");
    EXPECT_EQ(latest("* * * * *", "2024-03-10 12:00:00"), "2024-03-10 12:00:00");
}

TEST(cron_schedule, next_is_strictly_after) {
    EXPECT_EQ(next("30 12 * * *", "2024-03-10 12:30:00"), "2024-03-11 12:30:00");
    EXPECT_EQ(next("30 12 * * *", "2024-03-10 12:29:59"), "2024-03-10 12:30:00");
}

TEST(cron_schedule, single_values) {
    EXPECT_EQ(next("5 4 * * *", "2024-03-10 04:05:00"), "2024-03-11 04:05:00");
    EXPECT_EQ(next("0 0 1 1 *", "2024-06-01 00:00:00"), "2025-01-01 00:00:00");
}

TEST(cron_schedule, ranges) {
    EXPECT_EQ(slots("0 9-11 * * *", "2024-03-10 10:30:00", 4),
              "2024-03-10 11:00:00, 2024-03-11 09:00:00, 2024-03-11 10:00:00, 2024-03-11 11:00:00");
    EXPECT_EQ(slots("58-59 * * * *", "2024-03-10 10:00:00", 3),
              "2024-03-10 10:58:00, 2024-03-10 10:59:00, 2024-03-10 11:58:00");
}

TEST(cron_schedule, lists) {
    EXPECT_EQ(slots("0,15,45 * * * *", "2024-03-10 10:00:00", 4),
              "2024-03-10 10:15:00, 2024-03-10 10:45:00, 2024-03-10 11:00:00, 2024-03-10 11:15:00");
    EXPECT_EQ(slots("0 1,3-4 * * *", "2024-03-10 00:00:00", 3),
              "2024-03-10 01:00:00, 2024-03-10 03:00:00, 2024-03-10 04:00:00");
}

TEST(cron_schedule, steps) {
    EXPECT_EQ(slots("*/15 * * * *", "2024-03-10 10:00:00", 5),
              "2024-03-10 10:15:00, 2024-03-10 10:30:00, 2024-03-10 10:45:00, 2024-03-10 11:00:00, "
              "2024-03-10 11:15:00");
    EXPECT_EQ(slots("10-30/10 * * * *", "2024-03-10 10:00:00", 4),
              "2024-03-10 10:10:00, 2024-03-10 10:20:00, 2024-03-10 10:30:00, 2024-03-10 11:10:00");
    // a/n runs from a to the field's maximum.
    EXPECT_EQ(slots("50/5 * * * *", "2024-03-10 10:00:00", 3),
              "2024-03-10 10:50:00, 2024-03-10 10:55:00, 2024-03-10 11:50:00");
    EXPECT_EQ(slots("0 0 */10 * *", "2024-03-01 00:00:00", 4),
              "2024-03-11 00:00:00, 2024-03-21 00:00:00, 2024-03-31 00:00:00, 2024-04-01 00:00:00");
    EXPECT_EQ(slots("0 0 1 */5 *", "2024-01-01 00:00:00", 3),
              "2024-06-01 00:00:00, 2024-11-01 00:00:00, 2025-01-01 00:00:00");
    EXPECT_EQ(next("*/1 * * * *", "2024-03-10 10:00:00"), "2024-03-10 10:01:00");
}

TEST(cron_schedule, month_names_case_insensitive) {
    EXPECT_EQ(next("0 0 1 JAN *", "2024-02-01 00:00:00"), "2025-01-01 00:00:00");
    EXPECT_EQ(next("0 0 1 mar-May *", "2024-05-02 00:00:00"), "2025-03-01 00:00:00");
    EXPECT_EQ(slots("0 0 1 jun,DEC *", "2024-01-01 00:00:00", 3),
              "2024-06-01 00:00:00, 2024-12-01 00:00:00, 2025-06-01 00:00:00");
}

TEST(cron_schedule, weekday_names_and_numbers) {
    // 2024-03-10 is a Sunday.
    EXPECT_EQ(next("0 0 * * MON", "2024-03-10 00:00:00"), "2024-03-11 00:00:00");
    EXPECT_EQ(next("0 0 * * 1", "2024-03-10 00:00:00"), "2024-03-11 00:00:00");
    EXPECT_EQ(slots("0 0 * * mon-fri", "2024-03-08 12:00:00", 3),
              "2024-03-11 00:00:00, 2024-03-12 00:00:00, 2024-03-13 00:00:00");
    EXPECT_EQ(slots("0 0 * * Sat,sUn", "2024-03-08 12:00:00", 3),
              "2024-03-09 00:00:00, 2024-03-10 00:00:00, 2024-03-16 00:00:00");
    EXPECT_EQ(slots("0 0 * * */2", "2024-03-10 12:00:00", 3),  // Sun, Tue, Thu, Sat
              "2024-03-12 00:00:00, 2024-03-14 00:00:00, 2024-03-16 00:00:00");
}

TEST(cron_schedule, zero_and_seven_are_sunday) {
    EXPECT_EQ(next("0 0 * * 0", "2024-03-11 00:00:00"), "2024-03-17 00:00:00");
    EXPECT_EQ(next("0 0 * * 7", "2024-03-11 00:00:00"), "2024-03-17 00:00:00");
    EXPECT_EQ(next("0 0 * * SUN", "2024-03-11 00:00:00"), "2024-03-17 00:00:00");
    EXPECT_EQ(slots("0 0 * * 5-7", "2024-03-11 00:00:00", 3),
              "2024-03-15 00:00:00, 2024-03-16 00:00:00, 2024-03-17 00:00:00");
}

TEST(cron_schedule, day_of_month_or_day_of_week_when_both_restricted) {
    // The 13th or any Friday: 2024-09-06 (Fri), 09-13 (Fri and 13th), 09-20 (Fri), 09-27, 10-04, 10-11, 10-13.
    EXPECT_EQ(slots("0 0 13 * FRI", "2024-09-01 00:00:00", 7),
              "2024-09-06 00:00:00, 2024-09-13 00:00:00, 2024-09-20 00:00:00, 2024-09-27 00:00:00, "
              "2024-10-04 00:00:00, 2024-10-11 00:00:00, 2024-10-13 00:00:00");
    EXPECT_EQ(latest("0 0 1 * MON", "2024-03-10 12:00:00"), "2024-03-04 00:00:00");
    // A step counts as a restriction.
    EXPECT_EQ(slots("0 0 */15 * 3", "2024-05-01 12:00:00", 3),  // days 1,16,31 or Wednesdays
              "2024-05-08 00:00:00, 2024-05-15 00:00:00, 2024-05-16 00:00:00");
}

TEST(cron_schedule, day_of_month_and_day_of_week_when_one_is_star) {
    EXPECT_EQ(next("0 0 13 * *", "2024-09-01 00:00:00"), "2024-09-13 00:00:00");
    EXPECT_EQ(next("0 0 * * FRI", "2024-09-01 00:00:00"), "2024-09-06 00:00:00");
    // Only day-of-week restricted: day-of-month '*' does not widen it.
    EXPECT_EQ(next("0 0 * 2 MON", "2024-01-31 00:00:00"), "2024-02-05 00:00:00");
}

TEST(cron_schedule, february_29) {
    EXPECT_EQ(next("0 0 29 2 *", "2024-03-01 00:00:00"), "2028-02-29 00:00:00");
    EXPECT_EQ(next("0 0 29 2 *", "2024-02-28 23:59:59"), "2024-02-29 00:00:00");
    // 2100 is not a leap year: eight years between slots.
    EXPECT_EQ(next("0 0 29 2 *", "2096-03-01 00:00:00"), "2104-02-29 00:00:00");
    EXPECT_EQ(latest("0 0 29 2 *", "2104-02-28 00:00:00"), "2096-02-29 00:00:00");
    EXPECT_EQ(latest("0 0 29 2 *", "2024-02-29 00:00:00"), "2024-02-29 00:00:00");
    // Day 31 skips short months.
    EXPECT_EQ(slots("0 0 31 * *", "2024-01-31 00:00:00", 3),
              "2024-03-31 00:00:00, 2024-05-31 00:00:00, 2024-07-31 00:00:00");
}

TEST(cron_schedule, year_rollover) {
    EXPECT_EQ(next("* * * * *", "2024-12-31 23:59:00"), "2025-01-01 00:00:00");
    EXPECT_EQ(next("59 23 31 12 *", "2024-12-31 23:59:00"), "2025-12-31 23:59:00");
    EXPECT_EQ(latest("59 23 31 12 *", "2025-01-01 00:00:00"), "2024-12-31 23:59:00");
    EXPECT_EQ(latest("0 0 * * *", "2025-01-01 00:00:00"), "2025-01-01 00:00:00");
    EXPECT_EQ(latest("30 * * * *", "2025-01-01 00:10:00"), "2024-12-31 23:30:00");
    EXPECT_EQ(next("0 12 * * MON", "2024-12-31 00:00:00"), "2025-01-06 12:00:00");
}

TEST(cron_schedule, latest_walks_back_over_fields) {
    EXPECT_EQ(latest("15 10 * * *", "2024-03-10 10:14:59"), "2024-03-09 10:15:00");
    EXPECT_EQ(latest("15 10 * * *", "2024-03-10 10:15:00"), "2024-03-10 10:15:00");
    EXPECT_EQ(latest("0 0 1 JUN *", "2024-05-31 23:59:59"), "2023-06-01 00:00:00");
    EXPECT_EQ(latest("*/20 9-17 * * MON-FRI", "2024-03-10 08:00:00"), "2024-03-08 17:40:00");
}

TEST(cron_schedule, latest_and_next_bracket_any_instant) {
    for (const char* expr : {"* * * * *", "*/7 3-5 * * *", "0 0 13 * FRI", "0 0 29 2 *", "@every 90m", "@weekly"}) {
        auto s = parsed(expr);
        for (auto t = at("2023-12-25 00:00:00"); t < at("2024-01-05 00:00:00"); t += std::chrono::minutes{397}) {
            auto prev = s.latest_at_or_before(t);
            auto nxt = s.next_after(t);
            EXPECT_LE(prev, t) << expr;
            EXPECT_GT(nxt, t) << expr;
            EXPECT_EQ(s.next_after(prev), s.next_after(t)) << expr << " at " << show(t);
            EXPECT_EQ(s.latest_at_or_before(nxt), nxt) << expr;
            EXPECT_EQ(s.latest_at_or_before(nxt - std::chrono::seconds{1}), prev) << expr;
        }
    }
}

TEST(cron_schedule, macros) {
    EXPECT_EQ(next("@hourly", "2024-03-10 10:00:00"), "2024-03-10 11:00:00");
    EXPECT_EQ(next("@daily", "2024-03-10 10:00:00"), "2024-03-11 00:00:00");
    EXPECT_EQ(next("@midnight", "2024-03-10 10:00:00"), "2024-03-11 00:00:00");
    EXPECT_EQ(next("@weekly", "2024-03-10 10:00:00"), "2024-03-17 00:00:00");
    EXPECT_EQ(next("@monthly", "2024-03-10 10:00:00"), "2024-04-01 00:00:00");
    EXPECT_EQ(next("@yearly", "2024-03-10 10:00:00"), "2025-01-01 00:00:00");
    EXPECT_EQ(next("@annually", "2024-03-10 10:00:00"), "2025-01-01 00:00:00");
    EXPECT_EQ(next("@DAILY", "2024-03-10 10:00:00"), "2024-03-11 00:00:00");
}

TEST(cron_schedule, every_is_aligned_to_the_epoch) {
    EXPECT_EQ(slots("@every 10s", "2024-03-10 10:00:03", 3),
              "2024-03-10 10:00:10, 2024-03-10 10:00:20, 2024-03-10 10:00:30");
    EXPECT_EQ(next("@every 10s", "2024-03-10 10:00:10"), "2024-03-10 10:00:20");
    EXPECT_EQ(latest("@every 10s", "2024-03-10 10:00:19"), "2024-03-10 10:00:10");
    EXPECT_EQ(latest("@every 10s", "2024-03-10 10:00:20"), "2024-03-10 10:00:20");
    EXPECT_EQ(next("@every 1s", "2024-03-10 10:00:00"), "2024-03-10 10:00:01");
    // 7 minutes = 420 s; 2024-03-10 10:00:00 is 1710064800 s = 4071582 * 420 + 360 after the epoch.
    EXPECT_EQ(latest("@every 7m", "2024-03-10 10:00:00"), "2024-03-10 09:54:00");
    EXPECT_EQ(next("@every 7m", "2024-03-10 10:00:00"), "2024-03-10 10:01:00");
    EXPECT_EQ(next("@every 5h", "1970-01-01 00:00:00"), "1970-01-01 05:00:00");
    EXPECT_EQ(next("@every 24h", "2024-03-10 10:00:00"), "2024-03-11 00:00:00");
    EXPECT_EQ(next("  @every   2s  ", "2024-03-10 10:00:00"), "2024-03-10 10:00:02");
    // Before the epoch the alignment still holds.
    EXPECT_EQ(latest("@every 7s", "1969-12-31 23:59:59"), "1969-12-31 23:59:53");
    EXPECT_EQ(next("@every 7s", "1969-12-31 23:59:53"), "1970-01-01 00:00:00");
}

TEST(cron_schedule, blanks_between_and_around_fields) {
    EXPECT_EQ(next("  0\t12  *   * *  ", "2024-03-10 10:00:00"), "2024-03-10 12:00:00");
    EXPECT_EQ(parsed(" 0 12 * * * ").text(), "0 12 * * *");
}

TEST(cron_schedule, rejects_empty_and_field_count) {
    EXPECT_EQ(error_of(""), "empty schedule");
    EXPECT_EQ(error_of("   "), "empty schedule");
    EXPECT_NE(error_of("* * * *").find("expected 5 fields"), std::string::npos);
    EXPECT_NE(error_of("0 * * * * *").find("got 6"), std::string::npos);
    EXPECT_NE(error_of("*").find("got 1"), std::string::npos);
}

TEST(cron_schedule, rejects_out_of_range) {
    EXPECT_EQ(error_of("60 * * * *"), "minute: 60 is out of range 0-59");
    EXPECT_EQ(error_of("* 24 * * *"), "hour: 24 is out of range 0-23");
    EXPECT_EQ(error_of("* * 0 * *"), "day-of-month: 0 is out of range 1-31");
    EXPECT_EQ(error_of("* * 32 * *"), "day-of-month: 32 is out of range 1-31");
    EXPECT_EQ(error_of("* * * 13 *"), "month: 13 is out of range 1-12");
    EXPECT_EQ(error_of("* * * 0 *"), "month: 0 is out of range 1-12");
    EXPECT_EQ(error_of("* * * * 8"), "day-of-week: 8 is out of range 0-7");
    EXPECT_EQ(error_of("0-60 * * * *"), "minute: 60 is out of range 0-59");
    EXPECT_EQ(error_of("99999999999999999999 * * * *").substr(0, 7), "minute:");
}

TEST(cron_schedule, rejects_bad_steps_and_ranges) {
    EXPECT_EQ(error_of("*/0 * * * *"), "minute: step must be at least 1");
    EXPECT_EQ(error_of("1-5/0 * * * *"), "minute: step must be at least 1");
    EXPECT_EQ(error_of("*/ * * * *"), "minute: step '' is not a number");
    EXPECT_EQ(error_of("*/x * * * *"), "minute: step 'x' is not a number");
    EXPECT_EQ(error_of("*/60 * * * *"), "minute: step 60 is larger than 59");
    EXPECT_EQ(error_of("*/-1 * * * *"), "minute: step '-1' is not a number");
    EXPECT_EQ(error_of("5-1 * * * *"), "minute: range '5-1' runs backwards");
    EXPECT_EQ(error_of("1- * * * *"), "minute: missing value");
    EXPECT_EQ(error_of("-1 * * * *"), "minute: missing value");
    EXPECT_EQ(error_of("1,,2 * * * *"), "minute: empty list element in '1,,2'");
    EXPECT_EQ(error_of("1, * * * *"), "minute: empty list element in '1,'");
    EXPECT_EQ(error_of("*/2/2 * * * *"), "minute: step '2/2' is not a number");
}

TEST(cron_schedule, rejects_garbage) {
    EXPECT_EQ(error_of("a * * * *"), "minute: 'a' is not a valid value");
    EXPECT_EQ(error_of("* * * * MONDAY"), "day-of-week: 'MONDAY' is not a valid value");
    EXPECT_EQ(error_of("* * * JANUARY *"), "month: 'JANUARY' is not a valid value");
    // Names only where the field has them.
    EXPECT_EQ(error_of("* * MON * *"), "day-of-month: 'MON' is not a valid value");
    EXPECT_EQ(error_of("* * * MON *"), "month: 'MON' is not a valid value");
    EXPECT_EQ(error_of("* * * * JAN"), "day-of-week: 'JAN' is not a valid value");
    EXPECT_EQ(error_of("+5 * * * *"), "minute: '+5' is not a valid value");
    EXPECT_EQ(error_of("1.5 * * * *"), "minute: '1.5' is not a valid value");
    EXPECT_EQ(error_of("? * * * *"), "minute: '?' is not a valid value");
    EXPECT_NE(error_of("hello world"), "<accepted>");
    EXPECT_NE(error_of("** * * * *"), "<accepted>");
}

TEST(cron_schedule, rejects_days_that_never_occur) {
    EXPECT_EQ(error_of("0 0 30 2 *"), "day-of-month never occurs in the selected months");
    EXPECT_EQ(error_of("0 0 31 4,6,9,11 *"), "day-of-month never occurs in the selected months");
    EXPECT_EQ(error_of("0 0 31 4,5 *"), "<accepted>");
    // With day-of-week restricted too, Mondays in February still match.
    EXPECT_EQ(error_of("0 0 30 2 MON"), "<accepted>");
    EXPECT_EQ(next("0 0 30 2 MON", "2024-01-01 00:00:00"), "2024-02-05 00:00:00");
}

TEST(cron_schedule, rejects_bad_macros_and_intervals) {
    EXPECT_EQ(error_of("@every 0s"), "@every: the interval must be at least 1");
    EXPECT_EQ(error_of("@every 10"), "@every: '10' is not <N>s, <N>m or <N>h");
    EXPECT_EQ(error_of("@every 10d"), "@every: '10d' is not <N>s, <N>m or <N>h");
    EXPECT_EQ(error_of("@every s"), "@every: 's' is not <N>s, <N>m or <N>h");
    EXPECT_EQ(error_of("@every -5s"), "@every: '-5s' is not <N>s, <N>m or <N>h");
    EXPECT_EQ(error_of("@every 1.5m"), "@every: '1.5m' is not <N>s, <N>m or <N>h");
    EXPECT_EQ(error_of("@every"), "@every takes one interval, e.g. '@every 10s'");
    EXPECT_EQ(error_of("@every 1s 2s"), "@every takes one interval, e.g. '@every 10s'");
    EXPECT_EQ(error_of("@every 8785h"), "@every: '8785h' is longer than 8784h");
    EXPECT_EQ(error_of("@every 8784h"), "<accepted>");
    EXPECT_EQ(error_of("@every 99999999999999999999s"), "@every: '99999999999999999999s' is not <N>s, <N>m or <N>h");
    EXPECT_EQ(error_of("@daily 5"), "'@daily' takes no arguments");
    EXPECT_NE(error_of("@reboot").find("unknown macro '@reboot'"), std::string::npos);
    EXPECT_NE(error_of("@").find("unknown macro"), std::string::npos);
}

}  // namespace
