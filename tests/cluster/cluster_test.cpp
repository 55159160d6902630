// The whole topology, tortured (`make test-cluster`): scripts/cluster.sh's HAProxy over 3 APIs and
// a 3-node RabbitMQ cluster, 3 workers, 2 schedulers, PostgreSQL primary + streaming replica, and
// static provider feeds on a seconds-level schedule. While 5,000 req/s of /search go through
// HAProxy and the providers are ingested, one fault at a time: kill -9 of an API replica, of a worker
// in the middle of an ingestion, of a scheduler; a RabbitMQ node stopped (the jobs queue's leader)
// and started again; the PostgreSQL replica restarted. Then: no client saw an error, every slot
// published went out once and was ingested once, and the database equals one clean ingestion of
// the same feeds. Each figure is printed as a RESULT line (quoted in bench/README.md).
#include "cluster.hpp"
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "load_generator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr double target_rate = 5000;

double seconds_since(steady::time_point start) {
    return std::chrono::duration<double>(steady::now() - start).count();
}

void result(std::string_view what, const std::string& figures) {
    std::cout << "RESULT cluster." << what << ' ' << figures << std::endl;
}

// One day of 2027 (the generated feeds' year) per request, each day in turn: small answers, as a
// marketplace's calendar pages ask for.
std::vector<std::string> search_targets() {
    std::vector<std::string> targets;
    const auto first = std::chrono::sys_days{std::chrono::year{2027} / 1 / 1};
    for (int day = 0; day < 365; ++day) {
        const auto start = first + std::chrono::days{day};
        const std::chrono::year_month_day ymd{start};
        const auto day_text = fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                                          static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
        targets.push_back(fmt::format("/search?starts_at={0}T00:00:00Z&ends_at={0}T23:59:59Z", day_text));
    }
    return targets;
}

// "[a@localhost, b@localhost]" as a sorted list, so that two node lists compare whatever their order.
std::vector<std::string> node_list(std::string text) {
    std::vector<std::string> nodes;
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '[' || c == ']' || c == ','; }, ' ');
    std::istringstream words(text);
    for (std::string node; words >> node;) nodes.push_back(node);
    std::sort(nodes.begin(), nodes.end());
    return nodes;
}

std::vector<std::vector<std::string>> rows(const std::string& url, const std::string& sql) {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    std::vector<std::vector<std::string>> out;
    for (const auto& row : tx.exec(sql)) {
        auto& fields = out.emplace_back();
        for (const auto& field : row) fields.emplace_back(field.is_null() ? "" : field.c_str());
    }
    return out;
}

class cluster_under_load : public ::testing::Test {
protected:
    void SetUp() override {
        providers_ = cluster_.number("PROVIDERS");
        for (int n = 1; n <= providers_; ++n) provider_names_.push_back(fmt::format("provider-{}", n));
        ASSERT_TRUE(mt::wait_until([&] { return all_servers_up(); }, 60s, "HAProxy sees every API and node up"));
        ASSERT_TRUE(mt::wait_until(
            [&] {
                return scalar("SELECT count(DISTINCT provider) FROM ingestion_runs WHERE status = 'succeeded'") ==
                       std::to_string(providers_);
            },
            120s, "a first ingestion of every provider"));
        jobs_queue_members_ = queue_field("marquee.fetch.jobs", "members");
        ASSERT_EQ(node_list(jobs_queue_members_).size(), 3u)
            << "the jobs queue, a quorum queue, has a member on each node: " << jobs_queue_members_;
    }

    std::string scalar(const std::string& sql) const { return mt::query_scalar(database_url_, sql).value_or(""); }

    bool all_servers_up() const {
        auto servers = cluster_.haproxy_servers();
        return servers.size() == 6 &&
               std::all_of(servers.begin(), servers.end(), [](const auto& s) { return s.second == "UP"; });
    }

    std::string server_status(const std::string& server) const {
        auto servers = cluster_.haproxy_servers();
        auto found = servers.find(server);
        return found == servers.end() ? "" : found->second;
    }

