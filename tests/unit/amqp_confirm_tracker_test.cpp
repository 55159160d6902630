// The bookkeeping of publisher::publish_all: which messages of a batch the broker's acks, nacks
// and returns settle, whatever order and grouping they come in.
#include "marquee/amqp/detail/confirm_tracker.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace {

using marquee::amqp::detail::confirm_tracker;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

const steady_clock::time_point t0{};

// A tracker for `size` messages whose first delivery tag is `first_tag`, the first `sent` of them sent
// one millisecond apart.
confirm_tracker tracker(std::size_t size, std::uint64_t first_tag, std::size_t sent) {
    confirm_tracker t(size, first_tag);
    for (std::size_t i = 0; i < sent; ++i) t.sent_one(t0 + std::chrono::milliseconds(i));
    return t;
}

// "ok" for a confirmed message, its failure otherwise.
std::vector<std::string> outcomes(confirm_tracker&& t) {
    std::vector<std::string> out;
    for (auto& f : std::move(t).take()) out.push_back(f ? *f : "ok");
    return out;
}

using strings = std::vector<std::string>;
const std::optional<std::string> ack;
const std::optional<std::string> nack{"nacked"};

TEST(amqp_confirm_tracker, single_acks_in_any_order_settle_their_own_messages) {
    auto t = tracker(3, 10, 3);
    t.settle(12, false, ack);
    EXPECT_EQ(t.in_flight(), 2u);
    EXPECT_EQ(t.oldest_sent_at(), t0) << "message 0 is still the oldest waiting";
    t.settle(10, false, ack);
    EXPECT_EQ(t.oldest_sent_at(), t0 + 1ms);
    EXPECT_FALSE(t.all_settled());
    t.settle(11, false, ack);
    EXPECT_TRUE(t.all_settled());
    EXPECT_EQ(t.in_flight(), 0u);
    EXPECT_EQ(outcomes(std::move(t)), (strings{"ok", "ok", "ok"}));
}

TEST(amqp_confirm_tracker, a_multiple_ack_settles_every_message_up_to_its_tag) {
    auto t = tracker(5, 1, 5);
    t.settle(4, false, nack);  // settled before, out of order: the multiple ack leaves it as it is
    t.settle(3, true, ack);
    EXPECT_EQ(t.in_flight(), 1u);
    EXPECT_EQ(t.oldest_sent_at(), t0 + 4ms);
    t.settle(5, true, ack);
    EXPECT_TRUE(t.all_settled());
    EXPECT_EQ(outcomes(std::move(t)), (strings{"ok", "ok", "ok", "nacked", "ok"}));
}

TEST(amqp_confirm_tracker, a_multiple_nack_fails_only_the_messages_it_covers) {
    auto t = tracker(4, 7, 4);
    t.settle(8, true, nack);
    t.settle(10, true, ack);
    EXPECT_EQ(outcomes(std::move(t)), (strings{"nacked", "nacked", "ok", "ok"}));
}

TEST(amqp_confirm_tracker, a_return_fails_the_messages_awaiting_a_confirm_then_and_no_later_one) {
    auto t = tracker(4, 1, 2);
    t.settle(1, false, ack);   // confirmed before the return: not the returned one
    t.returned("unroutable");  // message 1 (tag 2) is in flight: it may be the one
    t.sent_one(t0 + 10ms);     // message 2 goes out after the return
    t.settle(3, true, ack);
    t.sent_one(t0 + 11ms);
    t.settle(4, false, ack);
    EXPECT_EQ(outcomes(std::move(t)), (strings{"ok", "unroutable", "ok", "ok"}));
}

TEST(amqp_confirm_tracker, tags_of_an_earlier_batch_or_never_sent_are_ignored) {
    auto t = tracker(3, 100, 2);
    t.settle(99, true, nack);   // an earlier batch's
    t.settle(102, false, ack);  // message 2 was never sent
    t.settle(102, true, nack);
    EXPECT_EQ(t.in_flight(), 2u);
    EXPECT_EQ(t.sent(), 2u);
    t.settle(101, true, ack);
    EXPECT_EQ(t.in_flight(), 0u);
    EXPECT_FALSE(t.all_settled());
    t.fail_unsettled("connection lost");
    EXPECT_EQ(outcomes(std::move(t)), (strings{"ok", "ok", "connection lost"}));
}

TEST(amqp_confirm_tracker, a_connection_failure_fails_every_message_not_confirmed_sent_or_not) {
    auto t = tracker(5, 1, 3);
    t.settle(2, false, ack);
    t.fail_unsettled("broker closed the connection");
    EXPECT_EQ(outcomes(std::move(t)), (strings{"broker closed the connection", "ok", "broker closed the connection",
                                               "broker closed the connection", "broker closed the connection"}));
}

}  // namespace
