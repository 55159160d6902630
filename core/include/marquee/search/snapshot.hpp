#pragma once
// An immutable, in-memory copy of every searchable event, sorted and pre-rendered, so a search is
// a binary search plus byte ranges to send or copy. Built off the request path, shared read-only
// between threads.
//
// The events live in blocks of about block_events, each block's objects rendered into one buffer.
// A change (with_changes) copies only the blocks it touches; the new snapshot shares every other
// block with the old one, so a small change costs memory and time in proportion to its size.
#include "marquee/search/query.hpp"
#include "marquee/time/local_datetime.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace marquee::search {

/// One searchable event as storage hands it over.
struct event {
    std::string id;        ///< canonical lower-case UUID text
    std::string provider;  ///< not rendered: for the provider filter
    std::string title;
    std::string start_date;  ///< "YYYY-MM-DD", provider wall clock
    std::string start_time;  ///< "HH:MM:SS", provider wall clock
    std::string end_date;
    std::string end_time;
    std::optional<std::string> min_price;  ///< PostgreSQL's text of the numeric; nullopt = no zones
    std::optional<std::string> max_price;
    time::instant starts_at;
    time::instant ends_at;
};

/// An event as it is now, and where the snapshot being changed holds it (nullopt: a new event).
struct event_change {
    event now;
    std::optional<time::instant> previous_starts_at;
};

namespace detail {

struct snapshot_entry {
    time::instant starts_at;
    time::instant ends_at;
    std::uint32_t begin;  // of the event's object in the block's rendered text
    std::uint32_t end;    // one past it; a ',' follows every object
    // The provider's index in the snapshot's table (top 16 bits) and the title's
    // text::title_signature (low 48): what a filter rules out without reading the object.
    std::uint64_t filter_key;
    // The prices in micros (money::price); no_min_price / no_max_price for an event without.
    std::int64_t min_price;
    std::int64_t max_price;
};

// Sentinels no price filter lets through: nothing is at or under the one, at or over the other.
inline constexpr std::int64_t no_min_price = INT64_MAX;
inline constexpr std::int64_t no_max_price = INT64_MIN;

inline constexpr unsigned provider_shift = 48;
inline constexpr std::size_t max_providers = 0xFFFF;

struct snapshot_block {
    std::vector<snapshot_entry> entries;
    std::string rendered;
    // The title index: for each event, the first three bytes of each of its folded title words
    // of three bytes or more (prefix_key), with the event's index in `entries`; sorted by (key,
    // index), each pair once. A q word finds its candidates here instead of in every event.
    std::vector<std::uint32_t> prefix_keys;
    std::vector<std::uint16_t> prefix_events;

    std::string_view object(const snapshot_entry& e) const noexcept {
        return {rendered.data() + e.begin, e.end - e.begin};
    }
    /// The indices of the events with a title word starting with the three bytes of `key`, ascending.
    std::span<const std::uint16_t> events_with_prefix(std::uint32_t key) const noexcept {
        auto [lo, hi] = std::equal_range(prefix_keys.begin(), prefix_keys.end(), key);
        return {prefix_events.data() + (lo - prefix_keys.begin()), static_cast<std::size_t>(hi - lo)};
    }
    /// Builds the title index from the rendered objects and sets each entry's title signature
    /// (filter_key's low 48 bits). Throws std::bad_alloc only.
    void index_titles();
};

/// The title index's key of a folded word's first three bytes.
inline std::uint32_t prefix_key(std::string_view folded) noexcept {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(folded[0])) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(folded[1])) << 8) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(folded[2])) << 16);
}

/// Events a block holds at most: its title index counts them in 16 bits.
inline constexpr std::size_t max_block_events = 0xFFFF;

/// The JSON text of the id in an object append_event rendered: it starts {"id":"<id>".
/// Where the JSON string whose text starts at object[from] ends: the index of its closing quote
/// (object.size() when there is none).
inline std::size_t string_end(std::string_view object, std::size_t from) noexcept {
    for (;;) {
        auto quote = object.find('"', from);
        if (quote == std::string_view::npos) return object.size();
        // Escaped when an odd number of backslashes precede it.
        std::size_t backslashes = 0;
        while (quote - backslashes > from && object[quote - backslashes - 1] == '\\') ++backslashes;
        if (backslashes % 2 == 0) return quote;
        from = quote + 1;
    }
}

