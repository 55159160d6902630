#include "scheduler_loop.hpp"

#include "marquee/error.hpp"

#include <gtest/gtest.h>

#include <date/date.h>

#include <functional>
#include <optional>
#include <set>
#include <span>
#include <sstream>

namespace {

using namespace std::chrono_literals;
using marquee::scheduler::clock;
using marquee::scheduler::loop_options;
using marquee::scheduler::scheduler_loop;
using std::chrono::sys_seconds;

clock::time_point at(const std::string& text) {
    std::istringstream in(text);
    sys_seconds t;
    in >> date::parse("%Y-%m-%d %H:%M:%S", t);
    if (in.fail()) throw std::invalid_argument(text);
    return t;
}

std::string show(clock::time_point t) {
    return date::format("%Y-%m-%d %H:%M:%S", std::chrono::floor<std::chrono::seconds>(t));
}

// Time moves only when told to; sleeping jumps straight to the deadline.
class manual_clock final : public clock {
public:
    explicit manual_clock(clock::time_point start) : now_(start) {}
    time_point now() override { return now_; }
    void sleep_until(time_point deadline, std::stop_token) override { now_ = std::max(now_, deadline); }
    void set(time_point t) { now_ = t; }
    void advance(std::chrono::milliseconds d) { now_ += d; }

private:
    time_point now_;
};

marquee::domain::provider make_provider(std::string name, std::string schedule, bool enabled = true) {
    marquee::domain::provider p;
    p.name = std::move(name);
    p.url = "http://127.0.0.1:1/feed";
    p.schedule = std::move(schedule);
    p.enabled = enabled;
    return p;
}

using marquee::domain::provider_slot;

// One table of providers and one of claims, shared by every loop in a test (like PostgreSQL).
class fake_store final : public marquee::scheduler::slot_store {
public:
    std::vector<marquee::domain::provider> providers;
    std::set<provider_slot> claimed;
    std::set<provider_slot> published;
    std::set<provider_slot> stale;  // claims whose lease ran out: a claim takes them over
    bool down = false;
    bool marking_fails = false;
    int reloads = 0;
    int claim_calls = 0;
    int mark_calls = 0;
    int release_calls = 0;

    std::vector<marquee::domain::provider> enabled_providers() override {
        if (down) throw marquee::storage_error("connection refused");
        ++reloads;
        std::vector<marquee::domain::provider> out;
        for (const auto& p : providers)
            if (p.enabled) out.push_back(p);
        return out;
    }
    marquee::domain::slot_claims claim_all(std::span<const provider_slot> slots) override {
        if (down) throw marquee::storage_error("connection refused");
        ++claim_calls;
        marquee::domain::slot_claims out;
        for (const auto& s : slots) {
            if (claimed.insert(s).second || (!published.contains(s) && stale.erase(s) > 0))
                out.won.push_back(s);
            else if (!published.contains(s))
                out.held_elsewhere.push_back(s);
        }
        return out;
    }
    void mark_all_published(std::span<const provider_slot> slots) override {
        if (down || marking_fails) throw marquee::storage_error("connection refused");
        ++mark_calls;
        published.insert(slots.begin(), slots.end());
    }
    void release_all(std::span<const provider_slot> slots) override {
        if (down) throw marquee::storage_error("connection refused");
        ++release_calls;
        for (const auto& s : slots)
            if (!published.contains(s)) claimed.erase(s);
    }
};

// Publishes or fails each job: the next `failures_left` jobs fail, so do those of the providers in
// `failing`, and every job while `down` (like RabbitMQ unreachable). Remembers each call's size.
class fake_sink final : public marquee::scheduler::job_sink {
public:
    std::vector<marquee::jobs::fetch_job> jobs;
    std::vector<std::size_t> batches;
    int failures_left = 0;
    std::set<std::string> failing;
    bool down = false;
    std::function<void()> on_publish;  // runs after each call

