#include "marquee/api/event_cache.hpp"

namespace marquee::api {
namespace {

// A list node, a hash node and the shared_ptr's control block, roughly.
constexpr std::size_t bookkeeping_bytes = 160;

}  // namespace

std::size_t event_answer::footprint() const noexcept {
    return sizeof(event_answer) + (body ? body->held_bytes() : 0) + etag.capacity() + link.capacity();
}

event_cache::event_cache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

std::shared_ptr<const event_answer> event_cache::find(std::string_view key) {
    std::lock_guard lock(mutex_);
    auto found = where_.find(key);
    if (found == where_.end()) return nullptr;
    order_.splice(order_.begin(), order_, found->second);
    return found->second->answer;
}

void event_cache::insert(const std::string& key, std::shared_ptr<const event_answer> answer) {
    const std::size_t cost = bookkeeping_bytes + 2 * key.size() + answer->footprint();
    std::lock_guard lock(mutex_);
    if (auto old = where_.find(key); old != where_.end()) erase(old->second);
    if (cost > max_bytes_) return;
    while (bytes_ + cost > max_bytes_) erase(std::prev(order_.end()));
    order_.push_front(slot{key, std::move(answer), cost});
    where_.emplace(order_.front().key, order_.begin());
    bytes_ += cost;
}

void event_cache::erase(recency::iterator it) {
    bytes_ -= it->cost;
    where_.erase(it->key);
    order_.erase(it);
}

std::size_t event_cache::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t event_cache::size() const {
    std::lock_guard lock(mutex_);
    return order_.size();
}

}  // namespace marquee::api
