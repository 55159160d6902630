#include "marquee/pg/advisory_lock.hpp"

#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"

#include <pqxx/nontransaction>

namespace marquee::pg {
namespace {

// `function` is pg_advisory_lock, pg_try_advisory_lock or pg_advisory_unlock; each returns one row.
pqxx::row call(pqxx::connection& connection, const char* function, const advisory_key& key) {
    pqxx::nontransaction tx(connection);
    if (key.is_named)
        return tx.exec_params1(std::string("SELECT ") + function + "($1::integer, hashtext($2))",
                               static_cast<std::int32_t>(key.id), key.name);
    return tx.exec_params1(std::string("SELECT ") + function + "($1::bigint)", key.id);
}

std::string describe(const advisory_key& key) {
    return key.is_named ? fmt::format("({}, {})", key.id, key.name) : fmt::format("{}", key.id);
}

}  // namespace

advisory_lock::advisory_lock(pqxx::connection& connection, advisory_key key)
    : connection_(connection), key_(std::move(key)) {
    translate_errors([&] { call(connection_, "pg_advisory_lock", key_); });
}

advisory_lock::advisory_lock(pqxx::connection& connection, advisory_key key, already_held)
    : connection_(connection), key_(std::move(key)) {}

std::unique_ptr<advisory_lock> advisory_lock::try_acquire(pqxx::connection& connection, advisory_key key) {
    bool taken = translate_errors([&] { return call(connection, "pg_try_advisory_lock", key)[0].as<bool>(); });
    if (!taken) return nullptr;
    return std::unique_ptr<advisory_lock>(new advisory_lock(connection, std::move(key), already_held{}));
}

advisory_lock::~advisory_lock() {
    try {
        call(connection_, "pg_advisory_unlock", key_);
    } catch (const std::exception& e) {
        log::warn("could not release advisory lock {}: {} (the session's end releases it)", describe(key_), e.what());
    }
}

}  // namespace marquee::pg
