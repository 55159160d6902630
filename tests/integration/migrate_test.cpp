// marquee-migrate against a real PostgreSQL: concurrent runs apply each migration once, a second
// run changes nothing, and an applied migration that was edited is refused.
#include "harness/harness.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

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
    std::vector<std::unique_ptr<mt::process>> runs;
    for (int i = 0; i < 4; ++i)
        runs.push_back(std::make_unique<mt::process>(
            "marquee-migrate", std::vector<std::string>{"--database-url", db.url(), "--migrations-dir", dir.string()}));
    for (auto& run : runs) EXPECT_EQ(run->wait_exit(60s), 0) << run->log_text();
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
