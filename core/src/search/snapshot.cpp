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

std::size_t snapshot::matches_bytes(const query& q) const noexcept {
    std::size_t bytes = 0;
    for_each_run(q, [&](std::size_t begin, std::size_t end) { bytes += (bytes == 0 ? 0 : 1) + end - begin; });
    return bytes;
}

std::optional<std::size_t> snapshot::match_ranges(const query& q, std::span<std::string_view> out) const noexcept {
    std::size_t n = 0;
    bool too_many = false;
    for_each_run(q, [&](std::size_t begin, std::size_t end) {
        if (too_many) return;
        if (n == out.size()) {
            too_many = true;
            return;
        }
        // A run with another after it does not end with the last event, so its ',' follows it.
        if (n != 0) out[n - 1] = std::string_view(out[n - 1].data(), out[n - 1].size() + 1);
        out[n++] = std::string_view(rendered_.data() + begin, end - begin);
    });
    if (too_many) return std::nullopt;
    return n;
}

void snapshot::append_matches(std::string& out, const query& q) const {
    // Sized first so a large answer is copied once, not again on each growth of `out`.
    out.reserve(out.size() + matches_bytes(q));
    bool any = false;
    for_each_run(q, [&](std::size_t begin, std::size_t end) {
        if (any) out.push_back(',');
        out.append(rendered_, begin, end - begin);
        any = true;
    });
}

}  // namespace marquee::search
