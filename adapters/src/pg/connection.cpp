#include "marquee/pg/connection.hpp"

#include "marquee/error.hpp"

#include <poll.h>

#include <fmt/format.h>
#include <pqxx/except>

namespace marquee::pg {
namespace {

bool sets_options(const std::string& url) {
    auto query = url.find('?');
    return query != std::string::npos &&
           (url.find("?options=", query) != std::string::npos || url.find("&options=", query) != std::string::npos);
}

// libpq URIs take connection parameters as query parameters. Ours go after the URL's own and
// only where it sets none.
// TCP keepalives: a worker whose host vanishes holds its provider's advisory lock until the
// server notices the session is dead, which is about two hours with the kernel's defaults and
// about a minute with ours.
std::string with_defaults(const std::string& url, const connection_options& o) {
    std::string out = url;
    auto add = [&out, &url](std::string_view key, const std::string& value) {
        auto query = url.find('?');
        if (query != std::string::npos) {
            for (auto at = url.find(key, query); at != std::string::npos; at = url.find(key, at + 1)) {
                bool starts = url[at - 1] == '?' || url[at - 1] == '&';
                if (starts && url.compare(at + key.size(), 1, "=") == 0) return;
            }
        }
        out += out.find('?') == std::string::npos ? '?' : '&';
        out += key;
        out += '=';
        out += value;
    };
    add("connect_timeout", std::to_string(o.connect_timeout.count()));
    add("application_name", std::string(o.application_name));
    add("keepalives", "1");
    add("keepalives_idle", std::to_string(o.keepalive_idle.count()));
    add("keepalives_interval", std::to_string(o.keepalive_interval.count()));
    add("keepalives_count", std::to_string(o.keepalive_count));
    if (o.tcp_user_timeout.count() > 0) add("tcp_user_timeout", std::to_string(o.tcp_user_timeout.count()));
    add("options", fmt::format("-c%20statement_timeout%3D{}", o.statement_timeout.count()));
    return out;
}

}  // namespace

std::unique_ptr<pqxx::connection> connect(const std::string& database_url, const connection_options& options) {
    try {
        auto connection = std::make_unique<pqxx::connection>(with_defaults(database_url, options));
        // The statement timeout rides on the startup packet (no extra round trip), unless the URL
        // passes server options of its own; then it is set once connected.
        auto timeout = std::to_string(options.statement_timeout.count());
        if (sets_options(database_url)) connection->set_variable("statement_timeout", timeout);
        return connection;
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
