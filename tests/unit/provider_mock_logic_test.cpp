// The provider mock's pure parts: rotation order, fault counting, the oversize body's shape, which
// replies are held back until a release.
#include "fault_plan.hpp"
#include "feed_rotation.hpp"
#include "mock_provider.hpp"
#include "oversize_body.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace marquee::provider_mock;

TEST(feed_rotation, serves_names_in_sorted_order_and_wraps) {
    feed_rotation rotation({"b.xml", "c.xml", "a.xml"});
    EXPECT_EQ(rotation.next(), "a.xml");
    EXPECT_EQ(rotation.next(), "b.xml");
    EXPECT_EQ(rotation.next(), "c.xml");
    EXPECT_EQ(rotation.next(), "a.xml");
}

TEST(feed_rotation, serve_next_continues_after_the_chosen_name) {
    feed_rotation rotation({"a.xml", "b.xml", "c.xml"});
    EXPECT_TRUE(rotation.serve_next("c.xml"));
    EXPECT_EQ(rotation.next(), "c.xml");
    EXPECT_EQ(rotation.next(), "a.xml");
    EXPECT_FALSE(rotation.serve_next("missing.xml"));
    EXPECT_EQ(rotation.next(), "b.xml");
}

TEST(feed_rotation, rejects_an_empty_directory) {
    EXPECT_THROW(feed_rotation({}), std::invalid_argument);
}

TEST(fault_plan, counts_down_and_disarms) {
    fault_plan plan;
    EXPECT_FALSE(plan.take());
    plan.arm({fault_kind::status, 503}, 2);
    EXPECT_EQ(plan.take()->value, 503u);
    EXPECT_EQ(plan.take()->kind, fault_kind::status);
    EXPECT_FALSE(plan.take());
}

TEST(fault_plan, count_zero_lasts_until_reset) {
    fault_plan plan;
    plan.arm({fault_kind::html, 0}, 0);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(plan.take());
    plan.reset();
    EXPECT_FALSE(plan.take());
}

TEST(fault_kind, names_round_trip) {
    for (auto kind : {fault_kind::delay, fault_kind::status, fault_kind::truncate, fault_kind::html, fault_kind::empty,
                      fault_kind::oversize, fault_kind::garbage})
        EXPECT_EQ(parse_fault_kind(to_string(kind)), kind);
    EXPECT_FALSE(parse_fault_kind("meteor"));
}

TEST(oversize_body, has_exactly_the_requested_size_and_a_feed_frame) {
    const oversize_body body(100000);
    std::string whole;
    std::vector<char> chunk(4096);
    for (std::uint64_t offset = 0;;) {
        auto n = body.read(offset, chunk);
        if (n == 0) break;
        whole.append(chunk.data(), n);
        offset += n;
    }
    ASSERT_EQ(whole.size(), 100000u);
    EXPECT_TRUE(whole.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<eventList"));
    EXPECT_TRUE(whole.ends_with("-->\n</output></eventList>\n"));
    // The padding is one XML comment, which may not contain "--" inside.
    const auto open = whole.find("<!--");
    const auto close = whole.rfind("-->");
    EXPECT_EQ(whole.substr(open + 4, close - open - 4).find("--"), std::string::npos);
}

TEST(oversize_body, tiny_sizes_are_exact_too) {
    for (std::uint64_t size : {0u, 1u, 10u, 80u}) {
        const oversize_body body(size);
        std::vector<char> chunk(256);
        EXPECT_EQ(body.read(0, chunk), size);
    }
}

namespace {

std::string body_of(const reply& r) {
    return std::get<text_reply>(r).body;
}

}  // namespace

TEST(mock_provider, hold_marks_the_next_replies_until_release) {
    mock_provider mock({"a.xml"});
    int releases = 0;
    mock.on_release([&] { ++releases; });
    EXPECT_EQ(body_of(mock.handle("GET", "/_control/hold?count=2")), "holding: count=2\n");
    EXPECT_FALSE(mock.take_hold()) << "a control request is never held";
    for (int i = 0; i < 2; ++i) {
        EXPECT_TRUE(std::holds_alternative<file_reply>(mock.handle("GET", "/api/events")));
        EXPECT_TRUE(mock.take_hold()) << "reply " << i;
        EXPECT_FALSE(mock.take_hold()) << "asking clears it";
    }
    mock.handle("GET", "/api/events");
    EXPECT_FALSE(mock.take_hold()) << "the count is used up";
    EXPECT_NE(body_of(mock.handle("GET", "/_control/stats")).find("\"held\":2"), std::string::npos);
    mock.held_reply_sent();
    EXPECT_NE(body_of(mock.handle("GET", "/_control/stats")).find("\"held\":1"), std::string::npos);
    EXPECT_EQ(body_of(mock.handle("GET", "/_control/release")), "released: 1\n");
    EXPECT_EQ(releases, 1);
}

TEST(mock_provider, hold_count_zero_lasts_until_release_or_reset) {
    mock_provider mock({"a.xml"});
    int releases = 0;
    mock.on_release([&] { ++releases; });
    mock.handle("GET", "/_control/hold?count=0");
    for (int i = 0; i < 10; ++i) {
        mock.handle("GET", "/api/events");
        ASSERT_TRUE(mock.take_hold());
    }
    mock.handle("GET", "/_control/reset");
    EXPECT_EQ(releases, 1);
    mock.handle("GET", "/api/events");
    EXPECT_FALSE(mock.take_hold());
    EXPECT_EQ(std::get<text_reply>(mock.handle("GET", "/_control/hold?count=x")).status, 400u);
    mock.handle("GET", "/api/events");
    EXPECT_FALSE(mock.take_hold()) << "a refused hold holds nothing";
}
