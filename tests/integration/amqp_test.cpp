// The RabbitMQ adapters against a real broker: topology, confirms, acks, dead letters, retries via
// per-message expiration, and recovery after the broker drops connections.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "harness/jobs.hpp"
#include "marquee/amqp/consumer.hpp"
#include "marquee/amqp/publisher.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/error.hpp"

#include <amqp.h>
#include <amqp_framing.h>

#include <gtest/gtest.h>

#include <set>

namespace mt = marquee::testing;
namespace amqp = marquee::amqp;
namespace topology = marquee::amqp::topology;
using namespace std::chrono_literals;

namespace {

amqp::connection_options options_for(const mt::vhost& vh) {
    amqp::connection_options o;
    o.server = marquee::config::parse_amqp_url(vh.url());
    o.connect_timeout = 5s;
    o.rpc_timeout = 5s;
    return o;
}

amqp::consumer_options queue(std::string_view name, std::uint16_t prefetch = 10) {
    return {.queue = std::string(name), .prefetch = prefetch};
}

// The next delivery within `timeout`, polling in short waits.
std::optional<amqp::delivery> receive(amqp::consumer& c, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
        if (auto d = c.next(200ms)) return d;
    return std::nullopt;
}

std::optional<amqp::delivery> receive(amqp::reconnecting_consumer& c, std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
        if (auto d = c.next(200ms)) return d;
    return std::nullopt;
}

void close_connections(const mt::vhost& vh) {
    auto r = mt::rabbitmqctl({"close_all_connections", "--vhost", vh.name(), "test: simulated outage"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(amqp, declares_topology_idempotently) {
    auto vh = mt::fresh_vhost();
    amqp::connection conn(options_for(vh));
    topology::declare(conn);
    topology::declare(conn);
    auto r = mt::rabbitmqctl({"-q", "list_queues", "-p", vh.name(), "name", "type", "durable"});
    EXPECT_NE(r.output.find("marquee.fetch.jobs\tquorum\ttrue"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("marquee.fetch.retry\tquorum\ttrue"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("marquee.fetch.dead\tquorum\ttrue"), std::string::npos) << r.output;
}

TEST(amqp, uses_an_existing_queue_declared_with_other_arguments) {
    auto vh = mt::fresh_vhost();
    {
        // A classic queue, as an older deployment may have left behind.
        amqp::connection conn(options_for(vh));
        amqp_queue_declare(conn.native(), amqp::connection::channel, amqp_cstring_bytes("marquee.fetch.jobs"), 0, 1, 0,
                           0, amqp_empty_table);
        conn.check_last_rpc("declaring a classic queue");
    }
    amqp::connection conn(options_for(vh));
    EXPECT_NO_THROW(topology::declare(conn));
    EXPECT_TRUE(conn.usable());
    auto r = mt::rabbitmqctl({"-q", "list_queues", "-p", vh.name(), "name", "type"});
    EXPECT_NE(r.output.find("marquee.fetch.jobs\tclassic"), std::string::npos) << r.output;
    amqp::publisher pub(options_for(vh), topology::declare);
    EXPECT_NO_THROW(pub.publish(topology::exchange, topology::jobs_routing_key, "still works"));
    // And it arrived in the existing queue.
    amqp::consumer c(options_for(vh), queue(topology::jobs_queue));
    auto d = receive(c);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->body, "still works");
    c.ack(d->delivery_tag);
}

TEST(amqp, publishes_with_confirms_and_consumes_with_acks) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    pub.publish(topology::exchange, topology::jobs_routing_key, R"({"n":1})", {.expiration = {}, .message_id = "m-1"});
    {
        amqp::consumer c(options_for(vh), queue(topology::jobs_queue));
        auto d = receive(c);
        ASSERT_TRUE(d);
        EXPECT_EQ(d->body, R"({"n":1})");
        EXPECT_EQ(d->message_id, "m-1");
        EXPECT_EQ(d->content_type, "application/json");
        EXPECT_TRUE(d->persistent);
        EXPECT_FALSE(d->redelivered);
        c.ack(d->delivery_tag);
    }
    // Counted by the broker, not by waiting for a silence: with its consumer gone, nothing is left.
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 0) << "acked messages are gone";
}

TEST(amqp, unacked_deliveries_return_to_the_queue_on_shutdown) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    for (int i = 0; i < 3; ++i) pub.publish(topology::exchange, topology::jobs_routing_key, std::to_string(i));
    {
        // With prefetch 2 the broker hands out two; neither is acked.
        amqp::consumer c(options_for(vh), queue(topology::jobs_queue, 2));
        ASSERT_TRUE(receive(c));
        ASSERT_TRUE(receive(c));
    }
    EXPECT_TRUE(mt::wait_until([&] { return mt::ready_messages(vh, topology::jobs_queue) == 3; }, 30s,
                               "the two unacknowledged deliveries back in the queue, none lost"));
    int redelivered = 0;
    std::set<std::string> bodies;
    {
        amqp::consumer c(options_for(vh), queue(topology::jobs_queue, 3));
        for (int i = 0; i < 3; ++i) {
            auto d = receive(c);
            ASSERT_TRUE(d) << "delivery " << i;
            bodies.insert(d->body);
            redelivered += d->redelivered ? 1 : 0;
            c.ack(d->delivery_tag);
        }
    }
    EXPECT_EQ(bodies, (std::set<std::string>{"0", "1", "2"}));
    EXPECT_EQ(redelivered, 2);
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 0) << "no fourth message";
}

TEST(amqp, rejected_jobs_are_dead_lettered) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    pub.publish(topology::exchange, topology::jobs_routing_key, "poison");
    {
        amqp::consumer c(options_for(vh), queue(topology::jobs_queue));
        auto d = receive(c);
        ASSERT_TRUE(d);
        c.reject(d->delivery_tag, false);
    }
    amqp::consumer dead(options_for(vh), queue(topology::dead_queue));
    auto d = receive(dead);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->body, "poison");
}

