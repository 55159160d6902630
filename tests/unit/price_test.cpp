#include "marquee/money/price.hpp"

#include <gtest/gtest.h>

using namespace marquee::money;

TEST(price, parses_decimals_exactly) {
    EXPECT_EQ(parse_price("20.00")->micros, 20'000'000);
    EXPECT_EQ(parse_price("20")->micros, 20'000'000);
    EXPECT_EQ(parse_price("0.125")->micros, 125'000);
    EXPECT_EQ(parse_price(" 15.5 ")->micros, 15'500'000);
    EXPECT_EQ(parse_price("0")->micros, 0);
}

TEST(price, rejects_what_is_not_a_non_negative_decimal) {
    for (auto text : {"", " ", "abc", "-1", "+1", "1e3", "1.", ".5", "1.2.3", "1,50", "1.1234567", "NaN", "inf",
                      "10000000000000", "20 EUR"})
        EXPECT_FALSE(parse_price(text)) << text;
}

TEST(price, renders_two_decimals_at_least) {
    EXPECT_EQ(to_string(*parse_price("20")), "20.00");
    EXPECT_EQ(to_string(*parse_price("15.5")), "15.50");
    EXPECT_EQ(to_string(*parse_price("0.125")), "0.125");
    EXPECT_EQ(to_string(*parse_price("1.000001")), "1.000001");
}

TEST(price, orders_by_value) {
    EXPECT_LT(*parse_price("9.99"), *parse_price("10"));
    EXPECT_EQ(*parse_price("10.0"), *parse_price("10.00"));
}
