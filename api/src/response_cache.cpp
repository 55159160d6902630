#include "marquee/api/response_cache.hpp"

#include "marquee/hash/mix.hpp"
#include "marquee/metrics/metrics.hpp"

namespace marquee::api {

query_key query_key::of(std::int64_t data_version, const search::query& q) noexcept {
    query_key k;
    k.data_version = data_version;
    if (q.starts_at) {
        k.has_starts_at = true;
        k.starts_at_us = q.starts_at->time_since_epoch().count();
    }
    if (q.ends_at) {
        k.has_ends_at = true;
        k.ends_at_us = q.ends_at->time_since_epoch().count();
    }
    return k;
}

std::size_t query_key_hash::operator()(const query_key& k) const noexcept {
    // Every field goes through splitmix64's finaliser, so all bits of the result depend on all
    // bits of the input. The shard is the hash modulo shard_count: instants are multiples of a
    // second (10^6 us) or more, and a combination that leaves low bits unmixed (as the previous
    // hash_combine-like one did) sent every mixed-workload query to the same shard, a quarter of
    // the cache behind one mutex.
    using hash::mix;
    std::uint64_t h = mix(0, static_cast<std::uint64_t>(k.data_version));
    h = mix(h, static_cast<std::uint64_t>(k.starts_at_us));
    h = mix(h, static_cast<std::uint64_t>(k.ends_at_us));
    h = mix(h, (k.has_starts_at ? 1U : 0U) | (k.has_ends_at ? 2U : 0U));
    return static_cast<std::size_t>(h);
}

response_cache::response_cache(std::size_t max_entries, std::size_t max_bytes, metrics::counter* hits,
                               metrics::counter* misses)
    : max_entries_per_shard_(std::max<std::size_t>(1, max_entries / shard_count)),
      max_bytes_per_shard_(max_bytes / shard_count),
      hits_(hits),
      misses_(misses) {}

response_cache::shard& response_cache::shard_of(const query_key& key) noexcept {
    return shards_[query_key_hash{}(key) % shard_count];
}

void response_cache::forget_older(shard& s, std::int64_t newest) {
    if (s.newest_version >= newest) return;
    s.lru.clear();
    s.index.clear();
    s.bytes = 0;
    s.newest_version = newest;
}

std::shared_ptr<const response_body> response_cache::find(const query_key& key) {
    auto& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    forget_older(s, newest_version_.load(std::memory_order_relaxed));
    auto it = s.index.find(key);
    if (it == s.index.end()) {
        if (misses_) misses_->inc();
        return nullptr;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    if (hits_) hits_->inc();
    return it->second->second;
}

void response_cache::insert(const query_key& key, std::shared_ptr<const response_body> body) {
    if (!body || body->held_bytes() > max_bytes_per_shard_) return;
    auto newest = newest_version_.load(std::memory_order_relaxed);
    while (key.data_version > newest &&
           !newest_version_.compare_exchange_weak(newest, key.data_version, std::memory_order_relaxed)) {
    }
    if (key.data_version < newest) return;
    if (key.data_version > newest) {
        // This insert made the version newest: empty every shard now, not when a request next
        // happens to reach it. An old entry keeps its snapshot alive, and with it every block a
        // change has replaced since (docs/adr/0017).
        for (auto& other : shards_) {
            std::lock_guard lock(other.mutex);
            forget_older(other, key.data_version);
        }
    }
    auto& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    forget_older(s, key.data_version);
    if (s.newest_version != key.data_version || s.index.contains(key)) return;
    s.lru.emplace_front(key, std::move(body));
    s.index.emplace(key, s.lru.begin());
    s.bytes += s.lru.front().second->held_bytes();
    while (s.lru.size() > max_entries_per_shard_ || s.bytes > max_bytes_per_shard_) {
        auto& victim = s.lru.back();
        s.bytes -= victim.second->held_bytes();
        s.index.erase(victim.first);
        s.lru.pop_back();
    }
}

}  // namespace marquee::api
