// marquee-migrate: applies migrations/NNNN_name.sql to DATABASE_URL, each once, in order.
#include "marquee/config/config.hpp"
#include "marquee/config/logging.hpp"
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
    marquee::config::log_settings logging;
    marquee::config::add(app, "--database-url", "DATABASE_URL", database_url, "PostgreSQL URI")->required();
    marquee::config::add(app, "--migrations-dir", "MIGRATIONS_DIR", migrations_dir, "Directory of NNNN_name.sql files");
    marquee::config::add_log_options(app, logging);
    return marquee::config::run(app, argc, argv, [&] {
        marquee::config::start_logging("migrate", logging);
        marquee::config::check_database_url(database_url);
        auto migrations = marquee::pg::load_migrations(migrations_dir);
        auto connection = marquee::pg::connect(database_url, {.application_name = "marquee-migrate"});
        auto applied = marquee::pg::migrate(*connection, migrations);
        marquee::log::info("database is up to date ({} migration(s) applied now, {} known)", applied.size(),
                           migrations.size());
        return 0;
    });
}
