#include "marquee/pg/connection.hpp"

#include "marquee/error.hpp"

#include <fmt/format.h>
#include <pqxx/except>

namespace marquee::pg {
namespace {

std::string with_parameters(const std::string& url, const connection_options& o) {
    // libpq URIs take connection parameters as query parameters; later ones win, so the caller's
    // own parameters in the URL stay in force for anything we do not set.
    char separator = url.find('?') == std::string::npos ? '?' : '&';
    return fmt::format("{}{}connect_timeout={}&application_name={}&options=-c%20statement_timeout%3D{}", url, separator,
                       o.connect_timeout.count(), o.application_name, o.statement_timeout.count());
}

}  // namespace

std::unique_ptr<pqxx::connection> connect(const std::string& database_url, const connection_options& options) {
    try {
        return std::make_unique<pqxx::connection>(with_parameters(database_url, options));
    } catch (const pqxx::broken_connection& e) {
        throw storage_error(fmt::format("cannot connect to PostgreSQL: {}", e.what()));
    }
}

std::string sqlstate_of(const std::exception& e) {
    if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
    return {};
}

}  // namespace marquee::pg