    std::vector<std::optional<std::string>> publish_all(std::span<const marquee::jobs::fetch_job> batch,
                                                        std::stop_token) override {
        batches.push_back(batch.size());
        std::vector<std::optional<std::string>> out;
        for (const auto& job : batch) {
            if (down) {
                out.emplace_back("connection refused");
            } else if (failures_left > 0) {
                --failures_left;
                out.emplace_back("not confirmed");
            } else if (failing.contains(job.provider)) {
                out.emplace_back("basic.nack");
            } else {
                jobs.push_back(job);
                out.emplace_back();
            }
        }
        if (on_publish) on_publish();
        return out;
    }
    std::vector<std::string> slots() const {
        std::vector<std::string> out;
        for (const auto& j : jobs) out.push_back(j.provider + "@" + show(j.scheduled_for));
        return out;
    }
};

sys_seconds second(const std::string& text) {
    return std::chrono::floor<std::chrono::seconds>(at(text));
}

using strings = std::vector<std::string>;

TEST(scheduler_loop, fires_the_current_slot_at_start) {
    fake_store store;
    store.providers = {make_provider("acme", "*/5 * * * *")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:07:30"));
    scheduler_loop loop(store, sink, clk);
    auto wake = loop.tick();
    EXPECT_EQ(sink.slots(), strings{"acme@2024-03-10 12:05:00"});
    EXPECT_EQ(show(wake), "2024-03-10 12:07:35");  // the next reload comes before 12:10
    EXPECT_EQ(show(loop.next_slots().at("acme")), "2024-03-10 12:10:00");
    EXPECT_TRUE(store.published.contains({"acme", second("2024-03-10 12:05:00")}));
}

TEST(scheduler_loop, does_not_refire_a_claimed_current_slot_on_restart) {
    fake_store store;
    store.providers = {make_provider("acme", "*/5 * * * *")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:07:30"));
    {
        scheduler_loop first(store, sink, clk);
        first.tick();
    }
    clk.set(at("2024-03-10 12:08:00"));
    scheduler_loop restarted(store, sink, clk);
    restarted.tick();
    EXPECT_EQ(sink.slots(), strings{"acme@2024-03-10 12:05:00"});
}

TEST(scheduler_loop, runs_every_slot_in_order_without_real_sleeping) {
    fake_store store;
    store.providers = {make_provider("fast", "@every 10s"), make_provider("slow", "* * * * *")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:00"));
    scheduler_loop loop(store, sink, clk);
    std::stop_source stop;
    while (clk.now() < at("2024-03-10 12:01:00")) clk.sleep_until(loop.tick(stop.get_token()), stop.get_token());
    loop.tick();
    EXPECT_EQ(sink.slots(),
              (strings{"fast@2024-03-10 12:00:00", "slow@2024-03-10 12:00:00", "fast@2024-03-10 12:00:10",
                       "fast@2024-03-10 12:00:20", "fast@2024-03-10 12:00:30", "fast@2024-03-10 12:00:40",
                       "fast@2024-03-10 12:00:50", "fast@2024-03-10 12:01:00", "slow@2024-03-10 12:01:00"}));
}

TEST(scheduler_loop, two_replicas_publish_each_slot_once) {
    fake_store store;
    store.providers = {make_provider("acme", "@every 2s")};
    fake_sink sink_a;
    fake_sink sink_b;
    manual_clock clk(at("2024-03-10 12:00:01"));
    scheduler_loop a(store, sink_a, clk);
    scheduler_loop b(store, sink_b, clk);
    for (int i = 0; i < 120; ++i) {
        // Alternate who looks first (slots come every 4 turns); both see every slot.
        if (i % 8 < 4) {
            a.tick();
            b.tick();
        } else {
            b.tick();
            a.tick();
        }
        clk.advance(500ms);
    }
    std::set<std::string> distinct;
    for (const auto& s : sink_a.slots()) distinct.insert(s);
    for (const auto& s : sink_b.slots()) distinct.insert(s);
    EXPECT_EQ(sink_a.jobs.size() + sink_b.jobs.size(), distinct.size());
    EXPECT_EQ(distinct.size(), 31u);  // 12:00:00 .. 12:01:00 every 2 s
    EXPECT_GT(sink_a.jobs.size(), 0u);
    EXPECT_GT(sink_b.jobs.size(), 0u);
}

TEST(scheduler_loop, fires_only_the_current_slot_after_a_stall) {
    fake_store store;
    store.providers = {make_provider("acme", "* * * * *")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:10"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    clk.set(at("2024-03-10 12:10:30"));  // e.g. the process was suspended
    loop.tick();
    EXPECT_EQ(sink.slots(), (strings{"acme@2024-03-10 12:00:00", "acme@2024-03-10 12:10:00"}));
    EXPECT_EQ(show(loop.next_slots().at("acme")), "2024-03-10 12:11:00");
}

TEST(scheduler_loop, retries_a_failed_publish_and_releases_the_claim) {
    fake_store store;
    store.providers = {make_provider("acme", "* * * * *")};
    fake_sink sink;
    sink.failures_left = 2;
    manual_clock clk(at("2024-03-10 12:00:10"));
    scheduler_loop loop(store, sink, clk, loop_options{5s, 500ms, 10s});
    auto wake = loop.tick();
    EXPECT_TRUE(sink.jobs.empty());
    EXPECT_TRUE(store.claimed.empty()) << "a failed publish gives its claim back";
    EXPECT_EQ(wake, at("2024-03-10 12:00:10") + 500ms);
    clk.set(wake);
    wake = loop.tick();
    EXPECT_EQ(wake, at("2024-03-10 12:00:10") + 500ms + 1s);  // backoff doubled
    clk.set(wake);
    loop.tick();
    EXPECT_EQ(sink.slots(), strings{"acme@2024-03-10 12:00:00"});
    EXPECT_EQ(store.claimed.size(), 1u);
}

TEST(scheduler_loop, gives_up_a_failed_slot_once_the_next_one_is_due) {
    fake_store store;
    store.providers = {make_provider("acme", "* * * * *")};
    fake_sink sink;
    sink.failures_left = 1000;
    manual_clock clk(at("2024-03-10 12:00:50"));
    scheduler_loop loop(store, sink, clk);
    while (clk.now() < at("2024-03-10 12:01:05")) clk.set(loop.tick());
    sink.failures_left = 0;
    clk.set(loop.tick());  // the retry may still be backing off
    loop.tick();
    EXPECT_EQ(sink.slots(), strings{"acme@2024-03-10 12:01:00"});
}

TEST(scheduler_loop, keeps_scheduling_while_the_database_is_down) {
    fake_store store;
    store.providers = {make_provider("acme", "@every 10s")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:00"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    store.down = true;
    clk.set(at("2024-03-10 12:00:10"));
    loop.tick();  // reload and claim fail: the slot is retried
    store.down = false;
    clk.set(at("2024-03-10 12:00:11"));
    loop.tick();
    EXPECT_EQ(sink.slots(), (strings{"acme@2024-03-10 12:00:00", "acme@2024-03-10 12:00:10"}));
}

TEST(scheduler_loop, applies_provider_changes_on_reload) {
    fake_store store;
    store.providers = {make_provider("acme", "0 * * * *")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:30:00"));
    scheduler_loop loop(store, sink, clk, loop_options{5s, 500ms, 10s});
    loop.tick();
    EXPECT_EQ(sink.slots(), strings{"acme@2024-03-10 12:00:00"});

    store.providers.push_back(make_provider("beta", "*/10 * * * *"));
    store.providers[0].schedule = "*/15 * * * *";
    clk.advance(5s);
    loop.tick();
    EXPECT_EQ(sink.slots(),
              (strings{"acme@2024-03-10 12:00:00", "acme@2024-03-10 12:30:00", "beta@2024-03-10 12:30:00"}));

    store.providers[0].enabled = false;
    clk.advance(5s);
    loop.tick();
    EXPECT_FALSE(loop.next_slots().contains("acme"));
    clk.set(at("2024-03-10 12:45:00"));
    loop.tick();
    EXPECT_EQ(sink.slots().back(), "beta@2024-03-10 12:40:00");
    EXPECT_EQ(sink.jobs.size(), 4u);
}

TEST(scheduler_loop, skips_a_provider_with_an_invalid_schedule) {
    fake_store store;
    store.providers = {make_provider("bad", "61 * * * *"), make_provider("good", "* * * * *")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:30:00"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    EXPECT_EQ(sink.slots(), strings{"good@2024-03-10 12:30:00"});
    EXPECT_FALSE(loop.next_slots().contains("bad"));
}

TEST(scheduler_loop, jobs_carry_fresh_ids_and_the_slot) {
    fake_store store;
    store.providers = {make_provider("acme", "@every 1s")};
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:30:00"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    clk.advance(1s);
    loop.tick();
    ASSERT_EQ(sink.jobs.size(), 2u);
    EXPECT_NE(sink.jobs[0].job_id, sink.jobs[1].job_id);
    EXPECT_EQ(sink.jobs[1].scheduled_for, std::chrono::floor<std::chrono::seconds>(at("2024-03-10 12:30:01")));
    EXPECT_EQ(sink.jobs[1].attempt, 1);
}

TEST(scheduler_loop, run_returns_when_stopped) {
    fake_store store;
    store.providers = {make_provider("acme", "@every 1s")};
    fake_sink sink;
    std::stop_source stop;
    class stopping_clock final : public clock {
    public:
        stopping_clock(std::stop_source& s, fake_sink& k) : stop_(s), sink_(k) {}
        time_point now() override { return now_; }
        void sleep_until(time_point deadline, std::stop_token) override {
            now_ = std::max(now_, deadline);
            if (sink_.jobs.size() >= 5) stop_.request_stop();
        }

    private:
        std::stop_source& stop_;
        fake_sink& sink_;
        time_point now_ = at("2024-03-10 12:30:00");
    } clk(stop, sink);
    scheduler_loop loop(store, sink, clk);
    loop.run(stop.get_token());
    EXPECT_EQ(sink.jobs.size(), 5u);
}

marquee::domain::provider every_minute(std::string name) {
    return make_provider(std::move(name), "* * * * *");
}

TEST(scheduler_loop, fires_the_due_slots_as_one_batch_and_skips_those_taken_elsewhere) {
    fake_store store;
    for (const char* name : {"a", "b", "c", "d", "e"}) store.providers.push_back(every_minute(name));
    const auto slot = second("2024-03-10 12:00:00");
    store.claimed = {{"b", slot}, {"d", slot}};  // another replica published these
    store.published = store.claimed;
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:00"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    EXPECT_EQ(store.claim_calls, 1) << "one claim for the whole batch";
    EXPECT_EQ(sink.batches, std::vector<std::size_t>{3}) << "one publish call for the slots won";
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "c@2024-03-10 12:00:00", "e@2024-03-10 12:00:00"}));
    EXPECT_EQ(store.mark_calls, 1) << "one mark for the slots published";
    EXPECT_EQ(store.published,
              (std::set<provider_slot>{{"a", slot}, {"b", slot}, {"c", slot}, {"d", slot}, {"e", slot}}));
    EXPECT_EQ(store.release_calls, 0);
    EXPECT_EQ(loop.stats().slots_taken_elsewhere, 2u);
    EXPECT_EQ(loop.stats().jobs_published, 3u);
    EXPECT_EQ(loop.stats().publish_failures, 0u);
    ASSERT_EQ(loop.next_slots().size(), 5u);
    for (const auto& [name, next] : loop.next_slots()) EXPECT_EQ(show(next), "2024-03-10 12:01:00") << name;
}

// A slot another scheduler claimed but never published (it died in between) is not taken for
// done: it is looked at again with backoff, and published here once the claim's lease runs out.
TEST(scheduler_loop, a_slot_claimed_elsewhere_but_never_published_is_taken_over_not_lost) {
    fake_store store;
    store.providers = {every_minute("a"), every_minute("b")};
    const auto slot = second("2024-03-10 12:00:00");
    store.claimed = {{"b", slot}};  // claimed by a scheduler that then died
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:00"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    EXPECT_EQ(sink.slots(), strings{"a@2024-03-10 12:00:00"});
    EXPECT_EQ(show(loop.next_slots().at("b")), "2024-03-10 12:00:00") << "not done: looked at again";
    EXPECT_EQ(loop.stats().slots_taken_elsewhere, 0u);

    clk.set(at("2024-03-10 12:00:05"));
    loop.tick();  // still held: nothing published, still pending
    EXPECT_EQ(sink.slots().size(), 1u);
    store.stale.insert({"b", slot});  // the lease ran out
    clk.set(at("2024-03-10 12:00:40"));
    loop.tick();
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "b@2024-03-10 12:00:00"}));
    EXPECT_TRUE(store.published.contains({"b", slot}));
    EXPECT_EQ(show(loop.next_slots().at("b")), "2024-03-10 12:01:00");
}

TEST(scheduler_loop, failed_publishes_in_a_batch_are_released_and_retried_with_backoff_while_the_rest_are_marked) {
    fake_store store;
    for (const char* name : {"a", "b", "c", "d"}) store.providers.push_back(every_minute(name));
    const auto slot = second("2024-03-10 12:00:00");
    fake_sink sink;
    sink.failing = {"b", "d"};
    const auto start = at("2024-03-10 12:00:10");
    manual_clock clk(start);
    scheduler_loop loop(store, sink, clk, loop_options{5s, 500ms, 10s});
    auto wake = loop.tick();
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "c@2024-03-10 12:00:00"}));
    EXPECT_EQ(store.published, (std::set<provider_slot>{{"a", slot}, {"c", slot}}));
    EXPECT_EQ(store.claimed, (std::set<provider_slot>{{"a", slot}, {"c", slot}})) << "the failed slots were released";
    EXPECT_EQ(store.release_calls, 1);
    EXPECT_EQ(loop.stats().publish_failures, 2u);
    EXPECT_EQ(loop.stats().jobs_published, 2u);
    EXPECT_EQ(wake, start + 500ms);
    auto next = loop.next_slots();
    EXPECT_EQ(show(next.at("a")), "2024-03-10 12:01:00");
    EXPECT_EQ(show(next.at("b")), "2024-03-10 12:00:00");
    EXPECT_EQ(show(next.at("c")), "2024-03-10 12:01:00");
    EXPECT_EQ(show(next.at("d")), "2024-03-10 12:00:00");

    clk.set(wake);
    wake = loop.tick();  // b and d fail again: the backoff doubles
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{4, 2})) << "only the failed slots are retried";
    EXPECT_EQ(wake, start + 500ms + 1s);

    sink.failing.clear();
    clk.set(wake);
    loop.tick();
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{4, 2, 2}));
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "c@2024-03-10 12:00:00", "b@2024-03-10 12:00:00",
                                     "d@2024-03-10 12:00:00"}));
    EXPECT_EQ(store.published, (std::set<provider_slot>{{"a", slot}, {"b", slot}, {"c", slot}, {"d", slot}}));
    EXPECT_EQ(loop.stats().publish_failures, 4u);
    EXPECT_EQ(loop.stats().jobs_published, 4u);
    for (const auto& [name, n] : loop.next_slots()) EXPECT_EQ(show(n), "2024-03-10 12:01:00") << name;
}

