#include "marquee/pg/migrator.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/pg/advisory_lock.hpp"
#include "marquee/pg/connection.hpp"

#include <fmt/format.h>
#include <xxhash.h>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace marquee::pg {
namespace {

// Arbitrary, fixed: the advisory lock key every marquee-migrate takes ("mqmg").
constexpr long long migrate_lock_key = 0x6d716d67;

constexpr const char* create_table_sql = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
))sql";
constexpr const char* applied_sql = "SELECT version, checksum FROM schema_migrations";
constexpr const char* record_sql = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";

std::string checksum(const std::string& sql) {
    return fmt::format("{:016x}", XXH3_64bits(sql.data(), sql.size()));
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error("MIGRATIONS_DIR", fmt::format("cannot read {}", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

std::vector<migration> load_migrations(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw config_error("MIGRATIONS_DIR", fmt::format("{} is not a directory", dir.string()));
    std::vector<migration> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        auto file = entry.path().filename().string();
        if (entry.path().extension() != ".sql") continue;
        bool well_named = file.size() > 9 && std::all_of(file.begin(), file.begin() + 4, ::isdigit) && file[4] == '_';
        if (!well_named) throw config_error("MIGRATIONS_DIR", fmt::format("{}: expected NNNN_name.sql", file));
        found.push_back({std::stoi(file.substr(0, 4)), entry.path().stem().string(), read_file(entry.path())});
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    for (std::size_t i = 1; i < found.size(); ++i)
        if (found[i].version == found[i - 1].version)
            throw config_error("MIGRATIONS_DIR", fmt::format("two migrations have version {}", found[i].version));
    return found;
}

std::vector<std::string> migrate(pqxx::connection& connection, const std::vector<migration>& migrations) {
    return translate_errors([&] {
        advisory_lock lock(connection, advisory_key::fixed(migrate_lock_key));
        std::map<int, std::string> applied;
        {
            pqxx::work tx(connection);
            tx.exec0(create_table_sql);
            for (const auto& row : tx.exec(applied_sql)) applied[row[0].as<int>()] = row[1].as<std::string>();
            tx.commit();
        }
        std::vector<std::string> done;
        for (const auto& m : migrations) {
            auto sum = checksum(m.sql);
            if (auto found = applied.find(m.version); found != applied.end()) {
                if (found->second != sum)
                    throw storage_error(
                        fmt::format("migration {} was edited after it was applied; add a new "
                                    "migration instead",
                                    m.name));
                continue;
            }
            pqxx::work tx(connection);
            tx.exec(m.sql);
            tx.exec_params(record_sql, m.version, m.name, sum);
            tx.commit();
            log::info("applied migration {}", m.name);
            done.push_back(m.name);
        }
        return done;
    });
}

}  // namespace marquee::pg
