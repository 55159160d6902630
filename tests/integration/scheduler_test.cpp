// marquee-scheduler end to end: real PostgreSQL and RabbitMQ, the real binary.
#include "harness/harness.hpp"
#include "marquee/amqp/consumer.hpp"
#include "marquee/amqp/topology.hpp"
#include "marquee/config/config.hpp"
#include "marquee/jobs/fetch_job.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> scheduler_env(const mt::database& db, const mt::vhost& vh) {
    return {{"DATABASE_URL", db.url()}, {"AMQP_URL", vh.url()}, {"LOG_LEVEL", "info"}};
}

marquee::amqp::connection_options amqp_options(const mt::vhost& vh) {
    marquee::amqp::connection_options o;
    o.server = marquee::config::parse_amqp_url(vh.url());
    return o;
}

// Runs the scheduler to completion; returns its exit code (-1 on timeout) and its output.
std::pair<int, std::string> run_scheduler(std::vector<std::string> args, std::map<std::string, std::string> env) {
    mt::process p("marquee-scheduler", std::move(args), std::move(env));
    auto code = p.wait_exit(60s);
    return {code.value_or(-1), p.log_text()};
}

long count(const std::string& db_url, const std::string& sql) {
    return std::stol(mt::query_scalar(db_url, sql).value_or("0"));
}

// Every job waiting in the jobs queue (acked, so the queue is empty afterwards).
std::vector<marquee::amqp::delivery> drain(const mt::vhost& vh) {
    marquee::amqp::consumer consumer(amqp_options(vh),
                                     {.queue = std::string(marquee::amqp::topology::jobs_queue), .prefetch = 50},
                                     marquee::amqp::topology::declare);
    std::vector<marquee::amqp::delivery> out;
    while (auto d = consumer.next(1s)) {
        consumer.ack(d->delivery_tag);
        out.push_back(std::move(*d));
    }
    return out;
}

TEST(scheduler, once_publishes_a_persistent_job_that_waits_for_a_worker) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto env = scheduler_env(db, vh);
    env["PROVIDER_URL"] = "http://127.0.0.1:9/feed.xml";
    env["PROVIDER_TIMEZONE"] = "Europe/Madrid";
    auto before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto [code, output] = run_scheduler({"--once"}, env);
    ASSERT_EQ(code, 0) << output;
    auto after = std::chrono::system_clock::now();

    EXPECT_EQ(mt::query_scalar(
                  db.url(), "SELECT url || ' ' || time_zone || ' ' || schedule FROM providers WHERE name = 'default'"),
              "http://127.0.0.1:9/feed.xml Europe/Madrid * * * * *");

    // No consumer existed while it published: the job waited in the durable queue.
    auto jobs = drain(vh);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_TRUE(jobs[0].persistent);
    EXPECT_EQ(jobs[0].content_type, "application/json");
    EXPECT_FALSE(jobs[0].redelivered);
    auto parsed = marquee::jobs::parse_fetch_job(jobs[0].body);
    ASSERT_TRUE(std::holds_alternative<marquee::jobs::fetch_job>(parsed)) << jobs[0].body;
    const auto& job = std::get<marquee::jobs::fetch_job>(parsed);
    EXPECT_EQ(job.provider, "default");
    EXPECT_EQ(job.attempt, 1);
    EXPECT_EQ(jobs[0].message_id, job.job_id);
    EXPECT_GE(job.scheduled_for, before);
    EXPECT_LE(job.scheduled_for, after);
    EXPECT_EQ(jobs[0].body, marquee::jobs::to_json(job));  // seconds precision, Z
    EXPECT_EQ(count(db.url(), "SELECT count(*) FROM schedule_slots WHERE published_at IS NOT NULL"), 1);
}

TEST(scheduler, once_publishes_one_job_per_enabled_provider) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto env = scheduler_env(db, vh);
    for (const char* name : {"alpha", "beta", "gamma"})
        ASSERT_EQ(run_scheduler({"provider", "add", "--name", name, "--url", "http://127.0.0.1:9/f"}, env).first, 0);
    ASSERT_EQ(run_scheduler({"provider", "disable", "beta"}, env).first, 0);
    ASSERT_EQ(run_scheduler({"--once"}, env).first, 0);
    std::set<std::string> providers;
    for (const auto& d : drain(vh)) {
        auto parsed = marquee::jobs::parse_fetch_job(d.body);
        ASSERT_TRUE(std::holds_alternative<marquee::jobs::fetch_job>(parsed)) << d.body;
        providers.insert(std::get<marquee::jobs::fetch_job>(parsed).provider);
    }
    EXPECT_EQ(providers, (std::set<std::string>{"alpha", "gamma"}));
}