TEST(scheduler_loop, a_whole_batch_publish_failure_releases_every_claim_and_retries_them_together) {
    fake_store store;
    for (const char* name : {"a", "b", "c"}) store.providers.push_back(every_minute(name));
    fake_sink sink;
    sink.down = true;
    const auto start = at("2024-03-10 12:00:10");
    manual_clock clk(start);
    scheduler_loop loop(store, sink, clk, loop_options{5s, 500ms, 10s});
    auto wake = loop.tick();
    EXPECT_TRUE(sink.jobs.empty());
    EXPECT_TRUE(store.claimed.empty()) << "every claim given back";
    EXPECT_TRUE(store.published.empty());
    EXPECT_EQ(store.mark_calls, 0);
    EXPECT_EQ(store.release_calls, 1) << "one release for the whole batch";
    EXPECT_EQ(loop.stats().publish_failures, 3u);
    EXPECT_EQ(loop.stats().jobs_published, 0u);
    EXPECT_EQ(loop.stats().last_publish_unix, 0);
    EXPECT_EQ(wake, start + 500ms);

    sink.down = false;
    clk.set(wake);
    loop.tick();
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{3, 3}));
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "b@2024-03-10 12:00:00", "c@2024-03-10 12:00:00"}));
    EXPECT_EQ(store.published.size(), 3u);
    EXPECT_EQ(loop.stats().jobs_published, 3u);
}

