#include "marquee/error.hpp"
#include "marquee/time/local_datetime.hpp"

#include <gtest/gtest.h>

using namespace marquee::time;
using namespace std::chrono;

namespace {
instant at_utc(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s) {
    return time_point_cast<microseconds>(as_utc({y, mo, d, h, mi, s}));
}
}  // namespace

TEST(local_datetime, parses_provider_format) {
    auto t = parse_local_datetime("2021-06-30T21:00:00");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_date(*t), "2021-06-30");
    EXPECT_EQ(format_time(*t), "21:00:00");
}

TEST(local_datetime, rejects_impossible_dates) {
    EXPECT_FALSE(parse_local_datetime("2021-09-31T20:00:00"));
    EXPECT_FALSE(parse_local_datetime("2021-02-29T20:00:00"));
    EXPECT_TRUE(parse_local_datetime("2024-02-29T20:00:00"));
    EXPECT_FALSE(parse_local_datetime("2021-13-01T20:00:00"));
    EXPECT_FALSE(parse_local_datetime("2021-00-01T20:00:00"));
    EXPECT_FALSE(parse_local_datetime("2021-01-00T20:00:00"));
    EXPECT_FALSE(parse_local_datetime("2021-01-01T24:00:00"));
    EXPECT_FALSE(parse_local_datetime("2021-01-01T23:60:00"));
    EXPECT_FALSE(parse_local_datetime("2021-01-01T23:59:60"));
}

TEST(local_datetime, rejects_other_shapes) {
    for (auto text : {"", "2021-06-30", "2021-06-30 21:00:00", "2021-06-30T21:00", "2021-06-30T21:00:00Z",
                      "2021-06-30T21:00:00.5", " 2021-06-30T21:00:00", "21-06-30T21:00:00", "2021-6-30T21:00:00",
                      "2021-06-30T21:00:0x", "２０２１-06-30T21:00:00"})
        EXPECT_FALSE(parse_local_datetime(text)) << text;
}

TEST(rfc3339, reads_utc_offsets_and_naive_values) {
    EXPECT_EQ(parse_rfc3339("2021-06-30T21:00:00Z"), at_utc(2021, 6, 30, 21, 0, 0));
    EXPECT_EQ(parse_rfc3339("2021-06-30T21:00:00z"), at_utc(2021, 6, 30, 21, 0, 0));
    EXPECT_EQ(parse_rfc3339("2021-06-30t21:00:00"), at_utc(2021, 6, 30, 21, 0, 0));
    EXPECT_EQ(parse_rfc3339("2021-06-30 21:00:00"), at_utc(2021, 6, 30, 21, 0, 0));
    EXPECT_EQ(parse_rfc3339("2021-06-30T23:00:00+02:00"), at_utc(2021, 6, 30, 21, 0, 0));
    EXPECT_EQ(parse_rfc3339("2021-06-30T16:30:00-04:30"), at_utc(2021, 6, 30, 21, 0, 0));
    EXPECT_EQ(parse_rfc3339("2021-06-30T21:00:00.250Z"), at_utc(2021, 6, 30, 21, 0, 0) + milliseconds{250});
    EXPECT_EQ(parse_rfc3339("2021-06-30T21:00:00.1234567Z"), at_utc(2021, 6, 30, 21, 0, 0) + microseconds{123456});
}

TEST(rfc3339, rejects_malformed_values) {
    for (auto text :
         {"", "yesterday", "2021-06-30", "2021-06-30T21:00", "2021-06-31T21:00:00Z", "2021-06-30T21:00:00+2",
          "2021-06-30T21:00:00+02", "2021-06-30T21:00:00+0200", "2021-06-30T21:00:00+24:00", "2021-06-30T21:00:00.Z",
          "2021-06-30T21:00:00ZZ", "2021-06-30T21:00:00 ", "2021-06-30T23:59:60Z"})
        EXPECT_FALSE(parse_rfc3339(text)) << text;
}

TEST(time_zone, converts_wall_clock_to_instants) {
    zone madrid("Europe/Madrid");
    EXPECT_EQ(madrid.to_instant({2021, 6, 30, 21, 0, 0}), at_utc(2021, 6, 30, 19, 0, 0));  // CEST, +2
    EXPECT_EQ(madrid.to_instant({2021, 1, 30, 21, 0, 0}), at_utc(2021, 1, 30, 20, 0, 0));  // CET, +1
    zone utc("UTC");
    EXPECT_EQ(utc.to_instant({2021, 6, 30, 21, 0, 0}), at_utc(2021, 6, 30, 21, 0, 0));
}

TEST(time_zone, resolves_dst_folds_and_gaps) {
    zone madrid("Europe/Madrid");
    // 2021-10-31 02:30 happens twice: the earlier (CEST, +2) instant is chosen.
    EXPECT_EQ(madrid.to_instant({2021, 10, 31, 2, 30, 0}), at_utc(2021, 10, 31, 0, 30, 0));
    // 2021-03-28 02:30 never happens: it maps to the instant the gap starts (01:00 UTC).
    EXPECT_EQ(madrid.to_instant({2021, 3, 28, 2, 30, 0}), at_utc(2021, 3, 28, 1, 0, 0));
}

TEST(time_zone, rejects_unknown_names) {
    EXPECT_THROW(zone("Mars/Olympus_Mons"), marquee::config_error);
    EXPECT_THROW(zone(""), marquee::config_error);
}