inline std::string_view rendered_id(std::string_view object) noexcept {
    constexpr std::size_t prefix = sizeof(R"({"id":")") - 1;
    return object.substr(prefix, string_end(object, prefix) - prefix);
}

/// The inside of the title's JSON string in an object append_event rendered (escapes as written).
std::string_view rendered_title(std::string_view object) noexcept;

/// What a query's filters ask of each event, resolved against one snapshot.
class event_filter {
public:
    /// `providers`: the snapshot's table. `q` must outlive the filter.
    event_filter(const query& q, std::span<const std::string> providers) noexcept;
    /// Whether any event can match (false: the provider is unknown to the snapshot).
    bool satisfiable() const noexcept { return satisfiable_; }
    bool active() const noexcept { return active_; }
    /// The title index keys of q's words of three bytes or more: only events the index lists under
    /// each of them can match.
    std::span<const std::uint32_t> indexed_words() const noexcept { return {indexed_words_.data(), indexed_count_}; }
    /// Of the events `b`'s title index lists under one of indexed_words(), the fewest; all can
    /// match only when every word is there. Empty span when indexed_words() is. Looks words up
    /// rarest first, as the blocks before found them, and stops at one listing no event: a rare
    /// word in a query skips most blocks after one binary search.
    std::span<const std::uint16_t> fewest_candidates(const snapshot_block& b) noexcept {
        std::span<const std::uint16_t> fewest;
        for (std::size_t n = 0; n < indexed_count_; ++n) {
            auto i = rarest_first_[n];
            auto listed = b.events_with_prefix(indexed_words_[i]);
            listed_before_[i] = listed.size();
            if (n == 0 || listed.size() < fewest.size()) fewest = listed;
            if (fewest.empty()) break;
        }
        std::sort(rarest_first_.begin(), rarest_first_.begin() + static_cast<std::ptrdiff_t>(indexed_count_),
                  [&](std::uint8_t x, std::uint8_t y) { return listed_before_[x] < listed_before_[y]; });
        return fewest;
    }
    bool matches(const snapshot_block& b, const snapshot_entry& e) const noexcept;

private:
    const query* q_;
    bool active_ = false;
    bool satisfiable_ = true;
    std::uint64_t key_mask_ = 0;
    std::uint64_t key_value_ = 0;
    std::array<std::string_view, max_q_words> words_{};
    std::size_t word_count_ = 0;
    std::array<std::uint32_t, max_q_words> indexed_words_{};
    std::size_t indexed_count_ = 0;
    static_assert(max_q_words == 8, "rarest_first_ starts as every index in order");
    std::array<std::uint8_t, max_q_words> rarest_first_{0, 1, 2, 3, 4, 5, 6, 7};
    std::array<std::size_t, max_q_words> listed_before_{};
};

/// Whether the event at `e` in `b` comes after `after` in (starts_at, id) order.
inline bool is_after(const snapshot_block& b, const snapshot_entry& e, const page_after& after) noexcept {
    if (e.starts_at != after.starts_at) return e.starts_at > after.starts_at;
    return rendered_id(b.object(e)) > after.id();
}

}  // namespace detail

/// The last event of a page that more matches follow: where the next page starts after. The id
/// is a view into the snapshot (as rendered), valid while it lives.
struct page_end {
    time::instant starts_at;
    std::string_view id;
};

class snapshot_builder;

class snapshot {
public:
    /// Events per block a full build aims for. A change splits a block grown past twice this and
    /// merges one shrunk under a quarter of it with its neighbour.
    static constexpr std::size_t block_events = 1024;

    /// Sorts `events` by (starts_at, id) and renders each once. Throws std::bad_alloc only.
    snapshot(std::int64_t data_version, std::vector<event> events);

