#pragma once
// Keeps a search::snapshot in step with storage by full loads and by deltas (the events changed
// since the snapshot's data version). A delta needs to know where the held snapshot keeps each
// changed event, which the rows storage hands over do not say: the updater remembers every
// event's starts_at by id (24 bytes an event), off the request path, on the loading thread only.
#include "marquee/ids/event_id.hpp"
#include "marquee/search/snapshot.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace marquee::search {

/// Where each event starts, by id: a sorted array, and the ids added since it was last sorted.
class event_positions {
public:
    /// Replaces everything with `positions` (any order; ids unique).
    void assign(std::vector<std::pair<ids::uuid, time::instant>> positions);
    std::optional<time::instant> find(const ids::uuid& id) const;
    void set(const ids::uuid& id, time::instant starts_at);
    std::size_t size() const noexcept { return sorted_.size() + recent_.size(); }

private:
    std::vector<std::pair<ids::uuid, time::instant>> sorted_;
    std::unordered_map<ids::uuid, time::instant, ids::uuid_hash> recent_;
};

class snapshot_updater {
public:
    /// A full load in progress: events come through add() in (starts_at, id) order.
    class full_load {
    public:
        /// Throws std::invalid_argument for an event out of order or whose id is not a UUID.
        void add(const event& e);
        std::size_t size() const noexcept { return builder_.size(); }

    private:
        friend class snapshot_updater;
        explicit full_load(std::int64_t data_version) : builder_(data_version) {}
        snapshot_builder builder_;
        std::vector<std::pair<ids::uuid, time::instant>> positions_;
    };

    /// The snapshot to serve; null before the first full load.
    const std::shared_ptr<const snapshot>& current() const noexcept { return current_; }

    full_load begin_full_load(std::int64_t data_version) const { return full_load(data_version); }
    /// Makes the loaded snapshot current.
    void finish(full_load&& load);
    /// Makes current a snapshot at `data_version` with `changed` (each event as it is now, ids
    /// unique) applied to the current one. Throws std::invalid_argument when there is no current
    /// snapshot or `changed` does not fit it (the caller then loads in full); nothing changes then.
    void apply(std::int64_t data_version, std::vector<event> changed);

private:
    std::shared_ptr<const snapshot> current_;
    event_positions positions_;
};

}  // namespace marquee::search