TEST(amqp, retry_queue_returns_a_job_after_its_expiration) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    // Two jobs wait out their backoff: one expires soon, one not within the test. Only the expired
    // one comes back to the jobs queue; the other is still waiting in the retry queue, so it is the
    // expiration that returns a job, not the routing. (Only the head of a queue expires, hence the
    // order.)
    pub.publish(topology::exchange, topology::retry_routing_key, "again", {.expiration = 300ms, .message_id = {}});
    pub.publish(topology::exchange, topology::retry_routing_key, "later", {.expiration = 1h, .message_id = {}});
    amqp::consumer c(options_for(vh), queue(topology::jobs_queue));
    auto d = receive(c, 30s);
    ASSERT_TRUE(d) << "the expired message was dead-lettered back to the jobs queue";
    EXPECT_EQ(d->body, "again");
    c.ack(d->delivery_tag);
    EXPECT_EQ(mt::ready_messages(vh, topology::retry_queue), 1) << "the unexpired job still waits";
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 0) << "nothing else came back";
}

TEST(amqp, unroutable_publish_fails) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    EXPECT_THROW(pub.publish(topology::exchange, "no-such-key", "lost"), marquee::queue_error);
    EXPECT_NO_THROW(pub.publish(topology::exchange, topology::jobs_routing_key, "fine"));
    // The publisher recovered: the next message arrived, and it alone.
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 1);
    amqp::consumer c(options_for(vh), queue(topology::jobs_queue));
    auto d = receive(c);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->body, "fine");
    c.ack(d->delivery_tag);
}

TEST(amqp, connection_errors_are_queue_errors_with_the_reason) {
    auto vh = mt::fresh_vhost();
    auto closed = options_for(vh);
    closed.server.port = mt::free_port();
    try {
        amqp::connection conn(closed);
        FAIL() << "connected to a closed port";
    } catch (const marquee::queue_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot connect to 127.0.0.1:"), std::string::npos) << e.what();
    }
    auto wrong = options_for(vh);
    wrong.server.password = "wrong";
    try {
        amqp::connection conn(wrong);
        FAIL() << "logged in with a wrong password";
    } catch (const marquee::queue_error& e) {
        EXPECT_NE(std::string(e.what()).find("403 ACCESS_REFUSED"), std::string::npos) << e.what();
    }
    auto no_vhost = options_for(vh);
    no_vhost.server.vhost = vh.name() + "-missing";
    try {
        amqp::connection conn(no_vhost);
        FAIL() << "opened a missing vhost";
    } catch (const marquee::queue_error& e) {
        EXPECT_NE(std::string(e.what()).find("530 NOT_ALLOWED"), std::string::npos) << e.what();
    }
}

TEST(amqp, consumer_reconnects_after_the_broker_drops_connections) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    amqp::reconnecting_consumer c(options_for(vh), queue(topology::jobs_queue), topology::declare);
    pub.publish(topology::exchange, topology::jobs_routing_key, "before");
    auto first = receive(c);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->body, "before");

    close_connections(vh);
    // The unacked delivery came from the lost connection: acking it is a no-op, the broker
    // requeued it and delivers it again.
    EXPECT_NO_THROW(c.ack(*first));
    pub.publish_with_retry(topology::exchange, topology::jobs_routing_key, "after", 30s);
    std::set<std::string> bodies;
    for (int i = 0; i < 2; ++i) {
        auto d = receive(c);
        ASSERT_TRUE(d);
        bodies.insert(d->body);
        if (d->body == "before") {
            EXPECT_TRUE(d->redelivered);
        }
        c.ack(*d);
    }
    EXPECT_EQ(bodies, (std::set<std::string>{"before", "after"}));
    EXPECT_TRUE(c.connected());
}

