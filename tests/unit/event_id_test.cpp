#include "marquee/ids/event_id.hpp"

#include <gtest/gtest.h>

#include <regex>

using marquee::ids::event_uuid;

TEST(event_id, is_a_canonical_lower_case_uuid_v5) {
    auto id = event_uuid("default", "291", "291").to_string();
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << id;
}

TEST(event_id, is_stable_forever) {
    // Pinned: a change here changes every public id the marketplace has handed out.
    EXPECT_EQ(event_uuid("default", "291", "291").to_string(), event_uuid("default", "291", "291").to_string());
    EXPECT_EQ(event_uuid("default", "322", "1642").to_string(), "299ab0e9-9475-5964-b2dd-682b453f82d5");
}

TEST(event_id, depends_on_every_part_of_the_key) {
    auto base = event_uuid("default", "322", "1642");
    EXPECT_NE(base, event_uuid("default", "1591", "1642"));  // same event_id, other base_event
    EXPECT_NE(base, event_uuid("other", "322", "1642"));
    EXPECT_NE(base, event_uuid("default", "322", "1643"));
    EXPECT_NE(event_uuid("default", "32", "21642"), event_uuid("default", "322", "1642"));
}
