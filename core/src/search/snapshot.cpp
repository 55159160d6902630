#include "marquee/search/snapshot.hpp"

#include "marquee/search/render.hpp"

#include <algorithm>
#include <tuple>

namespace marquee::search {

snapshot::snapshot(std::int64_t data_version, std::vector<event> events) : data_version_(data_version) {
    std::sort(events.begin(), events.end(),
              [](const event& a, const event& b) { return std::tie(a.starts_at, a.id) < std::tie(b.starts_at, b.id); });
    entries_.reserve(events.size());
    std::size_t estimate = 0;
    for (const auto& e : events) estimate += 160 + e.title.size();
    rendered_.reserve(estimate);
    for (const auto& e : events) {
        if (!rendered_.empty()) rendered_.push_back(',');
        std::size_t begin = rendered_.size();
        append_event(rendered_, e);
        entries_.push_back(entry{e.starts_at, e.ends_at, begin, rendered_.size()});
    }
}

void snapshot::append_matches(std::string& out, const query& q) const {
    auto first = entries_.begin();
    auto last = entries_.end();
    if (q.starts_at)
        first = std::lower_bound(first, last, *q.starts_at,
                                 [](const entry& e, time::instant t) { return e.starts_at < t; });
    // Ingestion guarantees end >= start, so nothing starting after ends_at can end before it.
    if (q.ends_at)
        last =
            std::upper_bound(first, last, *q.ends_at, [](time::instant t, const entry& e) { return t < e.starts_at; });
    if (first == last) return;

    if (!q.ends_at) {
        out.append(rendered_, first->begin, (last - 1)->end - first->begin);
        return;
    }
    // Copy maximal runs of matching events at once; their separators are already in place.
    bool any = false;
    auto it = first;
    while (it != last) {
        while (it != last && it->ends_at > *q.ends_at) ++it;
        if (it == last) break;
        auto run_begin = it;
        while (it != last && it->ends_at <= *q.ends_at) ++it;
        if (any) out.push_back(',');
        out.append(rendered_, run_begin->begin, (it - 1)->end - run_begin->begin);
        any = true;
    }
}

}  // namespace marquee::search