TEST(amqp, publisher_reconnects_after_the_broker_drops_connections) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    pub.publish(topology::exchange, topology::jobs_routing_key, "1");
    close_connections(vh);
    pub.keep_alive();
    pub.publish_with_retry(topology::exchange, topology::jobs_routing_key, "2", 30s);
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 2) << "both arrived, once each";
    amqp::consumer c(options_for(vh), queue(topology::jobs_queue));
    std::vector<std::string> bodies;
    for (int i = 0; i < 2; ++i) {
        auto d = receive(c);
        ASSERT_TRUE(d) << "delivery " << i;
        bodies.push_back(d->body);
        c.ack(d->delivery_tag);
    }
    EXPECT_EQ(bodies, (std::vector<std::string>{"1", "2"}));
}

std::vector<amqp::outgoing_message> numbered_messages(int count) {
    std::vector<amqp::outgoing_message> out;
    for (int i = 0; i < count; ++i)
        out.push_back({std::to_string(i), {.expiration = {}, .message_id = "m-" + std::to_string(i)}});
    return out;
}

TEST(amqp, publish_all_overlaps_confirms_in_a_bounded_window_and_confirms_each_message_once) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    const auto messages = numbered_messages(300);
    // A window far smaller than the batch: the window refills as confirms come back.
    auto failures = pub.publish_all(topology::exchange, topology::jobs_routing_key, messages, 16);
    ASSERT_EQ(failures.size(), messages.size());
    for (std::size_t i = 0; i < failures.size(); ++i) EXPECT_FALSE(failures[i]) << i << ": " << *failures[i];
    // The same connection goes on with consecutive delivery tags.
    failures = pub.publish_all(topology::exchange, topology::jobs_routing_key, numbered_messages(5));
    for (const auto& f : failures) EXPECT_FALSE(f) << *f;
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 305);
    amqp::consumer c(options_for(vh), queue(topology::jobs_queue, 100));
    std::multiset<std::string> bodies;
    for (int i = 0; i < 305; ++i) {
        auto d = receive(c);
        ASSERT_TRUE(d) << "delivery " << i;
        EXPECT_EQ(d->message_id, "m-" + d->body);
        EXPECT_TRUE(d->persistent);
        bodies.insert(d->body);
        c.ack(d->delivery_tag);
    }
    for (int i = 0; i < 300; ++i) EXPECT_EQ(bodies.count(std::to_string(i)), i < 5 ? 2u : 1u) << i;
}

TEST(amqp, publish_all_fails_returned_messages_and_the_next_batch_goes_through) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    auto failures = pub.publish_all(topology::exchange, "no-such-key", numbered_messages(20));
    ASSERT_EQ(failures.size(), 20u);
    for (const auto& f : failures) {
        ASSERT_TRUE(f) << "an unroutable message counted as published";
        EXPECT_NE(f->find("unroutable, returned by the broker: 312 NO_ROUTE"), std::string::npos) << *f;
    }
    failures = pub.publish_all(topology::exchange, topology::jobs_routing_key, numbered_messages(3));
    for (const auto& f : failures) EXPECT_FALSE(f) << *f;
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 3);
}

TEST(amqp, publish_all_fails_every_unconfirmed_message_when_the_broker_closes_the_channel) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    // Publishing to a missing exchange makes the broker close the channel (404) while the rest of
    // the batch is in flight or not yet sent.
    auto failures = pub.publish_all("no-such-exchange", topology::jobs_routing_key, numbered_messages(50), 10);
    ASSERT_EQ(failures.size(), 50u);
    for (const auto& f : failures) {
        ASSERT_TRUE(f);
        EXPECT_NE(f->find("404 NOT_FOUND"), std::string::npos) << *f;
    }
    EXPECT_FALSE(pub.connected()) << "the connection with a failed batch is dropped";
    failures = pub.publish_all(topology::exchange, topology::jobs_routing_key, numbered_messages(4));
    for (const auto& f : failures) EXPECT_FALSE(f) << *f;
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 4);
}

TEST(amqp, publish_all_with_retry_reconnects_after_the_broker_drops_connections) {
    auto vh = mt::fresh_vhost();
    amqp::publisher pub(options_for(vh), topology::declare);
    auto failures = pub.publish_all(topology::exchange, topology::jobs_routing_key, numbered_messages(2));
    for (const auto& f : failures) EXPECT_FALSE(f) << *f;
    close_connections(vh);
    failures = pub.publish_all_with_retry(topology::exchange, topology::jobs_routing_key, numbered_messages(10), 30s);
    ASSERT_EQ(failures.size(), 10u);
    for (const auto& f : failures) EXPECT_FALSE(f) << *f;
    EXPECT_EQ(mt::ready_messages(vh, topology::jobs_queue), 12) << "each message of the batch arrived once";
}

}  // namespace