TEST(scheduler_loop, a_failed_claim_retries_the_whole_batch_with_backoff) {
    fake_store store;
    for (const char* name : {"a", "b", "c"}) store.providers.push_back(every_minute(name));
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:00"));
    scheduler_loop loop(store, sink, clk, loop_options{5s, 500ms, 10s});
    loop.tick();
    ASSERT_EQ(sink.jobs.size(), 3u);
    store.down = true;
    clk.set(at("2024-03-10 12:01:00"));
    auto wake = loop.tick();  // the reload and the batch's claim fail
    EXPECT_EQ(sink.batches, std::vector<std::size_t>{3}) << "nothing published without a claim";
    EXPECT_EQ(loop.stats().storage_failures, 4u) << "the reload and each slot's claim";
    EXPECT_EQ(wake, at("2024-03-10 12:01:00") + 500ms);
    store.down = false;
    clk.set(wake);
    loop.tick();
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{3, 3}));
    EXPECT_EQ(store.published.size(), 6u);
}

TEST(scheduler_loop, a_batch_published_but_not_recorded_is_not_published_again) {
    fake_store store;
    for (const char* name : {"a", "b"}) store.providers.push_back(every_minute(name));
    store.marking_fails = true;
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:10"));
    scheduler_loop loop(store, sink, clk);
    loop.tick();
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "b@2024-03-10 12:00:00"}));
    EXPECT_TRUE(store.published.empty());
    EXPECT_EQ(store.claimed.size(), 2u) << "the claims stay";
    EXPECT_EQ(store.release_calls, 0);
    EXPECT_EQ(loop.stats().jobs_published, 2u);
    for (const auto& [name, next] : loop.next_slots()) EXPECT_EQ(show(next), "2024-03-10 12:01:00") << name;

    store.marking_fails = false;
    clk.advance(1s);
    loop.tick();
    scheduler_loop restarted(store, sink, clk);
    restarted.tick();
    EXPECT_EQ(sink.jobs.size(), 2u);
}