    // A column of `rabbitmqctl list_queues name <field>` for `queue`, asked of the first running node.
    std::string queue_field(const std::string& queue, const std::string& field, int avoid_node = 0) const {
        for (int node = 1; node <= 3; ++node) {
            if (node == avoid_node) continue;
            auto listed = cluster_.rabbitmqctl(node, {"-q", "list_queues", "name", field});
            if (listed.exit_code != 0) continue;
            std::istringstream lines(listed.output);
            for (std::string line; std::getline(lines, line);)
                if (line.starts_with(queue + '\t')) return line.substr(queue.size() + 1);
        }
        return "";
    }

    int node_number(const std::string& node_name) const {
        for (int node = 1; node <= 3; ++node)
            if (cluster_.value(fmt::format("RABBITMQ_{}_NODE", node)) == node_name) return node;
        return 0;
    }

    // Every provider has a succeeded run of a slot after `after` (a timestamptz's text).
    bool every_provider_ingested_after(const std::string& after) const {
        return scalar(fmt::format("SELECT count(DISTINCT provider) FROM ingestion_runs WHERE status = 'succeeded' "
                                  "AND scheduled_for > '{}'",
                                  after)) == std::to_string(providers_);
    }

    bool every_provider_ingested_at(const std::string& slot) const {
        return scalar(fmt::format("SELECT count(DISTINCT provider) FROM ingestion_runs WHERE status = 'succeeded' "
                                  "AND scheduled_for = '{}'",
                                  slot)) == std::to_string(providers_);
    }

    std::string database_now() const { return scalar("SELECT now()::text"); }

    // Just after a slot went through: every provider's latest slot ingested, nothing running, the
    // next slot seconds away. Two faults wait for it. They did because of two races this test found
    // in the product, both fixed since: a job delivered again after its slot was ingested ran again
    // (the worker now skips a job whose slot already succeeded, coalescing_test), and a scheduler
    // killed between claiming a slot and publishing it lost the slot (a claim held unpublished is
    // looked at again and taken over once its 30 s lease runs out, scheduler_loop_test). With the
    // default 10 s schedule here a lease outlives the next slot, so the wait still keeps a kill
    // from costing a slot; faults at any moment are the next step for this test.
    void wait_for_a_quiet_moment() const {
        // At least 40% of the period left before the next slot: the longest fault (a RabbitMQ node's
        // stop) takes a few seconds of the default 10.
        const auto quiet = std::chrono::duration<double>(schedule_period() * 0.6).count();
        ASSERT_TRUE(mt::wait_until(
            [&] {
                return scalar(fmt::format(R"sql(
                    SELECT bool_and(latest.slot > now() - make_interval(secs => {})
                                    AND EXISTS (SELECT FROM ingestion_runs r WHERE r.provider = latest.provider
                                                   AND r.scheduled_for = latest.slot AND r.status = 'succeeded'))
                           AND NOT EXISTS (SELECT FROM ingestion_runs WHERE status = 'running')
                      FROM (SELECT provider, max(slot) AS slot FROM schedule_slots GROUP BY provider) latest)sql",
                                          quiet)) == "t";
            },
            4 * schedule_period() + 30s, "a slot just ingested, nothing running"));
    }

    // The providers' schedule, "@every Ns" (scripts/cluster.sh's default), else a cron's minute.
    std::chrono::seconds schedule_period() const {
        std::smatch match;
        const auto& schedule = cluster_.value("SCHEDULE");
        static const std::regex every(R"(@every ([0-9]+)s)");
        return std::regex_match(schedule, match, every) ? std::chrono::seconds(std::stoi(match[1])) : 60s;
    }

    std::uint64_t failures_since(std::uint64_t before) const { return load_->failures() - before; }
    // Seconds since the load started, to place each fault on the load's timeline.
    double at(steady::time_point t) const { return std::chrono::duration<double>(t - load_started_).count(); }

    // One fault after the other, each recovered from before the next; stops at a fatal failure.
    void inflict_the_faults() {
        for (auto fault : {&cluster_under_load::kill_an_api, &cluster_under_load::kill_a_worker_in_an_ingestion,
                           &cluster_under_load::kill_a_scheduler, &cluster_under_load::stop_a_rabbitmq_node,
                           &cluster_under_load::restart_the_replica}) {
            (this->*fault)();
            if (HasFatalFailure()) return;
        }
    }

    void kill_an_api();
    void kill_a_worker_in_an_ingestion();
    void kill_a_scheduler();
    void stop_a_rabbitmq_node();
    void restart_the_replica();

    mt::cluster cluster_;
    std::string database_url_ = mt::services().database_url;  // superuser, primary, database marquee
    int providers_ = 0;
    std::vector<std::string> provider_names_;
    std::string jobs_queue_members_;
    std::unique_ptr<mt::load_generator> load_;
    steady::time_point load_started_;
};