    std::int64_t data_version() const noexcept { return data_version_; }
    std::size_t size() const noexcept { return size_; }
    /// Bytes of pre-rendered JSON held.
    std::size_t rendered_bytes() const noexcept { return rendered_bytes_; }
    std::size_t block_count() const noexcept { return blocks_.size(); }
    /// The providers of the events held, each once, in the order first seen. Throws
    /// std::length_error from a build or change that would hold more than detail::max_providers.
    std::span<const std::string> providers() const noexcept { return *providers_; }

    /// A snapshot at `data_version` holding this one's events changed by `changes`: each replaces
    /// the event with its id at its previous_starts_at, or is added when it has none. Shares every
    /// block the changes leave alone. Throws std::invalid_argument when a previous position holds
    /// no such event or an id repeats (the caller's index is out of step: build anew).
    std::shared_ptr<const snapshot> with_changes(std::int64_t data_version, std::vector<event_change> changes) const;

    /// Appends the JSON objects of the events matching `q` (its page, when it asks for one),
    /// comma-separated, in (starts_at, id) order. Throws std::bad_alloc only.
    void append_matches(std::string& out, const query& q) const;
    /// The number of bytes append_matches would append for `q`.
    std::size_t matches_bytes(const query& q) const noexcept;
    /// The bytes append_matches would append for `q`, as views into this snapshot's own rendered
    /// JSON: written to the front of `out`, in order, each but the last ending with the ',' that
    /// separates it from the next. Returns how many were written, or nullopt (with `out` holding
    /// garbage) when the matches fall into more than out.size() runs. The views live as long as
    /// the snapshot, so a server can send them without copying. When `q` asks for a page and more
    /// matches follow it, `*next` (if given) says where the next page starts; nullopt otherwise.
    std::optional<std::size_t> match_ranges(const query& q, std::span<std::string_view> out,
                                            std::optional<page_end>* next = nullptr) const noexcept;

private:
    friend class snapshot_builder;
    using block = detail::snapshot_block;
    using entry = detail::snapshot_entry;

    explicit snapshot(std::int64_t data_version) : data_version_(data_version) {}
    void push_block(std::shared_ptr<const block> b);

