#include "marquee/search/snapshot.hpp"

#include "marquee/search/render.hpp"
#include "marquee/text/words.hpp"

#include <stdexcept>
#include <tuple>

namespace marquee::search {
namespace {

using block = detail::snapshot_block;
using entry = detail::snapshot_entry;

// Events are ordered by (starts_at, id), the id compared as the JSON text it is rendered as. For
// the ids storage hands over (canonical UUIDs, nothing to escape) that is the id's own order.
struct key {
    time::instant starts_at;
    std::string_view id;
    friend auto operator<=>(const key&, const key&) = default;
};

using detail::rendered_id;

key key_of(const block& b, const entry& e) noexcept {
    return {e.starts_at, rendered_id(b.object(e))};
}

// One event bound for a block being assembled: its entry (all but where its object will be) and
// its rendered object, wherever that is.
struct item {
    entry fields;
    std::string_view object;
};

// An event's prices as its entry holds them. A price money::parse_price cannot read (storage
// holds only what it wrote, so: none) counts as absent.
std::pair<std::int64_t, std::int64_t> price_fields(const event& e) noexcept {
    auto min_price = e.min_price ? money::parse_price(*e.min_price) : std::nullopt;
    auto max_price = e.max_price ? money::parse_price(*e.max_price) : std::nullopt;
    return {min_price ? min_price->micros : detail::no_min_price, max_price ? max_price->micros : detail::no_max_price};
}

entry entry_of(const event& e, std::uint64_t filter_key) noexcept {
    auto [min_price, max_price] = price_fields(e);
    return entry{e.starts_at, e.ends_at, 0, 0, filter_key, min_price, max_price};
}

// The provider's part of a filter key; the title's part is set by snapshot_block::index_titles.
std::uint64_t provider_key(std::uint16_t provider) noexcept {
    return std::uint64_t{provider} << detail::provider_shift;
}

// The index of `name` in `table`, appending it when new.
std::uint16_t intern_provider(std::vector<std::string>& table, std::unordered_map<std::string, std::uint16_t>& index,
                              const std::string& name) {
    if (auto it = index.find(name); it != index.end()) return it->second;
    if (table.size() == detail::max_providers) throw std::length_error("snapshot: more than 65,535 providers");
    auto i = static_cast<std::uint16_t>(table.size());
    table.push_back(name);
    index.emplace(name, i);
    return i;
}

std::shared_ptr<const block> make_block(std::span<const item> items) {
    auto b = std::make_shared<block>();
    std::size_t bytes = 0;
    for (const auto& i : items) bytes += i.object.size() + 1;
    b->rendered.reserve(bytes);
    b->entries.reserve(items.size());
    for (const auto& i : items) {
        auto begin = static_cast<std::uint32_t>(b->rendered.size());
        b->rendered.append(i.object);
        entry e = i.fields;
        e.begin = begin;
        e.end = static_cast<std::uint32_t>(b->rendered.size());
        b->entries.push_back(e);
        b->rendered.push_back(',');
    }
    b->index_titles();
    return b;
}

}  // namespace

namespace detail {

std::string_view rendered_title(std::string_view object) noexcept {
    constexpr std::string_view field = R"(","title":")";
    auto id = rendered_id(object);
    std::size_t begin = static_cast<std::size_t>(id.data() - object.data()) + id.size() + field.size();
    if (begin > object.size()) return {};
    return object.substr(begin, string_end(object, begin) - begin);
}

event_filter::event_filter(const query& q, std::span<const std::string> providers) noexcept
    : q_(&q), active_(q.filters()) {
    if (q.words) {
        key_mask_ |= q.words->signature;
        key_value_ |= q.words->signature;
        word_count_ = q.words->count;
        for (std::size_t i = 0; i < word_count_; ++i) words_[i] = q.words->word(i);
    }
    for (std::size_t i = 0; i < word_count_; ++i)
        if (words_[i].size() >= 3) indexed_words_[indexed_count_++] = prefix_key(words_[i]);
    if (q.provider) {
        auto it = std::find(providers.begin(), providers.end(), q.provider->view());
        satisfiable_ = it != providers.end();
        key_mask_ |= std::uint64_t{0xFFFF} << provider_shift;
        key_value_ |= static_cast<std::uint64_t>(it - providers.begin()) << provider_shift;
    }
}

bool event_filter::matches(const snapshot_block& b, const snapshot_entry& e) const noexcept {
    if ((e.filter_key & key_mask_) != key_value_) return false;
    if (q_->price_max && e.min_price > q_->price_max->micros) return false;
    if (q_->price_min && e.max_price < q_->price_min->micros) return false;
    return word_count_ == 0 ||
           text::has_word_prefixes(rendered_title(b.object(e)), std::span(words_.data(), word_count_),
                                   text::word_source::json_string);
}

void snapshot_block::index_titles() {
    if (entries.size() > max_block_events) throw std::length_error("snapshot: a block over 65,535 events");
    std::vector<std::uint64_t> pairs;  // key << 16 | index: sorting them sorts by (key, index)
    pairs.reserve(entries.size() * 6);
    std::array<char, 3> buffer{};
    for (std::size_t i = 0; i < entries.size(); ++i) {
        // One reading of the title gives both its index pairs and its signature (as
        // text::title_signature defines it).
        std::uint64_t signature = 0;
        text::word_reader words(rendered_title(object(entries[i])), text::word_source::json_string);
        while (auto word = words.next(buffer)) {
            signature |= text::word_signature(*word);
            if (word->size() == 3) pairs.push_back((std::uint64_t{prefix_key(*word)} << 16) | i);
        }
        entries[i].filter_key = (entries[i].filter_key & ~text::signature_mask) | signature;
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    prefix_keys.resize(pairs.size());
    prefix_events.resize(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        prefix_keys[i] = static_cast<std::uint32_t>(pairs[i] >> 16);
        prefix_events[i] = static_cast<std::uint16_t>(pairs[i] & 0xFFFF);
    }
}

}  // namespace detail

snapshot::snapshot(std::int64_t data_version, std::vector<event> events) : data_version_(data_version) {
    std::vector<std::string> ids;
    ids.reserve(events.size());
    std::string scratch;
    for (const auto& e : events) {
        scratch.clear();
        append_event(scratch, e);
        ids.emplace_back(rendered_id(scratch));
    }
    std::vector<std::size_t> order(events.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return key{events[a].starts_at, ids[a]} < key{events[b].starts_at, ids[b]};
    });
    snapshot_builder builder(data_version);
    for (auto i : order) builder.add(events[i]);
    *this = *builder.finish();
}

void snapshot::push_block(std::shared_ptr<const block> b) {
    first_starts_.push_back(b->entries.front().starts_at);
    last_starts_.push_back(b->entries.back().starts_at);
    size_ += b->entries.size();
    rendered_bytes_ += b->rendered.size();
    blocks_.push_back(std::move(b));
}

std::shared_ptr<const snapshot> snapshot::with_changes(std::int64_t data_version,
                                                       std::vector<event_change> changes) const {
    // Every change rendered once; its id is read back from the rendering, as for held events.
    std::vector<std::string> rendered(changes.size());
    for (std::size_t i = 0; i < changes.size(); ++i) append_event(rendered[i], changes[i].now);
    auto id_of = [&](std::size_t i) { return rendered_id(rendered[i]); };
    // The provider table grows when a change names a provider it lacks; otherwise it is shared.
    auto providers = providers_;
    std::vector<std::uint64_t> provider_keys(changes.size());
    {
        std::unordered_map<std::string, std::uint16_t> index;
        for (std::size_t i = 0; i < providers_->size(); ++i)
            index.emplace((*providers_)[i], static_cast<std::uint16_t>(i));
        std::shared_ptr<std::vector<std::string>> grown;
        for (std::size_t i = 0; i < changes.size(); ++i) {
            const auto& name = changes[i].now.provider;
            auto it = index.find(name);
            std::uint16_t provider = 0;
            if (it != index.end()) {
                provider = it->second;
            } else {
                if (!grown) grown = std::make_shared<std::vector<std::string>>(*providers_);
                provider = intern_provider(*grown, index, name);
            }
            provider_keys[i] = provider_key(provider);
        }
        if (grown) providers = std::move(grown);
    }

    // The block a key belongs in: the first whose last key is not below it (the last block for a
    // key past every block).
    auto block_for = [&](const key& k) {
        std::size_t lo = 0;
        std::size_t hi = blocks_.size();
        while (lo < hi) {
            std::size_t mid = lo + (hi - lo) / 2;
            const block& b = *blocks_[mid];
            if (key_of(b, b.entries.back()) < k)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    };

    struct removal {
        std::size_t block;
        std::size_t index;
    };
    std::vector<removal> removals;
    struct insertion {
        std::size_t block;
        key at;
        std::size_t change;
    };
    std::vector<insertion> insertions;
    for (std::size_t i = 0; i < changes.size(); ++i) {
        const auto& c = changes[i];
        if (c.previous_starts_at) {
            key old{*c.previous_starts_at, id_of(i)};
            auto b = block_for(old);
            if (b == blocks_.size())
                throw std::invalid_argument("snapshot change: no event " + std::string(old.id) + " to replace");
            const block& blk = *blocks_[b];
            auto it = std::lower_bound(blk.entries.begin(), blk.entries.end(), old,
                                       [&](const entry& e, const key& k) { return key_of(blk, e) < k; });
            if (it == blk.entries.end() || key_of(blk, *it) != old)
                throw std::invalid_argument("snapshot change: no event " + std::string(old.id) + " to replace");
            removals.push_back({b, static_cast<std::size_t>(it - blk.entries.begin())});
        }
        key now{c.now.starts_at, id_of(i)};
        auto b = blocks_.empty() ? 0 : std::min(block_for(now), blocks_.size() - 1);
        insertions.push_back({b, now, i});
    }
    std::sort(removals.begin(), removals.end(), [](const removal& a, const removal& b) {
        return std::tie(a.block, a.index) < std::tie(b.block, b.index);
    });
    std::sort(insertions.begin(), insertions.end(),
              [](const insertion& a, const insertion& b) { return std::tie(a.block, a.at) < std::tie(b.block, b.at); });
    std::vector<std::string_view> ids;
    ids.reserve(changes.size());
    for (std::size_t i = 0; i < changes.size(); ++i) ids.push_back(id_of(i));
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end())
        throw std::invalid_argument("snapshot change: an event is changed twice");

    auto next = std::shared_ptr<snapshot>(new snapshot(data_version));
    next->providers_ = std::move(providers);
    next->blocks_.reserve(blocks_.size() + insertions.size() / block_events + 1);
    auto removal_it = removals.begin();
    auto insertion_it = insertions.begin();
    auto touched = [&](std::size_t b) {
        return (removal_it != removals.end() && removal_it->block == b) ||
               (insertion_it != insertions.end() && insertion_it->block == b);
    };
    // Events of touched blocks wait here until there are enough of them for a block of their own,
    // so a block that shrank is merged with the next one instead of staying small.
    std::vector<item> pending;
    auto emit_pending = [&] {
        if (pending.empty()) return;
        std::size_t parts = pending.size() > 2 * block_events ? (pending.size() + block_events - 1) / block_events : 1;
        std::size_t from = 0;
        for (std::size_t p = 0; p < parts; ++p) {
            std::size_t to = pending.size() * (p + 1) / parts;
            next->push_block(make_block(std::span<const item>(pending).subspan(from, to - from)));
            from = to;
        }
        pending.clear();
    };
    auto add_new = [&](const insertion& ins) {
        const auto& e = changes[ins.change].now;
        pending.push_back(item{entry_of(e, provider_keys[ins.change]), rendered[ins.change]});
    };

    for (std::size_t b = 0; b < blocks_.size(); ++b) {
        if (pending.empty() && !touched(b)) {
            next->push_block(blocks_[b]);
            continue;
        }
        const block& blk = *blocks_[b];
        for (std::size_t i = 0; i < blk.entries.size(); ++i) {
            const entry& e = blk.entries[i];
            if (removal_it != removals.end() && removal_it->block == b && removal_it->index == i) {
                ++removal_it;
                continue;
            }
            auto k = key_of(blk, e);
            while (insertion_it != insertions.end() && insertion_it->block == b && insertion_it->at <= k) {
                if (insertion_it->at == k)
                    throw std::invalid_argument("snapshot change: event " + std::string(k.id) +
                                                " is held already but was given as new");
                add_new(*insertion_it++);
            }
            pending.push_back(item{e, blk.object(e)});
        }
        while (insertion_it != insertions.end() && insertion_it->block == b) add_new(*insertion_it++);
        if (pending.size() >= block_events / 4) emit_pending();
    }
    while (insertion_it != insertions.end()) add_new(*insertion_it++);  // into an empty snapshot
    emit_pending();
    return next;
}

std::size_t snapshot::matches_bytes(const query& q) const noexcept {
    std::size_t bytes = 0;
    for_each_run(q, [&](std::string_view run) { bytes += (bytes == 0 ? 0 : 1) + run.size(); });
    return bytes;
}

std::optional<std::size_t> snapshot::match_ranges(const query& q, std::span<std::string_view> out,
                                                  std::optional<page_end>* next) const noexcept {
    std::size_t n = 0;
    bool too_many = false;
    auto page_next = for_each_run(q, [&](std::string_view run) {
        if (too_many) return;
        if (n == out.size()) {
            too_many = true;
            return;
        }
        // Every object in a block's text is followed by a ',', so the previous run's is there.
        if (n != 0) out[n - 1] = std::string_view(out[n - 1].data(), out[n - 1].size() + 1);
        out[n++] = run;
    });
    if (too_many) return std::nullopt;
    if (next) *next = page_next;
    return n;
}

void snapshot::append_matches(std::string& out, const query& q) const {
    // Sized first so a large answer is copied once, not again on each growth of `out`.
    out.reserve(out.size() + matches_bytes(q));
    bool any = false;
    for_each_run(q, [&](std::string_view run) {
        if (any) out.push_back(',');
        out.append(run);
        any = true;
    });
}

snapshot_builder::snapshot_builder(std::int64_t data_version)
    : built_(std::shared_ptr<snapshot>(new snapshot(data_version))) {}

void snapshot_builder::add(const event& e) {
    if (!current_) {
        current_ = std::make_unique<block>();
        current_->entries.reserve(snapshot::block_events);
    }
    auto begin = static_cast<std::uint32_t>(current_->rendered.size());
    append_event(current_->rendered, e);
    entry added = entry_of(e, 0);
    added.begin = begin;
    added.end = static_cast<std::uint32_t>(current_->rendered.size());
    auto id = rendered_id(current_->object(added));
    const bool first = built_->size_ == 0 && current_->entries.empty();
    if (!first) {
        time::instant previous =
            current_->entries.empty() ? built_->last_starts_.back() : current_->entries.back().starts_at;
        if (!(key{previous, last_id_} < key{e.starts_at, id})) {
            current_->rendered.resize(begin);
            throw std::invalid_argument("snapshot build: event " + std::string(id) +
                                        " does not come after the previous one in (starts_at, id) order");
        }
    }
    try {
        added.filter_key = provider_key(intern_provider(providers_, provider_index_, e.provider));
    } catch (...) {
        current_->rendered.resize(begin);
        throw;
    }
    last_id_.assign(id);
    current_->rendered.push_back(',');
    current_->entries.push_back(added);
    if (current_->entries.size() == snapshot::block_events) close_block();
}

void snapshot_builder::close_block() {
    if (!current_ || current_->entries.empty()) return;
    // Blocks live long: give back what the growing text reserved beyond its size.
    current_->rendered.shrink_to_fit();
    current_->index_titles();
    built_->push_block(std::shared_ptr<const block>(std::move(current_)));
}

std::shared_ptr<const snapshot> snapshot_builder::finish() {
    close_block();
    built_->providers_ = std::make_shared<const std::vector<std::string>>(std::move(providers_));
    return std::move(built_);
}

}  // namespace marquee::search
