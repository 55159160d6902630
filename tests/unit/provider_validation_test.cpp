#include "marquee/domain/provider.hpp"

#include <gtest/gtest.h>

namespace {

using marquee::domain::provider;

provider good() {
    provider p;
    p.name = "acme";
    p.url = "http://127.0.0.1:8081/feed.xml";
    return p;
}

std::string failing_field(const provider& p) {
    auto e = marquee::domain::validate(p);
    return e ? e->field : "<valid>";
}

TEST(provider_validation, accepts_defaults) {
    EXPECT_EQ(failing_field(good()), "<valid>");
    auto p = good();
    p.schedule = "@every 10s";
    p.time_zone = "Europe/Madrid";
    p.url = "https://user:pw@[::1]:8443/a?b#c";
    EXPECT_EQ(failing_field(p), "<valid>");
}

TEST(provider_validation, name_pattern) {
    for (const char* name : {"a", "0", "acme", "a.b-c_d", "feed-2024"})
        EXPECT_TRUE(marquee::domain::is_valid_provider_name(name)) << name;
    EXPECT_TRUE(marquee::domain::is_valid_provider_name(std::string(63, 'x')));
    for (const char* name : {"", "Acme", "-a", ".a", "_a", "a b", "a/b", "ä", "a\n"})
        EXPECT_FALSE(marquee::domain::is_valid_provider_name(name)) << name;
    EXPECT_FALSE(marquee::domain::is_valid_provider_name(std::string(64, 'x')));
    auto p = good();
    p.name = "Bad Name";
    auto e = marquee::domain::validate(p);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "name");
    EXPECT_NE(e->message.find("'Bad Name'"), std::string::npos);
}

TEST(provider_validation, url) {
    for (const char* url : {"http://a", "https://example.com/feed", "http://127.0.0.1:1/x", "http://[::1]/"})
        EXPECT_TRUE(marquee::domain::is_valid_feed_url(url)) << url;
    for (const char* url : {"", "ftp://a/b", "http://", "http:///path", "http://:80/", "HTTP://a", "http://a b/",
                            "http://a/\x01", "example.com", "http://[]/", "http://[::1/"})
        EXPECT_FALSE(marquee::domain::is_valid_feed_url(url)) << url;
    auto p = good();
    p.url = "ftp://x";
    EXPECT_EQ(failing_field(p), "url");
}

TEST(provider_validation, schedule_must_parse) {
    auto p = good();
    p.schedule = "61 * * * *";
    auto e = marquee::domain::validate(p);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "schedule");
    EXPECT_EQ(e->message, "'61 * * * *': minute: 61 is out of range 0-59");
}

TEST(provider_validation, time_zone_must_be_known) {
    auto p = good();
    p.time_zone = "Mars/Olympus_Mons";
    EXPECT_EQ(failing_field(p), "time_zone");
    p.time_zone = "";
    EXPECT_EQ(failing_field(p), "time_zone");
}

TEST(provider_validation, limits_are_positive) {
    auto p = good();
    p.fetch_timeout_ms = 0;
    EXPECT_EQ(failing_field(p), "fetch_timeout_ms");
    p.fetch_timeout_ms = 2147483648;
    EXPECT_EQ(failing_field(p), "fetch_timeout_ms");
    p.fetch_timeout_ms = 1;
    p.max_feed_bytes = -1;
    EXPECT_EQ(failing_field(p), "max_feed_bytes");
}

}  // namespace