TEST(scheduler_loop, due_slots_go_in_batches_of_at_most_max_batch) {
    fake_store store;
    for (const char* name : {"a", "b", "c", "d", "e"}) store.providers.push_back(every_minute(name));
    fake_sink sink;
    manual_clock clk(at("2024-03-10 12:00:10"));
    loop_options options;
    options.max_batch = 2;
    scheduler_loop loop(store, sink, clk, options);
    loop.tick();
    EXPECT_EQ(sink.batches, (std::vector<std::size_t>{2, 2, 1}));
    EXPECT_EQ(store.claim_calls, 3);
    EXPECT_EQ(store.mark_calls, 3);
    EXPECT_EQ(store.published.size(), 5u);
}

TEST(scheduler_loop, a_stop_request_ends_the_tick_between_batches) {
    fake_store store;
    for (const char* name : {"a", "b", "c"}) store.providers.push_back(every_minute(name));
    fake_sink sink;
    std::stop_source stop;
    sink.on_publish = [&] { stop.request_stop(); };
    manual_clock clk(at("2024-03-10 12:00:10"));
    loop_options options;
    options.max_batch = 1;
    scheduler_loop loop(store, sink, clk, options);
    loop.tick(stop.get_token());
    EXPECT_EQ(sink.slots(), strings{"a@2024-03-10 12:00:00"});
    EXPECT_EQ(store.claimed.size(), 1u) << "the later batches were not claimed";
    auto next = loop.next_slots();
    EXPECT_EQ(show(next.at("a")), "2024-03-10 12:01:00");
    EXPECT_EQ(show(next.at("b")), "2024-03-10 12:00:00");
    EXPECT_EQ(show(next.at("c")), "2024-03-10 12:00:00");

    sink.on_publish = nullptr;
    loop.tick();
    EXPECT_EQ(sink.slots(), (strings{"a@2024-03-10 12:00:00", "b@2024-03-10 12:00:00", "c@2024-03-10 12:00:00"}));
}

}  // namespace
