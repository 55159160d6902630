// libFuzzer target: arbitrary bytes as a provider feed through the scanner, pugixml, the
// normaliser and the staging serialiser. Any outcome but a feed_error or a result is a bug, and
// what is staged must be storable: no text PostgreSQL would refuse (U+FFFD only appears where the
// feed had one, so no invalid UTF-8 was papered over) and no timestamp outside years 0001-9999.
// And it must not depend on how the feed was cut up: one thread and one batch, one thread and tiny
// batches, several threads and small batches all stage the same rows, rejections and new-event
// occurrences in the same order, or all fail the feed.
#include "marquee/error.hpp"
#include "marquee/ingest/pipeline.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

std::string_view field(std::string_view line, std::size_t index) {
    std::size_t begin = 0;
    for (std::size_t i = 0; i < index; ++i) {
        begin = line.find('\t', begin);
        if (begin == std::string_view::npos) return {};
        ++begin;
    }
    return line.substr(begin, line.find('\t', begin) - begin);
}

// Full rows (kinds n and c) carry start_local, end_local, starts_at, ends_at as fields 8 to 11.
void check_event_rows(std::string_view rows) {
    for (std::size_t begin = 0; begin < rows.size();) {
        auto end = rows.find('\n', begin);
        auto line = rows.substr(begin, end - begin);
        auto kind = field(line, 2);
        if (kind == "n" || kind == "c")
            for (std::size_t f = 8; f <= 11; ++f) {
                auto stamp = field(line, f);
                if (stamp.size() < 19 || stamp.substr(0, 4) == "0000" || stamp[4] != '-') __builtin_trap();
            }
        begin = end + 1;
    }
}

// Everything stage_feed handed the sink, joined across batches: equal for equal staging whatever
// the batches were. Occurrences point into their batch's new_zone_rows, so their rows are copied.
struct staged_whole {
    std::string event_rows, zone_rows, new_zone_rows;
    std::vector<std::tuple<std::uint64_t, std::string, bool, std::string>> occurrences;
    std::vector<std::tuple<std::string, std::string, std::string, bool>> rejections;
    std::size_t seen = 0, changed = 0, unchanged = 0;
    std::tuple<std::size_t, std::size_t, std::size_t, std::size_t> totals;
    bool operator==(const staged_whole&) const = default;
};

// Stages `feed` with `options`; nullopt when the feed as a whole failed.
// A seq orders occurrences across the whole feed; its value encodes the batch it came from
// ((batch << 32) | index), so only the order is the same whatever the cut. Each seq becomes its rank.
std::string renumbered_rows(const std::string& rows, const std::map<std::uint64_t, std::uint64_t>& rank) {
    std::string out;
    std::size_t begin = 0;
    while (begin < rows.size()) {
        auto end = rows.find('\n', begin);
        if (end == std::string::npos) end = rows.size();
        auto tab = rows.find('\t', begin);
        if (tab == std::string::npos || tab > end) __builtin_trap();
        auto seq = std::stoull(rows.substr(begin, tab - begin));
        out += std::to_string(rank.at(seq));
        out.append(rows, tab, end - tab);
        out += '\n';
        begin = end + 1;
    }
    return out;
}

void renumber(staged_whole& whole) {
    std::map<std::uint64_t, std::uint64_t> rank;
    for (std::size_t begin = 0; begin < whole.event_rows.size();) {
        auto end = whole.event_rows.find('\n', begin);
        rank.emplace(std::stoull(whole.event_rows.substr(begin, whole.event_rows.find('\t', begin) - begin)), 0);
        begin = end == std::string::npos ? whole.event_rows.size() : end + 1;
    }
    for (const auto& o : whole.occurrences) rank.emplace(std::get<0>(o), 0);
    std::uint64_t next = 0;
    for (auto& [seq, position] : rank) position = next++;
    whole.event_rows = renumbered_rows(whole.event_rows, rank);
    whole.zone_rows = renumbered_rows(whole.zone_rows, rank);
    for (auto& o : whole.occurrences) std::get<0>(o) = rank.at(std::get<0>(o));
}

std::optional<staged_whole> stage(const std::string& feed, const marquee::ingest::provider_context& context,
                                  const marquee::ingest::pipeline_options& options, bool had_replacement) {
    std::string document = feed;  // stage_feed works in place
    staged_whole whole;
    try {
        auto totals =
            marquee::ingest::stage_feed(document, context, options, [&](marquee::ingest::staged_batch& batch) {
                if (!batch.event_rows.empty() && batch.event_rows.back() != '\n') __builtin_trap();
                if (!had_replacement) {
                    for (const auto* rows : {&batch.event_rows, &batch.zone_rows, &batch.new_zone_rows})
                        if (rows->find(replacement_character) != std::string::npos) __builtin_trap();
                }
                check_event_rows(batch.event_rows);
                whole.event_rows += batch.event_rows;
                whole.zone_rows += batch.zone_rows;
                whole.new_zone_rows += batch.new_zone_rows;
                for (const auto& o : batch.occurrences) {
                    if (o.zone_rows_begin > o.zone_rows_end || o.zone_rows_end > batch.new_zone_rows.size())
                        __builtin_trap();
                    whole.occurrences.emplace_back(
                        o.seq, o.id.to_string(), o.rejected,
                        batch.new_zone_rows.substr(o.zone_rows_begin, o.zone_rows_end - o.zone_rows_begin));
                }
                for (const auto& r : batch.rejections)
                    whole.rejections.emplace_back(r.base_event_id, r.event_id, r.reason, r.has_key);
                whole.seen += batch.events_seen;
                whole.changed += batch.events_changed;
                whole.unchanged += batch.events_unchanged;
            });
        whole.totals = {totals.events_seen, totals.events_rejected, totals.events_changed, totals.events_unchanged};
        renumber(whole);
    } catch (const marquee::feed_error&) {
        return std::nullopt;
    }
    return whole;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const marquee::time::zone zone("Europe/Madrid");
    static const marquee::ingest::known_hashes known;
    const std::string feed(reinterpret_cast<const char*>(data), size);
    const bool had_replacement = feed.find(replacement_character) != std::string::npos;
    const marquee::ingest::provider_context context{"fuzz", &zone, &known, {}};
    // Small batches so that batch boundaries and split base_events are exercised too.
    const std::array<marquee::ingest::pipeline_options, 4> cuts{{
        {1, std::size_t{1} << 30},  // the whole feed in one batch
        {1, 1},                     // a batch per base_event
        {1, 64},
        {3, 64},  // batches parsed on three threads, handed on in feed order
    }};
    const auto reference = stage(feed, context, cuts[0], had_replacement);
    for (std::size_t i = 1; i < cuts.size(); ++i)
        if (stage(feed, context, cuts[i], had_replacement) != reference) __builtin_trap();
    return 0;
}