TEST(scheduler, two_daemons_publish_each_slot_once) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto env = scheduler_env(db, vh);
    ASSERT_EQ(
        run_scheduler({"provider", "add", "--name", "acme", "--url", "http://127.0.0.1:9/f", "--schedule", "@every 2s"},
                      env)
            .first,
        0);
    const std::string published_sql = "SELECT count(*) FROM schedule_slots WHERE published_at IS NOT NULL";
    {
        mt::process a("marquee-scheduler", {}, env);
        mt::process b("marquee-scheduler", {}, env);
        ASSERT_TRUE(mt::wait_until([&] { return count(db.url(), published_sql) >= 5; }, 60s, "five slots published"));
        a.terminate();
        b.terminate();
        EXPECT_EQ(a.wait_exit(30s), 0) << a.log_text();
        EXPECT_EQ(b.wait_exit(30s), 0) << b.log_text();
    }
    auto jobs = drain(vh);
    std::set<std::chrono::sys_seconds> slots;
    for (const auto& d : jobs) {
        auto parsed = marquee::jobs::parse_fetch_job(d.body);
        ASSERT_TRUE(std::holds_alternative<marquee::jobs::fetch_job>(parsed)) << d.body;
        const auto& job = std::get<marquee::jobs::fetch_job>(parsed);
        EXPECT_EQ(job.scheduled_for.time_since_epoch().count() % 2, 0) << "slots are aligned to the epoch";
        slots.insert(job.scheduled_for);
    }
    EXPECT_EQ(jobs.size(), slots.size()) << "a slot was published twice";
    EXPECT_EQ(static_cast<long>(jobs.size()), count(db.url(), published_sql));
    EXPECT_EQ(count(db.url(), "SELECT count(*) FROM schedule_slots WHERE published_at IS NULL"), 0);
}

TEST(scheduler, daemon_picks_up_a_provider_added_while_running) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto env = scheduler_env(db, vh);
    mt::process daemon("marquee-scheduler", {}, env);
    ASSERT_EQ(
        run_scheduler({"provider", "add", "--name", "late", "--url", "http://127.0.0.1:9/f", "--schedule", "@every 1s"},
                      env)
            .first,
        0);
    ASSERT_TRUE(mt::wait_until(
        [&] {
            return count(db.url(),
                         "SELECT count(*) FROM schedule_slots WHERE provider = 'late' AND published_at IS NOT NULL") >=
                   2;
        },
        60s, "the new provider's slots published"));
    ASSERT_EQ(run_scheduler({"provider", "disable", "late"}, env).first, 0);
    ASSERT_TRUE(mt::wait_until(
        [&] { return daemon.log_text().find("provider late: no longer scheduled") != std::string::npos; }, 60s,
        "the disabled provider unscheduled"));
    daemon.terminate();
    EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
}

TEST(scheduler, daemon_survives_dropped_connections) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto env = scheduler_env(db, vh);
    ASSERT_EQ(
        run_scheduler({"provider", "add", "--name", "acme", "--url", "http://127.0.0.1:9/f", "--schedule", "@every 1s"},
                      env)
            .first,
        0);
    // libpqxx 6.4 leaks the PGresult of a statement that fails on a lost connection (inside
    // transaction_base::direct_exec; LeakSanitizer's fast unwinder stops in the unsymbolised
    // library, hence the module name). Not ours to fix: ignored here, in this test only.
    auto suppressions = mt::log_dir() / "scheduler_lsan.supp";
    std::ofstream(suppressions) << "leak:libpqxx-6.4.so\n";
    env["LSAN_OPTIONS"] = "suppressions=" + suppressions.string();
    const std::string published_sql = "SELECT count(*) FROM schedule_slots WHERE published_at IS NOT NULL";
    mt::process daemon("marquee-scheduler", {}, env);
    ASSERT_TRUE(mt::wait_until([&] { return count(db.url(), published_sql) >= 2; }, 60s, "slots published"));

    // RabbitMQ drops every connection of the vhost; PostgreSQL kills the scheduler's session.
    auto closed = mt::rabbitmqctl({"close_all_connections", "--vhost", vh.name(), "test: simulated outage"});
    ASSERT_EQ(closed.exit_code, 0) << closed.output;
    mt::execute(db.url(),
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'marquee-scheduler' AND datname = current_database()");
    auto before = count(db.url(), published_sql);
    ASSERT_TRUE(mt::wait_until([&] { return count(db.url(), published_sql) >= before + 3; }, 60s,
                               "slots published after the outage"));
    daemon.terminate();
    EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();

    auto jobs = drain(vh);
    std::set<std::chrono::sys_seconds> slots;
    for (const auto& d : jobs) {
        auto parsed = marquee::jobs::parse_fetch_job(d.body);
        ASSERT_TRUE(std::holds_alternative<marquee::jobs::fetch_job>(parsed)) << d.body;
        slots.insert(std::get<marquee::jobs::fetch_job>(parsed).scheduled_for);
    }
    EXPECT_EQ(jobs.size(), slots.size()) << "a slot was published twice";
    EXPECT_EQ(static_cast<long>(jobs.size()), count(db.url(), published_sql));
}