// The killed replica's requests in flight and those HAProxy sends it before it is marked down fail
// on their connection; HAProxy sends them again to another replica (retry-on, redispatch).
void cluster_under_load::kill_an_api() {
    const auto before = load_->failures();
    const auto start = steady::now();
    cluster_.kill9("api-2");
    ASSERT_TRUE(mt::wait_until([&] { return server_status("api/api-2").starts_with("DOWN"); }, 30s,
                               "HAProxy marks api-2 down"));
    const auto marked_down = seconds_since(start);
    auto started = cluster_.start_member("api-2");
    ASSERT_EQ(started.exit_code, 0) << started.output;
    ASSERT_TRUE(
        mt::wait_until([&] { return server_status("api/api-2") == "UP"; }, 60s, "api-2 back in HAProxy's rotation"));
    result("api_kill", fmt::format("at_s={:.1f} marked_down_s={:.2f} back_in_rotation_s={:.2f} client_errors={}",
                                   at(start), marked_down, seconds_since(start), failures_since(before)));
}

// Every provider's mock holds its next reply, so at the next slot every job in hand is caught
// between recording its run (status running) and fetching its feed: nothing is committed yet. The
// worker connected to provider-1's mock is killed, with whatever other jobs it holds; the others'
// replies are let go, and the killed worker's jobs, requeued by RabbitMQ, are ingested elsewhere.
void cluster_under_load::kill_a_worker_in_an_ingestion() {
    auto mock_port = [&](int n) { return cluster_.port(fmt::format("MOCK_{}_PORT", n)); };
    auto held = [&](int n) {
        auto stats = mt::http_get("127.0.0.1", mock_port(n), "/_control/stats");
        std::smatch match;
        static const std::regex pattern("\"held\":([0-9]+)");
        return std::regex_search(stats.body, match, pattern) ? std::stol(match[1]) : -1L;
    };
    for (int n = 1; n <= providers_; ++n)
        ASSERT_EQ(mt::http_get("127.0.0.1", mock_port(n), "/_control/hold?count=1").status, 200u);
    ASSERT_TRUE(mt::wait_until(
        [&] {
            for (int n = 1; n <= providers_; ++n)
                if (held(n) != 1) return false;
            return true;
        },
        60s, "every provider's next fetch held"));
    auto running = rows(database_url_,
                        "SELECT id, scheduled_for FROM ingestion_runs WHERE provider = 'provider-1' AND status = "
                        "'running' ORDER BY id DESC LIMIT 1");
    ASSERT_EQ(running.size(), 1u) << "the held fetch's run is recorded as running";
    const auto run_id = running[0][0];
    const auto slot = running[0][1];

    std::vector<pid_t> workers;
    std::map<pid_t, std::string> names;
    for (int n = 1; n <= cluster_.number("WORKERS"); ++n) {
        auto name = fmt::format("worker-{}", n);
        if (auto pid = cluster_.pid(name)) {
            workers.push_back(*pid);
            names[*pid] = name;
        }
    }
    auto fetching = mt::process_connected_to(mock_port(1), workers);
    ASSERT_TRUE(fetching) << "a worker connected to provider-1's mock";
    const auto victim = names.at(*fetching);

    const auto before = load_->failures();
    const auto start = steady::now();
    cluster_.kill9(victim);
    for (int n = 1; n <= providers_; ++n)
        ASSERT_EQ(mt::http_get("127.0.0.1", mock_port(n), "/_control/release").status, 200u);
    ASSERT_TRUE(mt::wait_until([&] { return every_provider_ingested_at(slot); }, 120s,
                               "the slot of the killed worker's jobs ingested by the others"));
    const auto ingested = seconds_since(start);
    EXPECT_EQ(scalar("SELECT status || ': ' || error FROM ingestion_runs WHERE id = " + run_id),
              "failed: abandoned: its worker stopped before finishing");
    const auto abandoned = scalar(
        fmt::format("SELECT count(*) FROM ingestion_runs WHERE scheduled_for = '{}' AND status = 'failed'", slot));
    const auto restart = steady::now();
    auto started = cluster_.start_member(victim);
    ASSERT_EQ(started.exit_code, 0) << started.output;
    result("worker_kill",
           fmt::format("at_s={:.1f} victim={} its_runs_abandoned={} slot_ingested_elsewhere_s={:.2f} restart_s={:.2f} "
                       "client_errors={}",
                       at(start), victim, abandoned, ingested, seconds_since(restart), failures_since(before)));
}

