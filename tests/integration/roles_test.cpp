// Least privilege (migrations/0003_least_privilege.sql): each service's role can do its job and
// nothing more. The denials are checked statement by statement; the grants by running the real
// binaries as those roles.
#include "harness/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <string>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

// `url` with its user and password replaced (postgresql://user:password@host:port/db).
std::string as_role(const std::string& url, const std::string& role, const std::string& password) {
    auto scheme_end = url.find("://") + 3;
    auto at = url.find('@', scheme_end);
    return url.substr(0, scheme_end) + role + ":" + password + url.substr(at);
}

// Gives the role a login and a password (roles are cluster-wide; tests share them).
std::string login_url(const mt::database& db, const std::string& role) {
    const std::string password = "test-" + role;
    mt::execute(db.url(), "ALTER ROLE " + role + " LOGIN PASSWORD '" + password + "'");
    return as_role(db.url(), role, password);
}

// The SQLSTATE `sql` fails with as the role behind `url`, or "ok" when it succeeds. libpqxx 6.4
// throws insufficient_privilege without filling in its SQLSTATE, so that class is named here.
std::string outcome_of(const std::string& url, const std::string& sql) {
    try {
        pqxx::connection connection(url);
        pqxx::work tx(connection);
        tx.exec(sql);
        tx.commit();
        return "ok";
    } catch (const pqxx::insufficient_privilege&) {
        return "42501";
    } catch (const pqxx::sql_error& e) {
        return e.sqlstate().empty() ? std::string("no SQLSTATE: ") + e.what() : e.sqlstate();
    }
}

constexpr const char* insufficient_privilege = "42501";

}  // namespace

TEST(roles, the_api_role_reads_the_snapshot_and_event_detail_tables_and_can_write_create_or_run_nothing) {
    auto db = mt::fresh_database();
    auto api = login_url(db, "marquee_api");
    EXPECT_EQ(outcome_of(api, "SELECT count(*) FROM events WHERE ever_online"), "ok");
    EXPECT_EQ(outcome_of(api, "SELECT version FROM data_version"), "ok");
    EXPECT_EQ(outcome_of(api, "SELECT count(*) FROM zones"), "ok");
    EXPECT_EQ(outcome_of(api, "SELECT count(*) FROM event_history"), "ok");
    EXPECT_EQ(outcome_of(api, "LISTEN marquee_data_version"), "ok");

    for (const char* sql : {
             "UPDATE data_version SET version = version + 1",
             "DELETE FROM events",
             "INSERT INTO providers (name, url) VALUES ('evil', 'http://x/')",
             "SELECT * FROM providers",
             "SELECT * FROM ingestion_runs",
             "CREATE TABLE loot (x int)",
             "CREATE TEMP TABLE loot (x int)",
             "COPY (SELECT 1) TO PROGRAM 'touch /tmp/marquee-roles-test'",
             "COPY events FROM PROGRAM 'true'",
             "SELECT pg_read_file('/etc/passwd')",
         }) {
        EXPECT_EQ(outcome_of(api, sql), insufficient_privilege) << sql;
    }
}

TEST(roles, the_worker_role_changes_data_but_never_the_schema) {
    auto db = mt::fresh_database();
    auto worker = login_url(db, "marquee_worker");
    for (const char* sql : {
             "ALTER TABLE events ADD COLUMN loot text",
             "DROP TABLE zones",
             "TRUNCATE events",
             "CREATE TABLE loot (x int)",
             "CREATE INDEX loot ON events (title)",
             "UPDATE providers SET url = 'http://evil/'",
             "DELETE FROM schedule_slots",
             "DELETE FROM event_history",
             "COPY (SELECT 1) TO PROGRAM 'true'",
         }) {
        EXPECT_EQ(outcome_of(worker, sql), insufficient_privilege) << sql;
    }
}

TEST(roles, the_scheduler_role_manages_providers_and_slots_only) {
    auto db = mt::fresh_database();
    auto scheduler = login_url(db, "marquee_scheduler");
    for (const char* sql : {
             "SELECT * FROM events",
             "UPDATE data_version SET version = 0",
             "ALTER TABLE providers ADD COLUMN loot text",
             "CREATE TABLE loot (x int)",
         }) {
        EXPECT_EQ(outcome_of(scheduler, sql), insufficient_privilege) << sql;
    }
}

TEST(roles, each_service_does_its_whole_job_under_its_own_role) {
    auto db = mt::fresh_database();
    auto scheduler_url = login_url(db, "marquee_scheduler");
    auto worker_url = login_url(db, "marquee_worker");
    auto api_url = login_url(db, "marquee_api");

    // The scheduler registers a provider; the worker ingests its feed (staging tables, COPY, merge,
    // history, data version); the API loads the snapshot and serves it.
    mt::process add(
        "marquee-scheduler",
        {"provider", "add", "--name", "samples", "--url", "http://127.0.0.1:9/feed", "--time-zone", "Europe/Madrid"},
        {{"DATABASE_URL", scheduler_url}});
    ASSERT_EQ(add.wait_exit(60s), 0) << add.log_text();

    // The scheduler claims and publishes a slot (schedule_slots).
    auto vh = mt::fresh_vhost();
    mt::process once("marquee-scheduler", {"--once"}, {{"DATABASE_URL", scheduler_url}, {"AMQP_URL", vh.url()}});
    ASSERT_EQ(once.wait_exit(60s), 0) << once.log_text();
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM schedule_slots WHERE published_at IS NOT NULL"), "1");

    // New events, then changed and vanished ones (merge, zone updates and trims, history).
    for (const char* sample : {"response_1.xml", "response_2.xml", "response_3.xml"}) {
        auto feed = mt::source_dir() / "fixtures/provider-samples" / sample;
        mt::process ingest("marquee-worker", {"ingest", feed.string(), "--provider", "samples"},
                           {{"DATABASE_URL", worker_url}, {"WORKER_THREADS", "2"}});
        ASSERT_EQ(ingest.wait_exit(120s), 0) << sample << ": " << ingest.log_text();
    }
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM ingestion_runs WHERE status = 'succeeded'"), "3");
    auto online = mt::query_scalar(db.url(), "SELECT count(*) FROM events WHERE ever_online");
    ASSERT_TRUE(online && *online != "0") << "the sample feed has events on sale";

    auto port = mt::free_port();
    mt::process api("marquee-api", {"--api-listen", "127.0.0.1:" + std::to_string(port), "--threads", "1"},
                    {{"DATABASE_URL", api_url}});
    ASSERT_TRUE(mt::wait_until([&] { return mt::http_get("127.0.0.1", port, "/readyz", {}, 5s).status == 200; }, 30s,
                               "marquee-api ready as marquee_api"));
    auto search = mt::http_get("127.0.0.1", port, "/search", {}, 10s);
    EXPECT_EQ(search.status, 200);
    EXPECT_NE(search.body.find("\"events\":[{"), std::string::npos) << search.body;
}
