#pragma once
// Opening PostgreSQL connections the one way: with a connect timeout, an application name, TCP
// keepalives so a dead peer is noticed, and a statement timeout so no statement runs unbounded.
// Every process opens its connections here. A parameter the database URL sets itself (e.g.
// ?keepalives_idle=60) wins over these defaults, so operators can tune them per deployment.
#include <pqxx/connection>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace marquee::pg {

struct connection_options {
    std::string_view application_name = "marquee";
    std::chrono::seconds connect_timeout{5};
    std::chrono::milliseconds statement_timeout{std::chrono::minutes{10}};
    std::chrono::seconds keepalive_idle{30};
    std::chrono::seconds keepalive_interval{10};
    int keepalive_count = 3;
    /// How long sent data may stay unacknowledged before the connection is dropped (0: the
    /// kernel's default, ~15 minutes). Keepalives only probe an idle connection.
    std::chrono::milliseconds tcp_user_timeout{0};
};

/// Throws storage_error (with the server's message, never the password) when it cannot connect.
std::unique_ptr<pqxx::connection> connect(const std::string& database_url, const connection_options& options = {});

/// False when an idle connection can no longer be used: the server closed it (a restart, an
/// administrator, a dead peer noticed by keepalives) or sent something unasked. libpqxx only finds
/// out on the next statement, which would then fail; ask before reusing a connection that sat idle.
bool usable(const pqxx::connection& connection) noexcept;

/// Runs `body`, turning libpqxx exceptions into storage_error with the SQLSTATE.
template <typename Body>
decltype(auto) translate_errors(Body&& body);

/// The SQLSTATE of a libpqxx exception, or "" when there is none.
std::string sqlstate_of(const std::exception& e);

}  // namespace marquee::pg

#include "marquee/pg/detail/translate_errors.hpp"
