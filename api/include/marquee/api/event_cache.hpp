#pragma once
// Rendered answers of the event routes (GET /events/{id}, /events/{id}/history), keyed by route,
// id and page, bounded by the bytes they hold, least recently used out first. An answer carries
// when it was read, so the caller decides what is fresh enough (API_CACHE_MAX_AGE) and what may
// still be served while the database is unreachable (anything).
#include "marquee/api/handler.hpp"

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace marquee::api {

/// One rendered answer: 200 with its body, ETag and Link (a history page that has a next one), or
/// 404 with the error body.
struct event_answer {
    unsigned status = 200;
    std::shared_ptr<const response_body> body;
    std::string etag;  ///< quoted, strong; empty for a 404
    std::string link;  ///< the Link header's value; empty when none
    std::chrono::steady_clock::time_point read_at;

    /// What keeping it costs: its body, headers and bookkeeping.
    std::size_t footprint() const noexcept;
};

class event_cache {
public:
    /// Holds answers (keys included) of at most `max_bytes` together. Thread-safe.
    explicit event_cache(std::size_t max_bytes);

    /// The answer stored under `key`, now the most recently used; null when there is none.
    std::shared_ptr<const event_answer> find(std::string_view key);
    /// Stores `answer` under `key` (replacing what was there) and evicts the least recently used
    /// answers until the total fits; an answer alone larger than the budget is not kept.
    void insert(const std::string& key, std::shared_ptr<const event_answer> answer);

    std::size_t bytes() const;
    std::size_t size() const;

private:
    struct slot {
        std::string key;
        std::shared_ptr<const event_answer> answer;
        std::size_t cost;
    };
    using recency = std::list<slot>;  // most recently used first

    // With mutex_ held.
    void erase(recency::iterator it);

    std::size_t max_bytes_;
    mutable std::mutex mutex_;
    recency order_;
    std::unordered_map<std::string_view, recency::iterator> where_;  // views of the slots' keys
    std::size_t bytes_ = 0;
};

}  // namespace marquee::api
