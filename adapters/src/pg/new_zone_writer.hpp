#pragma once
// Copies the zones of events not stored yet straight into the zones table as batches arrive — the
// bulk of a first load, written once — while keeping "the last occurrence of an event wins": when a
// later occurrence supersedes one whose zones were already copied (the same new event twice in a
// feed, or a later rejected occurrence), those zones are replaced (or removed) at the end.
#include "marquee/ingest/staging.hpp"

#include <pqxx/transaction_base>

#include <unordered_map>
#include <unordered_set>

namespace marquee::pg::detail {

class new_zone_writer {
public:
    explicit new_zone_writer(pqxx::transaction_base& tx) : tx_(tx) {}

    /// Call for every batch, in feed order.
    void add(const ingest::staged_batch& batch);
    /// Call once after the last batch.
    void finish();

private:
    bool conflicts(const ingest::staged_batch& batch) const;

    struct latest {
        bool rejected = false;
        std::string rows;
    };
    pqxx::transaction_base& tx_;
    std::unordered_set<ids::uuid, ids::uuid_hash> copied_;
    std::unordered_map<ids::uuid, latest, ids::uuid_hash> superseded_;
};

}  // namespace marquee::pg::detail
