#pragma once
// Applies migrations/NNNN_name.sql in order, each once, each in its own transaction, recorded in
// schema_migrations. Safe to run from several hosts at once: a session advisory lock serialises them.
#include <pqxx/connection>

#include <filesystem>
#include <string>
#include <vector>

namespace marquee::pg {

struct migration {
    int version = 0;
    std::string name;  // file name without .sql
    std::string sql;
};

/// Reads every NNNN_name.sql file of `dir`, sorted by version. Throws config_error for a missing
/// directory, a badly named .sql file or two files with one version.
std::vector<migration> load_migrations(const std::filesystem::path& dir);

/// Applies the pending migrations; returns the names applied (empty when up to date). Throws
/// storage_error when a migration fails (it is rolled back) or when an applied one was edited.
std::vector<std::string> migrate(pqxx::connection& connection, const std::vector<migration>& migrations);

}  // namespace marquee::pg
