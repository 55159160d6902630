#pragma once
// /search bodies keyed by data version and normalised query, so a popular query is answered once
// per data version. A body is a rendered string or a list of ranges in the snapshot it came from
// (which it keeps alive). Bounded by entries and bytes held, least recently used goes first.
#include "marquee/api/handler.hpp"
#include "marquee/search/query.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace marquee::metrics {
class counter;
}

namespace marquee::api {

/// The normalised form of a query: two optional instants, compared by value, so equivalent query
/// strings ("Z" vs "+00:00", reordered, escaped) share an entry.
struct query_key {
    std::int64_t data_version = 0;
    std::int64_t starts_at_us = 0;
    std::int64_t ends_at_us = 0;
    bool has_starts_at = false;
    bool has_ends_at = false;

    static query_key of(std::int64_t data_version, const search::query& q) noexcept;
    friend bool operator==(const query_key&, const query_key&) = default;
};

struct query_key_hash {
    std::size_t operator()(const query_key& k) const noexcept;
};

class response_cache {
public:
    /// Thread-safe. `hits`/`misses` may be null.
    response_cache(std::size_t max_entries, std::size_t max_bytes, metrics::counter* hits = nullptr,
                   metrics::counter* misses = nullptr);

    /// The cached body, or null. Never allocates.
    std::shared_ptr<const response_body> find(const query_key& key);
    /// Remembers `body`; a body holding more than a shard's byte budget is not kept. Entries of older
    /// data versions are dropped, in every shard, as soon as a newer version is stored.
    void insert(const query_key& key, std::shared_ptr<const response_body> body);

private:
    static constexpr std::size_t shard_count = 4;
    struct shard {
        using lru_list = std::list<std::pair<query_key, std::shared_ptr<const response_body>>>;
        std::mutex mutex;
        lru_list lru;  // most recent first
        std::unordered_map<query_key, lru_list::iterator, query_key_hash> index;
        std::size_t bytes = 0;
        std::int64_t newest_version = 0;
    };
    shard& shard_of(const query_key& key) noexcept;
    // Empties `s` when it holds entries older than `newest`. Called with s.mutex held.
    static void forget_older(shard& s, std::int64_t newest);

    std::size_t max_entries_per_shard_;
    std::size_t max_bytes_per_shard_;
    metrics::counter* hits_;
    metrics::counter* misses_;
    std::atomic<std::int64_t> newest_version_{0};
    std::array<shard, shard_count> shards_;
};

}  // namespace marquee::api
