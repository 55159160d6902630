// marquee-migrate against a real PostgreSQL: concurrent runs apply each migration once, a second
// run changes nothing, and an applied migration that was edited is refused.
#include "harness/harness.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <fstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

// The advisory lock key every marquee-migrate takes before it reads or applies anything (one
// bigint: pg_locks shows it as objid with classid 0).
constexpr long long migrate_lock_key = 0x6d716d67;

int migrate(const mt::database& db, const std::filesystem::path& dir, std::string* log = nullptr) {
    mt::process p("marquee-migrate", {"--database-url", db.url(), "--migrations-dir", dir.string()});
    auto code = p.wait_exit(60s);
    if (log) *log = p.log_text();
    return code.value_or(-1);
}

std::filesystem::path copy_of_migrations(const std::string& name) {
    auto dir = mt::log_dir() / name;
    std::filesystem::remove_all(dir);
    std::filesystem::copy(mt::source_dir() / "migrations", dir);
    return dir;
}

}  // namespace

TEST(migrate, concurrent_runs_apply_each_migration_once) {
    auto db = mt::fresh_database(false);
    auto dir = mt::source_dir() / "migrations";
    // The test holds the lock every marquee-migrate takes first, so the four runs provably overlap:
    // all of them are started and waiting on it before any may begin.
    pqxx::connection holder(db.url());
    pqxx::nontransaction hold(holder);
    hold.exec1(fmt::format("SELECT pg_advisory_lock({})", migrate_lock_key));

    constexpr int run_count = 4;
    std::vector<std::unique_ptr<mt::process>> runs;
    for (int i = 0; i < run_count; ++i)
        runs.push_back(std::make_unique<mt::process>(
            "marquee-migrate", std::vector<std::string>{"--database-url", db.url(), "--migrations-dir", dir.string()}));
    const auto waiting_sql = fmt::format(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '{}' AND "
        "l.locktype = 'advisory' AND l.objid = {} AND NOT l.granted",
        db.name(), migrate_lock_key);
    ASSERT_TRUE(mt::wait_until([&] { return mt::query_scalar(db.url(), waiting_sql) == std::to_string(run_count); },
                               60s, "every run waiting on the migration lock"));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT to_regclass('schema_migrations') IS NULL"), "t")
        << "nothing is done before the lock is taken";
    for (auto& run : runs) EXPECT_TRUE(run->running());

    hold.exec1(fmt::format("SELECT pg_advisory_unlock({})", migrate_lock_key));
    int applying_runs = 0;
    for (auto& run : runs) {
        EXPECT_EQ(run->wait_exit(60s), 0) << run->log_text();
        if (run->log_text().find("applied migration") != std::string::npos) ++applying_runs;
    }
    EXPECT_EQ(applying_runs, 1) << "the first run to get the lock applied everything, the others found it done";
    auto files = std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator{});
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM schema_migrations"), std::to_string(files));
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT version FROM data_version"), "1");
    EXPECT_EQ(migrate(db, dir), 0) << "a second run is a no-op";
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM schema_migrations"), std::to_string(files));
}

TEST(migrate, refuses_an_applied_migration_that_was_edited) {
    auto db = mt::fresh_database(false);
    auto dir = copy_of_migrations("edited-migrations");
    ASSERT_EQ(migrate(db, dir), 0);
    std::ofstream(dir / "0001_init.sql", std::ios::app) << "\n-- edited after release\n";
    std::string log;
    EXPECT_NE(migrate(db, dir, &log), 0);
    EXPECT_NE(log.find("edited"), std::string::npos) << log;
}

TEST(migrate, a_failing_migration_is_rolled_back_whole) {
    auto db = mt::fresh_database(false);
    auto dir = copy_of_migrations("failing-migrations");
    std::ofstream(dir / "0999_broken.sql") << "CREATE TABLE half_done (x int);\nSELECT no_such_function();\n";
    EXPECT_NE(migrate(db, dir), 0);
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT to_regclass('half_done') IS NULL"), "t");
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM schema_migrations WHERE version = 999"), "0");
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT to_regclass('events') IS NOT NULL"), "t") << "earlier ones stay";
}
