#pragma once
// The one advisory-lock holder: a session-level PostgreSQL advisory lock held for the object's
// lifetime. Session locks survive transactions and vanish with the session, so a crashed holder
// never leaves one behind (TCP keepalives bound how long a vanished host keeps it).
#include <pqxx/connection>

#include <cstdint>
#include <memory>
#include <string>

namespace marquee::pg {

/// Which lock: one fixed number (pg_advisory_lock(bigint)), or a name within a class of locks
/// (pg_advisory_lock(int, hashtext(name))). The two forms never collide.
struct advisory_key {
    static advisory_key fixed(std::int64_t id) { return {id, {}, false}; }
    static advisory_key named(std::int32_t lock_class, std::string name) { return {lock_class, std::move(name), true}; }

    std::int64_t id;
    std::string name;
    bool is_named;
};

class advisory_lock {
public:
    /// Waits until the lock is free. Throws storage_error.
    advisory_lock(pqxx::connection& connection, advisory_key key);
    /// Takes the lock only if it is free: nullptr while another session holds it.
    static std::unique_ptr<advisory_lock> try_acquire(pqxx::connection& connection, advisory_key key);
    /// Releases the lock; when that fails (a lost connection) the session's end releases it.
    ~advisory_lock();
    advisory_lock(const advisory_lock&) = delete;
    advisory_lock& operator=(const advisory_lock&) = delete;

    const advisory_key& key() const noexcept { return key_; }

private:
    struct already_held {};
    advisory_lock(pqxx::connection& connection, advisory_key key, already_held);

    pqxx::connection& connection_;
    advisory_key key_;
};

}  // namespace marquee::pg
