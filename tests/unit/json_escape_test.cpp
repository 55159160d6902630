#include "marquee/json/escape.hpp"

#include <gtest/gtest.h>

#include <string>

using marquee::json::is_number;
using marquee::json::quote;

TEST(json_escape, passes_plain_ascii_through) {
    EXPECT_EQ(quote("Los Planetas"), "\"Los Planetas\"");
}

TEST(json_escape, escapes_quote_and_backslash) {
    EXPECT_EQ(quote(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
}

TEST(json_escape, escapes_every_control_character_as_u00xx) {
    EXPECT_EQ(quote(std::string("a\0b", 3)), "\"a\\u0000b\"");
    EXPECT_EQ(quote("\n\r\t\x1f"), "\"\\u000a\\u000d\\u0009\\u001f\"");
}

TEST(json_escape, leaves_delete_and_slash_alone) {
    EXPECT_EQ(quote("/\x7f"), "\"/\x7f\"");
}

TEST(json_escape, passes_valid_utf8_through) {
    EXPECT_EQ(quote("Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xB8"), "\"Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xB8\"");
    EXPECT_EQ(quote("\xEF\xBF\xBD"), "\"\xEF\xBF\xBD\"");          // U+FFFD itself
    EXPECT_EQ(quote("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\"");  // U+10FFFF
}

TEST(json_escape, replaces_a_stray_continuation_byte) {
    EXPECT_EQ(quote("a\x80z"), "\"a\xEF\xBF\xBDz\"");
}

TEST(json_escape, replaces_latin1_bytes) {
    EXPECT_EQ(quote("Caf\xE9!"), "\"Caf\xEF\xBF\xBD!\"");
}

TEST(json_escape, replaces_a_truncated_sequence_once) {
    // E2 82 is the start of a three-byte sequence cut short: one maximal subpart, one U+FFFD.
    EXPECT_EQ(quote("\xE2\x82z"), "\"\xEF\xBF\xBDz\"");
    EXPECT_EQ(quote("\xF0\x9F\x8E"), "\"\xEF\xBF\xBD\"");
}

TEST(json_escape, replaces_overlong_encodings) {
    EXPECT_EQ(quote("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(quote("\xE0\x80\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(json_escape, replaces_surrogates_and_code_points_above_10ffff) {
    EXPECT_EQ(quote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(quote("\xF4\x90\x80\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(quote("\xFF"), "\"\xEF\xBF\xBD\"");
}

TEST(json_escape, escapes_control_characters_after_invalid_bytes) {
    EXPECT_EQ(quote("\xC3\n"), "\"\xEF\xBF\xBD\\u000a\"");
}

TEST(json_escape, accepts_postgresql_numeric_text_as_number) {
    EXPECT_TRUE(is_number("20.00"));
    EXPECT_TRUE(is_number("0"));
    EXPECT_TRUE(is_number("-1.5"));
    EXPECT_TRUE(is_number("1e10"));
    EXPECT_TRUE(is_number("123456789012345678901234567890.000001"));
}

TEST(json_escape, rejects_what_json_has_no_number_for) {
    EXPECT_FALSE(is_number("NaN"));
    EXPECT_FALSE(is_number("Infinity"));
    EXPECT_FALSE(is_number("-Infinity"));
    EXPECT_FALSE(is_number(""));
    EXPECT_FALSE(is_number("01"));
    EXPECT_FALSE(is_number("1."));
    EXPECT_FALSE(is_number(".5"));
    EXPECT_FALSE(is_number("+1"));
    EXPECT_FALSE(is_number("1e"));
}
