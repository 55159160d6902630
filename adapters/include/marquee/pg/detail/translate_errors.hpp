#pragma once
#include "marquee/error.hpp"

#include <pqxx/except>

#include <utility>

namespace marquee::pg {

template <typename Body>
decltype(auto) translate_errors(Body&& body) {
    try {
        return std::forward<Body>(body)();
    } catch (const pqxx::sql_error& e) {
        throw storage_error(e.what(), e.sqlstate());
    } catch (const pqxx::broken_connection& e) {
        throw storage_error(std::string("connection to PostgreSQL lost: ") + e.what());
    } catch (const pqxx::failure& e) {
        throw storage_error(e.what());
    }
}

}  // namespace marquee::pg
