// marquee-migrate: applies migrations/NNNN_name.sql to DATABASE_URL, each once, in order.
#include "marquee/config/config.hpp"
#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"
#include "marquee/pg/migrator.hpp"

#include <filesystem>

#ifndef MARQUEE_MIGRATIONS_DIR
#define MARQUEE_MIGRATIONS_DIR "/usr/share/marquee/migrations"
#endif

int main(int argc, char** argv) {
    CLI::App app{"Applies marquee's database migrations (idempotent; safe to run concurrently).", "marquee-migrate"};
    std::string database_url;
    std::string migrations_dir = MARQUEE_MIGRATIONS_DIR;
    std::string log_level = "info";
    marquee::config::add(app, "--database-url", "DATABASE_URL", database_url, "PostgreSQL URI")->required();
    marquee::config::add(app, "--migrations-dir", "MIGRATIONS_DIR", migrations_dir, "Directory of NNNN_name.sql files");
    marquee::config::add(app, "--log-level", "LOG_LEVEL", log_level, "debug, info, warn or error");
    return marquee::config::run(app, argc, argv, [&] {
        marquee::log::init("migrate", marquee::log::parse_level(log_level));
        marquee::config::check_database_url(database_url);
        auto migrations = marquee::pg::load_migrations(migrations_dir);
        auto connection = marquee::pg::connect(database_url, {.application_name = "marquee-migrate"});
        auto applied = marquee::pg::migrate(*connection, migrations);
        marquee::log::info("database is up to date ({} migration(s) applied now, {} known)", applied.size(),
                           migrations.size());
        return 0;
    });
}