    // Calls f(view) for each maximal run of matching events within a block, in order, up to q's
    // limit; runs need a ',' between them (each view is followed by one in its block's text).
    // Returns the page's last event when q asks for a page and more matches follow.
    template <class F>
    std::optional<page_end> for_each_run(const query& q, F&& f) const {
        std::size_t b = 0;
        if (q.starts_at)
            b = static_cast<std::size_t>(std::lower_bound(last_starts_.begin(), last_starts_.end(), *q.starts_at) -
                                         last_starts_.begin());
        if (q.after) b = std::max(b, first_block_after(*q.after));
        std::size_t remaining = q.limit ? *q.limit : size_;
        std::optional<page_end> last_emitted;
        bool more = false;
        detail::event_filter filter(q, *providers_);
        if (!filter.satisfiable()) return std::nullopt;
        for (; b < blocks_.size() && !more; ++b) {
            // Ingestion guarantees end >= start, so nothing starting after ends_at can end before it.
            if (q.ends_at && first_starts_[b] > *q.ends_at) break;
            const block& blk = *blocks_[b];
            auto first = blk.entries.begin();
            auto last = blk.entries.end();
            if (q.starts_at)
                first = std::lower_bound(first, last, *q.starts_at,
                                         [](const entry& e, time::instant t) { return e.starts_at < t; });
            if (q.after)
                first = std::partition_point(first, last,
                                             [&](const entry& e) { return !detail::is_after(blk, e, *q.after); });
            if (q.ends_at)
                last = std::upper_bound(first, last, *q.ends_at,
                                        [](time::instant t, const entry& e) { return t < e.starts_at; });
            // Emits [run_begin, run_end) or as much of it as the limit leaves; false once the
            // page is full and a further match proves there is a next page.
            auto emit = [&](auto run_begin, auto run_end) {
                if (remaining == 0) {
                    more = true;
                    return false;
                }
                if (static_cast<std::size_t>(run_end - run_begin) > remaining) {
                    run_end = run_begin + static_cast<std::ptrdiff_t>(remaining);
                    more = true;
                }
                remaining -= static_cast<std::size_t>(run_end - run_begin);
                auto run_last = run_end - 1;
                f(std::string_view(blk.rendered.data() + run_begin->begin, run_last->end - run_begin->begin));
                last_emitted = page_end{run_last->starts_at, detail::rendered_id(blk.object(*run_last))};
                return !more;
            };
            if (first == last) continue;
            if (!q.ends_at && !filter.active()) {
                emit(first, last);
                continue;
            }
            auto accept = [&](const entry& e) {
                return (!q.ends_at || e.ends_at <= *q.ends_at) && (!filter.active() || filter.matches(blk, e));
            };
            if (!filter.indexed_words().empty()) {
                // Only the events the title index lists can match: visit those of the rarest word,
                // in order, and emit runs of consecutive accepted ones.
                auto candidates = filter.fewest_candidates(blk);
                const auto first_index = static_cast<std::size_t>(first - blk.entries.begin());
                const auto last_index = static_cast<std::size_t>(last - blk.entries.begin());
                auto c = std::lower_bound(candidates.begin(), candidates.end(), first_index);
                while (c != candidates.end() && *c < last_index) {
                    auto run_begin = blk.entries.begin() + *c++;
                    if (!accept(*run_begin)) continue;
                    auto run_end = run_begin + 1;
                    while (c != candidates.end() && *c < last_index &&
                           *c == static_cast<std::size_t>(run_end - blk.entries.begin()) &&
                           static_cast<std::size_t>(run_end - run_begin) <= remaining && accept(*run_end)) {
                        ++run_end;
                        ++c;
                    }
                    if (!emit(run_begin, run_end)) break;
                }
                continue;
            }
            auto it = first;
            while (it != last) {
                while (it != last && !accept(*it)) ++it;
                if (it == last) break;
                auto run_begin = it;
                // One match past what the page has room for proves a next page; no need to test more.
                while (it != last && static_cast<std::size_t>(it - run_begin) <= remaining && accept(*it)) ++it;
                if (!emit(run_begin, it)) break;
            }
        }
        if (q.limit && more) return last_emitted;
        return std::nullopt;
    }

    // The first block holding an event after `after`.
    std::size_t first_block_after(const page_after& after) const noexcept {
        std::size_t lo = 0;
        std::size_t hi = blocks_.size();
        while (lo < hi) {
            std::size_t mid = lo + (hi - lo) / 2;
            const block& blk = *blocks_[mid];
            if (detail::is_after(blk, blk.entries.back(), after))
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    }

    std::int64_t data_version_;
    std::shared_ptr<const std::vector<std::string>> providers_ = std::make_shared<const std::vector<std::string>>();
    std::vector<std::shared_ptr<const block>> blocks_;
    // Each block's first and last starts_at, for the binary search over blocks.
    std::vector<time::instant> first_starts_;
    std::vector<time::instant> last_starts_;
    std::size_t size_ = 0;
    std::size_t rendered_bytes_ = 0;
};

/// Builds a snapshot from events handed over one at a time in (starts_at, id) order, as a
/// streaming load reads them, without holding them all at once.
class snapshot_builder {
public:
    explicit snapshot_builder(std::int64_t data_version);
    /// Renders `e` into the snapshot. Throws std::invalid_argument when `e` does not come after
    /// the previous event in (starts_at, id) order.
    void add(const event& e);
    std::size_t size() const noexcept { return built_->size_ + (current_ ? current_->entries.size() : 0); }
    /// The snapshot; the builder is spent.
    std::shared_ptr<const snapshot> finish();

private:
    void close_block();

    std::shared_ptr<snapshot> built_;
    std::unique_ptr<detail::snapshot_block> current_;
    std::string last_id_;
    std::vector<std::string> providers_;
    std::unordered_map<std::string, std::uint16_t> provider_index_;
};

}  // namespace marquee::search