TEST(scheduler, provider_subcommands_round_trip) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    auto env = scheduler_env(db, vh);
    auto run = [&](std::vector<std::string> args) { return run_scheduler(std::move(args), env); };

    ASSERT_EQ(run({"provider", "add", "--name", "acme", "--url", "https://feeds.example.com/acme.xml", "--schedule",
                   "*/5 * * * *", "--time-zone", "America/New_York", "--fetch-timeout-ms", "30000", "--max-feed-bytes",
                   "1048576"})
                  .first,
              0);
    EXPECT_EQ(
        mt::query_scalar(db.url(),
                         "SELECT concat_ws(' ', url, schedule, time_zone, enabled, fetch_timeout_ms, max_feed_bytes) "
                         "FROM providers WHERE name = 'acme'"),
        "https://feeds.example.com/acme.xml */5 * * * * America/New_York t 30000 1048576");

    auto [dup_code, dup_output] = run({"provider", "add", "--name", "acme", "--url", "http://127.0.0.1:9/f"});
    EXPECT_EQ(dup_code, 2) << dup_output;

    ASSERT_EQ(run({"provider", "update", "--name", "acme", "--schedule", "@hourly"}).first, 0);
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT schedule || ' ' || url FROM providers WHERE name = 'acme'"),
              "@hourly https://feeds.example.com/acme.xml");

    ASSERT_EQ(run({"provider", "disable", "--name", "acme"}).first, 0);
    auto [list_code, listing] = run({"provider", "list"});
    ASSERT_EQ(list_code, 0);
    EXPECT_NE(listing.find("NAME"), std::string::npos) << listing;
    EXPECT_NE(listing.find("acme"), std::string::npos) << listing;
    EXPECT_NE(listing.find(" no "), std::string::npos) << listing;
    EXPECT_NE(listing.find("@hourly"), std::string::npos) << listing;

    ASSERT_EQ(run({"provider", "enable", "acme"}).first, 0);
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT enabled::text FROM providers WHERE name = 'acme'"), "true");

    ASSERT_EQ(run({"provider", "remove", "acme"}).first, 0);
    EXPECT_EQ(count(db.url(), "SELECT count(*) FROM providers"), 0);
    EXPECT_EQ(run({"provider", "remove", "acme"}).first, 2);
}

TEST(scheduler, bad_settings_exit_2_with_one_line) {
    auto db = mt::fresh_database();
    auto vh = mt::fresh_vhost();
    struct bad_case {
        std::vector<std::string> args;
        std::map<std::string, std::string> env;
        std::string setting;
    };
    auto env = scheduler_env(db, vh);
    auto with = [&](std::string key, std::string value) {
        auto e = env;
        e[key] = std::move(value);
        return e;
    };
    auto unknown_zone = with("PROVIDER_URL", "http://127.0.0.1:9/f");
    unknown_zone["PROVIDER_TIMEZONE"] = "Mars/Olympus_Mons";
    std::vector<bad_case> cases{
        {{"--once"}, with("DATABASE_URL", ""), "DATABASE_URL"},
        {{"--once"}, with("AMQP_URL", "http://127.0.0.1/"), "AMQP_URL"},
        {{"--once"}, with("PROVIDER_URL", "ftp://x"), "PROVIDER_URL"},
        {{"--once", "--provider-url", "http://127.0.0.1:9/f", "--provider-schedule", "61 * * * *"},
         env,
         "PROVIDER_SCHEDULE"},
        {{"--once"}, unknown_zone, "PROVIDER_TIMEZONE"},
        {{"provider", "add", "--name", "Bad Name", "--url", "http://127.0.0.1:9/f"}, env, "--name"},
        {{"provider", "add", "--name", "ok", "--url", "http://127.0.0.1:9/f", "--schedule", "* * *"},
         env,
         "--schedule"},
        {{"--log-level", "loud"}, env, "LOG_LEVEL"},
    };
    for (const auto& c : cases) {
        auto [code, output] = run_scheduler(c.args, c.env);
        EXPECT_EQ(code, 2) << c.setting << ": " << output;
        EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
        EXPECT_NE(output.find(c.setting), std::string::npos) << output;
    }
    EXPECT_EQ(count(db.url(), "SELECT count(*) FROM providers"), 0);
}

}  // namespace
