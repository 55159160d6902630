#pragma once
// Opening PostgreSQL connections the one way: with a connect timeout, an application name, and a
// statement timeout so no statement runs unbounded.
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
};

/// Throws storage_error (with the server's message, never the password) when it cannot connect.
std::unique_ptr<pqxx::connection> connect(const std::string& database_url, const connection_options& options = {});

/// Runs `body`, turning libpqxx exceptions into storage_error with the SQLSTATE.
template <typename Body>
decltype(auto) translate_errors(Body&& body);

/// The SQLSTATE of a libpqxx exception, or "" when there is none.
std::string sqlstate_of(const std::exception& e);

}  // namespace marquee::pg

#include "marquee/pg/detail/translate_errors.hpp"
