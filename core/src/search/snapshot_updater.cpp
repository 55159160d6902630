#include "marquee/search/snapshot_updater.hpp"

#include <algorithm>
#include <stdexcept>

namespace marquee::search {
namespace {

ids::uuid id_of(const event& e) {
    auto id = ids::parse_uuid(e.id);
    if (!id) throw std::invalid_argument("event id '" + e.id + "' is not a UUID");
    return *id;
}

bool by_id(const std::pair<ids::uuid, time::instant>& a, const std::pair<ids::uuid, time::instant>& b) {
    return a.first < b.first;
}

}  // namespace

void event_positions::assign(std::vector<std::pair<ids::uuid, time::instant>> positions) {
    std::sort(positions.begin(), positions.end(), by_id);
    sorted_ = std::move(positions);
    recent_.clear();
}

std::optional<time::instant> event_positions::find(const ids::uuid& id) const {
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::pair{id, time::instant{}}, by_id);
    if (it != sorted_.end() && it->first == id) return it->second;
    if (auto r = recent_.find(id); r != recent_.end()) return r->second;
    return std::nullopt;
}

void event_positions::set(const ids::uuid& id, time::instant starts_at) {
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::pair{id, time::instant{}}, by_id);
    if (it != sorted_.end() && it->first == id) {
        it->second = starts_at;
        return;
    }
    recent_[id] = starts_at;
    // New ids collect in the hash map until they are a sixteenth of the array: merging them costs
    // one pass over it, so each new id costs amortised O(1) and lookups stay a binary search.
    if (recent_.size() > std::max<std::size_t>(4096, sorted_.size() / 16)) {
        auto middle = sorted_.size();
        sorted_.insert(sorted_.end(), recent_.begin(), recent_.end());
        std::sort(sorted_.begin() + static_cast<std::ptrdiff_t>(middle), sorted_.end(), by_id);
        std::inplace_merge(sorted_.begin(), sorted_.begin() + static_cast<std::ptrdiff_t>(middle), sorted_.end(),
                           by_id);
        recent_.clear();
    }
}

void snapshot_updater::full_load::add(const event& e) {
    auto id = id_of(e);
    builder_.add(e);
    positions_.emplace_back(id, e.starts_at);
}

void snapshot_updater::finish(full_load&& load) {
    auto fresh = load.builder_.finish();
    positions_.assign(std::move(load.positions_));
    current_ = std::move(fresh);
}

void snapshot_updater::apply(std::int64_t data_version, std::vector<event> changed) {
    if (!current_) throw std::invalid_argument("no snapshot to change: load in full first");
    std::vector<ids::uuid> changed_ids;
    changed_ids.reserve(changed.size());
    std::vector<time::instant> new_starts;
    new_starts.reserve(changed.size());
    std::vector<event_change> changes;
    changes.reserve(changed.size());
    for (auto& e : changed) {
        changed_ids.push_back(id_of(e));
        new_starts.push_back(e.starts_at);
        auto previous = positions_.find(changed_ids.back());
        changes.push_back(event_change{std::move(e), previous});
    }
    // with_changes throws before anything here changes, so a failed delta leaves both as they were.
    auto next = current_->with_changes(data_version, std::move(changes));
    for (std::size_t i = 0; i < changed_ids.size(); ++i) positions_.set(changed_ids[i], new_starts[i]);
    current_ = std::move(next);
}

}  // namespace marquee::search