// The other scheduler claims and publishes the next slots; the measure is how late they go out.
void cluster_under_load::kill_a_scheduler() {
    wait_for_a_quiet_moment();
    ASSERT_FALSE(HasFatalFailure());
    const auto killed_at = database_now();
    const auto start = steady::now();
    cluster_.kill9("scheduler-1");
    auto next_slots_published = [&] {
        return scalar(fmt::format("SELECT count(DISTINCT provider) FROM schedule_slots WHERE slot > '{}' AND "
                                  "published_at IS NOT NULL",
                                  killed_at)) == std::to_string(providers_);
    };
    ASSERT_TRUE(mt::wait_until(next_slots_published, 60s, "the next slot of every provider published"));
    const auto published = seconds_since(start);
    const auto lag = scalar(fmt::format(
        "SELECT round(max(extract(epoch FROM published_at - slot))::numeric, 2) FROM schedule_slots s WHERE slot = "
        "(SELECT min(slot) FROM schedule_slots WHERE provider = s.provider AND slot > '{}')",
        killed_at));
    const auto restart = steady::now();
    auto started = cluster_.start_member("scheduler-1");
    ASSERT_EQ(started.exit_code, 0) << started.output;
    result("scheduler_kill",
           fmt::format("at_s={:.1f} next_slots_published_s={:.2f} their_publish_lag_s={} restart_s={:.2f}", at(start),
                       published, lag, seconds_since(restart)));
}

// The node leading the jobs queue, so that the queue has to elect a new leader.
void cluster_under_load::stop_a_rabbitmq_node() {
    const auto leader = queue_field("marquee.fetch.jobs", "leader");
    const int node = node_number(leader);
    ASSERT_NE(node, 0) << "the jobs queue's leader '" << leader << "' is a node of the cluster";
    const auto member = fmt::format("rabbitmq-{}", node);
    wait_for_a_quiet_moment();
    ASSERT_FALSE(HasFatalFailure());
    const auto stopped_at = database_now();
    const auto before = load_->failures();
    const auto start = steady::now();
    auto stopped = cluster_.stop_member(member);
    ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
    const auto stop_took = seconds_since(start);
    ASSERT_TRUE(mt::wait_until([&] { return server_status("rabbitmq/" + member).starts_with("DOWN"); }, 30s,
                               "HAProxy marks the stopped node down"));
    std::string new_leader;
    ASSERT_TRUE(mt::wait_until(
        [&] {
            new_leader = queue_field("marquee.fetch.jobs", "leader", node);
            return !new_leader.empty() && new_leader != leader;
        },
        60s, "a new leader of the jobs queue"));
    const auto leader_elected = seconds_since(start);
    ASSERT_TRUE(mt::wait_until([&] { return every_provider_ingested_after(stopped_at); }, 120s,
                               "every provider ingested again"));
    const auto ingesting = seconds_since(start);

    const auto restart = steady::now();
    auto started = cluster_.start_member(member);
    ASSERT_EQ(started.exit_code, 0) << started.output;
    ASSERT_TRUE(mt::wait_until([&] { return server_status("rabbitmq/" + member) == "UP"; }, 60s,
                               "HAProxy sees the node again"));
    ASSERT_TRUE(mt::wait_until(
        [&] { return node_list(queue_field("marquee.fetch.jobs", "online")) == node_list(jobs_queue_members_); }, 120s,
        "every member of the jobs queue online again"));
    result("rabbitmq_stop",
           fmt::format("at_s={:.1f} node={} stop_s={:.2f} new_leader_s={:.2f} every_provider_ingested_again_s={:.2f} "
                       "restart_and_rejoin_s={:.2f} client_errors={}",
                       at(start), node, stop_took, leader_elected, ingesting, seconds_since(restart),
                       failures_since(before)));
}

