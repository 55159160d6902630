#include "marquee/pg/connection.hpp"

#include "marquee/error.hpp"

#include <poll.h>

#include <fmt/format.h>
#include <pqxx/except>

namespace marquee::pg {
namespace {

std::string with_parameters(const std::string& url, const connection_options& o) {
    // libpq URIs take connection parameters as query parameters; later ones win, so the caller's
    // own parameters in the URL stay in force for anything we do not set.
    // TCP keepalives: a worker whose host vanishes holds its provider's advisory lock until the
    // server notices the session is dead, which is about two hours with the kernel's defaults and
    // about a minute with these.
    char separator = url.find('?') == std::string::npos ? '?' : '&';
    return fmt::format(
        "{}{}connect_timeout={}&application_name={}&keepalives=1&keepalives_idle={}&keepalives_interval={}"
        "&keepalives_count={}&options=-c%20statement_timeout%3D{}",
        url, separator, o.connect_timeout.count(), o.application_name, o.keepalive_idle.count(),
        o.keepalive_interval.count(), o.keepalive_count, o.statement_timeout.count());
}

}  // namespace

std::unique_ptr<pqxx::connection> connect(const std::string& database_url, const connection_options& options) {
    try {
        return std::make_unique<pqxx::connection>(with_parameters(database_url, options));
    } catch (const pqxx::broken_connection& e) {
        throw storage_error(fmt::format("cannot connect to PostgreSQL: {}", e.what()));
    }
}

bool usable(const pqxx::connection& connection) noexcept {
    if (!connection.is_open()) return false;
    // An idle session's socket has nothing to read: readable means end of file or an error.
    pollfd socket{connection.sock(), POLLIN, 0};
    return socket.fd >= 0 && ::poll(&socket, 1, 0) == 0;
}

std::string sqlstate_of(const std::exception& e) {
    if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
    return {};
}

}  // namespace marquee::pg
