#include "marquee/search/query.hpp"

#include "parsed_query.hpp"

#include <gtest/gtest.h>

#include <string>

using marquee::search::parse_query;
using marquee::search::query;
using marquee::search::query_error;

namespace {

marquee::time::instant at(const char* rfc3339) {
    return *marquee::time::parse_rfc3339(rfc3339);
}

query ok(std::string_view text) {
    return marquee::testing::parsed(text);
}

query_error::kind rejected(std::string_view text) {
    return marquee::testing::refusal(text).what;
}

}  // namespace

TEST(search_query, empty_query_is_open_on_both_sides) {
    auto q = ok("");
    EXPECT_FALSE(q.starts_at);
    EXPECT_FALSE(q.ends_at);
}

TEST(search_query, reads_both_bounds) {
    auto q = ok("starts_at=2021-06-30T21:00:00Z&ends_at=2021-07-01T02:00:00Z");
    EXPECT_EQ(q.starts_at, at("2021-06-30T21:00:00Z"));
    EXPECT_EQ(q.ends_at, at("2021-07-01T02:00:00Z"));
}

TEST(search_query, missing_offset_means_utc) {
    EXPECT_EQ(ok("starts_at=2021-06-30T21:00:00").starts_at, at("2021-06-30T21:00:00Z"));
}

TEST(search_query, unencoded_plus_is_an_offset_sign) {
    EXPECT_EQ(ok("starts_at=2021-06-30T23:00:00+02:00").starts_at, at("2021-06-30T21:00:00Z"));
}

TEST(search_query, percent_encoded_plus_is_an_offset_sign) {
    EXPECT_EQ(ok("starts_at=2021-06-30T23%3A00%3A00%2B02%3A00").starts_at, at("2021-06-30T21:00:00Z"));
}

TEST(search_query, form_encoded_space_separates_date_and_time) {
    EXPECT_EQ(ok("starts_at=2021-06-30+23:00:00%2B02:00").starts_at, at("2021-06-30T21:00:00Z"));
    EXPECT_EQ(ok("starts_at=2021-06-30%2023:00:00-01:00").starts_at, at("2021-07-01T00:00:00Z"));
}

TEST(search_query, plus_elsewhere_is_not_a_space) {
    EXPECT_EQ(rejected("starts_at=2021-06-30T23:00:00+"), query_error::kind::invalid_parameter);
}

TEST(search_query, equal_bounds_are_allowed) {
    auto q = ok("starts_at=2021-06-30T21:00:00Z&ends_at=2021-06-30T23:00:00%2B02:00");
    EXPECT_EQ(q.starts_at, q.ends_at);
}

TEST(search_query, ignores_unknown_parameters_even_malformed_ones) {
    auto q = ok("foo=bar&&x=%zz&=&starts_atx=1&Starts_at=nope&ends_at=2021-07-01T00:00:00Z&flag");
    EXPECT_FALSE(q.starts_at);
    EXPECT_EQ(q.ends_at, at("2021-07-01T00:00:00Z"));
}

TEST(search_query, decodes_percent_encoded_keys) {
    EXPECT_EQ(ok("starts%5Fat=2021-06-30T21:00:00Z").starts_at, at("2021-06-30T21:00:00Z"));
}

TEST(search_query, rejects_an_unparsable_value) {
    EXPECT_EQ(rejected("starts_at=yesterday"), query_error::kind::invalid_parameter);
    EXPECT_EQ(rejected("ends_at=2021-02-30T00:00:00Z"), query_error::kind::invalid_parameter);
    EXPECT_EQ(rejected("ends_at=2021-06-30"), query_error::kind::invalid_parameter);
    EXPECT_EQ(rejected("ends_at=2021-06-30T24:00:00Z"), query_error::kind::invalid_parameter);
}

TEST(search_query, rejects_a_malformed_escape_in_a_value) {
    EXPECT_EQ(rejected("starts_at=2021-06-30T21:00:00%Z"), query_error::kind::invalid_parameter);
    EXPECT_EQ(rejected("starts_at=2021-06-30T21:00:00Z%2"), query_error::kind::invalid_parameter);
}

TEST(search_query, rejects_an_encoded_nul) {
    EXPECT_EQ(rejected("starts_at=2021-06-30T21:00:00Z%00"), query_error::kind::invalid_parameter);
}

TEST(search_query, rejects_an_empty_value) {
    EXPECT_EQ(rejected("starts_at="), query_error::kind::invalid_parameter);
    EXPECT_EQ(rejected("ends_at"), query_error::kind::invalid_parameter);
}

TEST(search_query, rejects_a_repeated_parameter_even_with_the_same_value) {
    EXPECT_EQ(rejected("starts_at=2021-06-30T21:00:00Z&starts_at=2021-06-30T21:00:00Z"),
              query_error::kind::invalid_parameter);
    EXPECT_EQ(rejected("ends_at=2021-06-30T21:00:00Z&x=1&ends%5fat=2021-06-30T21:00:00Z"),
              query_error::kind::invalid_parameter);
}

TEST(search_query, rejects_starts_at_after_ends_at) {
    EXPECT_EQ(rejected("starts_at=2021-07-01T00:00:00Z&ends_at=2021-06-30T00:00:00Z"),
              query_error::kind::invalid_range);
    // Compared as instants: 00:30+02:00 is 22:30Z the day before, after 22:00Z.
    EXPECT_EQ(rejected("starts_at=2021-07-01T00:30:00%2B02:00&ends_at=2021-06-30T22:00:00Z"),
              query_error::kind::invalid_range);
}

TEST(search_query, rejects_an_overlong_value) {
    std::string text = "starts_at=2021-06-30T21:00:00." + std::string(200, '0') + "Z";
    EXPECT_EQ(rejected(text), query_error::kind::invalid_parameter);
}

TEST(search_query, messages_name_the_parameter) {
    auto result = parse_query("ends_at=soon");
    ASSERT_TRUE(std::holds_alternative<query_error>(result));
    EXPECT_NE(std::get<query_error>(result).message.find("ends_at"), std::string_view::npos);
}