// The APIs keep serving their snapshots while the replica is away and read deltas again after.
void cluster_under_load::restart_the_replica() {
    const auto before = load_->failures();
    const auto start = steady::now();
    auto restarted = mt::restart_replica();
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
    const auto restart_took = seconds_since(start);
    const auto version = scalar("SELECT version FROM data_version");
    ASSERT_TRUE(mt::wait_until(
        [&] {
            for (int n = 1; n <= cluster_.number("APIS"); ++n) {
                auto ready = mt::http_get("127.0.0.1", cluster_.port(fmt::format("API_{}_PORT", n)), "/readyz");
                if (ready.status != 200 || ready.body.find("\"database\":\"reachable\"") == std::string::npos ||
                    ready.body.find(fmt::format("\"data_version\":{},", version)) == std::string::npos)
                    return false;
            }
            return true;
        },
        60s, "every API reading the replica again, at the primary's data version"));
    result("replica_restart",
           fmt::format("at_s={:.1f} restart_s={:.2f} apis_reachable_at_primary_version_s={:.2f} client_errors={}",
                       at(start), restart_took, seconds_since(start), failures_since(before)));
}

// What one clean ingestion of each feed leaves, in a database of its own.
std::string clean_run_fingerprint(const mt::cluster& cluster, const std::vector<std::string>& providers) {
    auto db = mt::fresh_database();
    for (const auto& provider : providers) {
        mt::process worker(
            "marquee-worker",
            {"ingest", (cluster.dir() / "feeds" / provider / "feed.xml").string(), "--provider", provider},
            {{"DATABASE_URL", db.url()}, {"WORKER_THREADS", "1"}});
        auto code = worker.wait_exit(300s);
        EXPECT_EQ(code, 0) << worker.log_text();
    }
    return mt::database_fingerprint(db.url());
}

}  // namespace

