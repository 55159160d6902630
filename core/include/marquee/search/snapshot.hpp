#pragma once
// An immutable, in-memory copy of every searchable event, sorted and pre-rendered, so a search is
// a binary search plus byte ranges to send or copy. Built off the request path, shared read-only
// between threads.
#include "marquee/search/query.hpp"
#include "marquee/time/local_datetime.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::search {

/// One searchable event as storage hands it over.
struct event {
    std::string id;  ///< canonical lower-case UUID text
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

class snapshot {
public:
    /// Sorts `events` by (starts_at, id) and renders each once. Throws std::bad_alloc only.
    snapshot(std::int64_t data_version, std::vector<event> events);

    std::int64_t data_version() const noexcept { return data_version_; }
    std::size_t size() const noexcept { return entries_.size(); }
    /// Bytes of pre-rendered JSON held.
    std::size_t rendered_bytes() const noexcept { return rendered_.size(); }

    /// Appends the JSON objects of the events matching `q`, comma-separated, in (starts_at, id)
    /// order. Throws std::bad_alloc only.
    void append_matches(std::string& out, const query& q) const;
    /// The number of bytes append_matches would append for `q`.
    std::size_t matches_bytes(const query& q) const noexcept;
    /// The bytes append_matches would append for `q`, as views into this snapshot's own rendered
    /// JSON: written to the front of `out`, in order, each but the last ending with the ',' that
    /// separates it from the next. Returns how many were written, or nullopt (with `out` holding
    /// garbage) when the matches fall into more than out.size() runs. The views live as long as
    /// the snapshot, so a server can send them without copying.
    std::optional<std::size_t> match_ranges(const query& q, std::span<std::string_view> out) const noexcept;

private:
    struct entry {
        time::instant starts_at;
        time::instant ends_at;
        std::size_t begin;  // of the event's object in rendered_
        std::size_t end;    // one past it
    };

    // Calls f(begin, end) for each maximal run of matching events, in order; the runs' objects
    // are rendered_[begin, end) and need a ',' between runs.
    template <class F>
    void for_each_run(const query& q, F&& f) const {
        auto first = entries_.begin();
        auto last = entries_.end();
        if (q.starts_at)
            first = std::lower_bound(first, last, *q.starts_at,
                                     [](const entry& e, time::instant t) { return e.starts_at < t; });
        // Ingestion guarantees end >= start, so nothing starting after ends_at can end before it.
        if (q.ends_at)
            last = std::upper_bound(first, last, *q.ends_at,
                                    [](time::instant t, const entry& e) { return t < e.starts_at; });
        if (first == last) return;
        if (!q.ends_at) {
            f(first->begin, (last - 1)->end);
            return;
        }
        auto it = first;
        while (it != last) {
            while (it != last && it->ends_at > *q.ends_at) ++it;
            if (it == last) break;
            auto run_begin = it;
            while (it != last && it->ends_at <= *q.ends_at) ++it;
            f(run_begin->begin, (it - 1)->end);
        }
    }

    std::int64_t data_version_;
    std::vector<entry> entries_;
    // Every object, in order, joined by ',' so a run of matches is one contiguous range.
    std::string rendered_;
};

}  // namespace marquee::search