TEST_F(cluster_under_load, serves_every_request_and_ingests_every_slot_once_through_faults) {
    mt::load_options options;
    options.port = cluster_.port("LB_HTTP_PORT");
    options.requests_per_second = target_rate;
    // Enough connections that one slow answer (a replica killed, a CPU shared with everything else)
    // does not hold the pace back: each sends one request per 12.8 ms.
    options.connections = 64;
    options.targets = search_targets();
    const auto first_slot_after = database_now();
    load_started_ = steady::now();
    load_ = std::make_unique<mt::load_generator>(options);
    // Warmed up: every client connection and HAProxy's connections to the replicas in use.
    ASSERT_TRUE(mt::wait_until([&] { return load_->requests() >= 10'000; }, 60s, "10,000 requests answered"));

    inflict_the_faults();
    if (HasFatalFailure()) return;

    // Every slot due by now, ingested: the last faults' slots have had time to go through.
    const auto cutoff = database_now();
    auto unfinished = [&] {
        return scalar(fmt::format(
            "SELECT count(*) FROM schedule_slots s WHERE slot <= '{}' AND NOT EXISTS (SELECT FROM ingestion_runs r "
            "WHERE r.provider = s.provider AND r.scheduled_for = s.slot AND r.status = 'succeeded')",
            cutoff));
    };
    EXPECT_TRUE(mt::wait_until([&] { return unfinished() == "0"; }, 120s, "every slot due ingested"));
    const auto report = load_->stop();
    auto api_backend = cluster_.haproxy_stats()["api/BACKEND"];

    // ---- the clients
    result("load",
           fmt::format("target_rps={:.0f} achieved_rps={:.0f} requests={} seconds={:.1f} failures={} "
                       "p50_ms={:.2f} p99_ms={:.2f} p999_ms={:.2f} max_ms={:.1f} haproxy_retries={} "
                       "haproxy_redispatches={}",
                       target_rate, report.rate, report.requests, report.seconds, report.failures, report.p50_ms,
                       report.p99_ms, report.p999_ms, report.max_ms, api_backend["wretr"], api_backend["wredis"]));
    for (const auto& failure : report.failures_seen)
        std::cout << fmt::format("failure at +{:.3f}s: {}\n",
                                 std::chrono::duration<double>(failure.at - report.started).count(), failure.what);
    EXPECT_EQ(report.failures, 0u) << "requests through HAProxy that did not get a complete 200";
    // The rate is the test's premise, not a claim about speed: a run that could not drive it tested less.
    EXPECT_GE(report.rate, 0.9 * target_rate) << "the load generator fell behind its target rate";

    // ---- the slots
    const auto slots = rows(database_url_, fmt::format(R"sql(
        SELECT s.provider, s.slot::text, s.published_at IS NOT NULL,
               (SELECT count(*) FROM ingestion_runs r
                 WHERE r.provider = s.provider AND r.scheduled_for = s.slot AND r.status = 'succeeded'),
               (SELECT count(*) FROM ingestion_runs r
                 WHERE r.provider = s.provider AND r.scheduled_for = s.slot AND r.status = 'failed')
          FROM schedule_slots s WHERE s.slot <= '{}' ORDER BY s.provider, s.slot)sql",
                                                       cutoff));
    std::map<std::string, std::map<std::string, int>> published_lines;  // provider → slot → log lines
    for (int n = 1; n <= cluster_.number("SCHEDULERS"); ++n) {
        std::istringstream log(mt::read_file(cluster_.dir() / "logs" / fmt::format("scheduler-{}.log", n)));
        const std::regex published(R"(provider (\S+): published job \S+ for slot (\S+))");
        std::smatch match;
        for (std::string line; std::getline(log, line);)
            if (std::regex_search(line, match, published)) ++published_lines[match[1]][match[2]];
    }
    int unpublished = 0;
    int not_once = 0;
    int published_twice = 0;
    int failed_runs = 0;
    for (const auto& slot : slots) {
        const auto& [provider, when, was_published, succeeded, failed] =
            std::tie(slot[0], slot[1], slot[2], slot[3], slot[4]);
        failed_runs += std::stoi(failed);
        if (was_published != "t") {
            ++unpublished;
            ADD_FAILURE() << provider << " slot " << when << " claimed but never published";
        }
        if (succeeded != "1") {
            ++not_once;
            ADD_FAILURE() << provider << " slot " << when << " ingested " << succeeded << " times";
        }
    }
    for (const auto& [provider, by_slot] : published_lines)
        for (const auto& [when, count] : by_slot)
            if (count > 1) {
                ++published_twice;
                ADD_FAILURE() << provider << " slot " << when << " published " << count << " times";
            }
    // A slot skipped (the schedulers were down or late past the next slot) would leave a gap.
    const auto gaps = scalar(fmt::format(R"sql(
        SELECT count(*) FROM (SELECT slot - lag(slot) OVER (PARTITION BY provider ORDER BY slot) AS step
                                FROM schedule_slots WHERE slot <= '{}') steps
         WHERE step > (SELECT min(step) FROM (SELECT slot - lag(slot) OVER (PARTITION BY provider ORDER BY slot)
                                                     AS step FROM schedule_slots) all_steps))sql",
                                         cutoff));
    result("slots", fmt::format("slots={} since_load_start={} claimed_not_published={} not_ingested_exactly_once={} "
                                "published_twice={} schedule_gaps={} failed_runs={}",
                                slots.size(),
                                scalar(fmt::format("SELECT count(*) FROM schedule_slots WHERE slot > '{}' AND slot <= "
                                                   "'{}'",
                                                   first_slot_after, cutoff)),
                                unpublished, not_once, published_twice, gaps, failed_runs));
    EXPECT_GT(slots.size(), 0u);
    EXPECT_EQ(gaps, "0") << "slots were skipped";
    EXPECT_EQ(scalar("SELECT string_agg(provider || ' ' || scheduled_for || ': ' || error, '; ') FROM ingestion_runs "
                     "WHERE status = 'failed' AND error NOT LIKE 'abandoned:%'"),
              "")
        << "runs that failed for another reason than their worker's kill";

    // ---- the data: the primary as a clean run leaves it, the replica as the primary, every API at its version
    const auto cluster_fingerprint = mt::database_fingerprint(database_url_);
    const auto clean_fingerprint = clean_run_fingerprint(cluster_, provider_names_);
    const auto version = scalar("SELECT version FROM data_version");
    ASSERT_TRUE(mt::wait_until(
        [&] {
            return mt::database_fingerprint(mt::replica_url("marquee")) == cluster_fingerprint &&
                   mt::query_scalar(mt::replica_url("marquee"), "SELECT version FROM data_version") == version;
        },
        60s, "the replica caught up with the primary"));
    int apis_at_version = 0;
    const auto searchable = scalar("SELECT count(*) FROM events WHERE ever_online");
    EXPECT_TRUE(mt::wait_until(
        [&] {
            apis_at_version = 0;
            for (int n = 1; n <= cluster_.number("APIS"); ++n) {
                auto ready = mt::http_get("127.0.0.1", cluster_.port(fmt::format("API_{}_PORT", n)), "/readyz");
                if (ready.body.find(fmt::format("\"data_version\":{},\"events\":{}", version, searchable)) !=
                    std::string::npos)
                    ++apis_at_version;
            }
            return apis_at_version == cluster_.number("APIS");
        },
        60s, "every API serving the primary's version"));
    // ---- the processes: none died but those killed (and restarted), none reported a sanitizer error
    // (HAProxy's retries and RabbitMQ's redeliveries would hide a crash from the figures above).
    std::vector<std::string> members{"haproxy"};
    for (const auto& [kind, key] :
         {std::pair{"api", "APIS"}, {"worker", "WORKERS"}, {"scheduler", "SCHEDULERS"}, {"mock", "PROVIDERS"}})
        for (int n = 1; n <= cluster_.number(key); ++n) members.push_back(fmt::format("{}-{}", kind, n));
    std::vector<std::string> gone;
    for (const auto& member : members)
        if (!cluster_.pid(member)) gone.push_back(member);
    std::vector<std::string> reports;
    for (const auto& log : std::filesystem::directory_iterator(cluster_.dir() / "logs")) {
        const auto text = mt::read_file(log.path());
        if (text.find("runtime error:") != std::string::npos || text.find("Sanitizer") != std::string::npos)
            reports.push_back(log.path().filename());
    }
    result("processes", fmt::format("members={} not_running={} logs_with_sanitizer_reports={}", members.size(),
                                    gone.size(), reports.size()));
    EXPECT_TRUE(gone.empty()) << "members that stopped by themselves: " << fmt::format("{}", fmt::join(gone, ", "));
    EXPECT_TRUE(reports.empty()) << "sanitizer reports in " << fmt::format("{}", fmt::join(reports, ", "));
    EXPECT_TRUE(all_servers_up()) << "HAProxy sees every API and RabbitMQ node up at the end";

    result("data", fmt::format("events={} searchable={} equal_to_clean_run={} apis_at_primary_version={}",
                               scalar("SELECT count(*) FROM events"), searchable,
                               cluster_fingerprint == clean_fingerprint, apis_at_version));
    EXPECT_EQ(cluster_fingerprint, clean_fingerprint) << "the cluster's database differs from a clean ingestion";
}
