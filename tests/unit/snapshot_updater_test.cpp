// A snapshot changed by deltas must answer every query exactly as a snapshot built afresh from the
// same events would: checked over random changes of every kind (new events, moves within and
// across blocks, edits in place, whole blocks emptied, blocks overfilled) and several queries.
#include "marquee/search/snapshot_updater.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using marquee::search::event;
using marquee::search::event_change;
using marquee::search::query;
using marquee::search::snapshot;
using marquee::search::snapshot_builder;
using marquee::search::snapshot_updater;
using namespace std::chrono_literals;

namespace {

const marquee::time::instant epoch{std::chrono::microseconds{1'600'000'000'000'000}};

std::string uuid_for(int n) {
    return fmt::format("{:08x}-0000-5000-8000-{:012x}", static_cast<unsigned>(n * 2654435761U), n);
}

// Events start on whole minutes within a few days, so many share a start and ids order them.
event make_event(int n, int minute, int length_minutes, int revision) {
    event e;
    e.id = uuid_for(n);
    e.title = fmt::format("Event {} rev {}", n, revision);
    e.start_date = "2021-06-30";
    e.start_time = "21:00:00";
    e.end_date = "2021-06-30";
    e.end_time = "22:00:00";
    if (revision % 3 != 0) e.min_price = fmt::format("{}.50", revision % 90);
    e.max_price = e.min_price;
    e.starts_at = epoch + std::chrono::minutes{minute};
    e.ends_at = e.starts_at + std::chrono::minutes{length_minutes};
    return e;
}

std::string all_matches(const snapshot& s, const query& q) {
    std::string out;
    s.append_matches(out, q);
    return out;
}

// What the ranges of match_ranges say, joined as a response would send them.
std::string ranges_joined(const snapshot& s, const query& q) {
    std::vector<std::string_view> ranges(s.size() + 1);  // at most a run per event
    auto n = s.match_ranges(q, ranges);
    EXPECT_TRUE(n.has_value());
    std::string out;
    for (std::size_t i = 0; i < n.value_or(0); ++i) out.append(ranges[i]);
    return out;
}

std::vector<query> queries() {
    std::vector<query> qs(5);
    qs[1].starts_at = epoch + 600min;
    qs[2].ends_at = epoch + 3000min;
    qs[3].starts_at = epoch + 1000min;
    qs[3].ends_at = epoch + 1500min;
    qs[4].starts_at = epoch + 2000min;
    qs[4].ends_at = epoch + 2000min + 45min;
    return qs;
}

void expect_same_answers(const snapshot& changed, const std::map<int, event>& truth, std::int64_t version) {
    std::vector<event> all;
    for (const auto& [n, e] : truth) all.push_back(e);
    snapshot fresh(version, std::move(all));
    ASSERT_EQ(changed.size(), fresh.size());
    ASSERT_EQ(changed.data_version(), version);
    ASSERT_EQ(changed.rendered_bytes(), fresh.rendered_bytes());
    for (std::size_t i = 0; const auto& q : queries()) {
        // Compared as booleans: a failure would print megabytes of JSON otherwise.
        auto expected = all_matches(fresh, q);
        ASSERT_TRUE(all_matches(changed, q) == expected) << "query " << i;
        ASSERT_EQ(changed.matches_bytes(q), expected.size()) << "query " << i;
        ASSERT_TRUE(ranges_joined(changed, q) == expected) << "query " << i;
        ++i;
    }
}

snapshot_updater loaded(const std::map<int, event>& truth, std::int64_t version) {
    std::vector<event> sorted;
    for (const auto& [n, e] : truth) sorted.push_back(e);
    std::sort(sorted.begin(), sorted.end(),
              [](const event& a, const event& b) { return std::tie(a.starts_at, a.id) < std::tie(b.starts_at, b.id); });
    snapshot_updater updater;
    auto load = updater.begin_full_load(version);
    for (const auto& e : sorted) load.add(e);
    updater.finish(std::move(load));
    return updater;
}

std::size_t shared_blocks(const snapshot& a, const snapshot& b);

}  // namespace

TEST(snapshot_updater, deltas_answer_as_a_fresh_build_would) {
    std::mt19937 rng(20261126);
    std::map<int, event> truth;
    int next_id = 0;
    for (; next_id < 6000; ++next_id) truth[next_id] = make_event(next_id, next_id % 4000, 30 + next_id % 300, 0);
    std::int64_t version = 1;
    auto updater = loaded(truth, version);
    expect_same_answers(*updater.current(), truth, version);

    for (int round = 0; round < 60; ++round) {
        std::map<int, event> changed;
        const int kind = round % 5;
        const int count = kind == 4 ? 1500 : static_cast<int>(rng() % 60) + 1;
        for (int i = 0; i < count; ++i) {
            int n = 0;
            if (kind == 0 || rng() % 4 == 0) {
                n = next_id++;  // new
            } else if (kind == 4) {
                n = static_cast<int>(truth.size() / 3) + i;  // a long run of neighbours: empties blocks
            } else {
                n = static_cast<int>(rng() % static_cast<unsigned>(next_id));
                if (!truth.contains(n)) continue;
            }
            int minute =
                kind == 3
                    ? truth.contains(n) ? static_cast<int>((truth[n].starts_at - epoch) / std::chrono::minutes{1}) : 7
                : kind == 4 ? 3999
                            : static_cast<int>(rng() % 4000);
            changed[n] = make_event(n, minute, 10 + static_cast<int>(rng() % 500), round + 1);
        }
        std::vector<event> delta;
        for (auto& [n, e] : changed) {
            truth[n] = e;
            delta.push_back(e);
        }
        std::shuffle(delta.begin(), delta.end(), rng);
        ++version;
        updater.apply(version, std::move(delta));
        SCOPED_TRACE(fmt::format("round {} kind {}", round, kind));
        expect_same_answers(*updater.current(), truth, version);
    }
}

TEST(snapshot_updater, a_small_change_copies_only_the_blocks_it_touches) {
    std::map<int, event> truth;
    for (int n = 0; n < 20 * static_cast<int>(snapshot::block_events); ++n) truth[n] = make_event(n, n, 60, 0);
    auto updater = loaded(truth, 1);
    auto before = updater.current();
    ASSERT_EQ(before->block_count(), 20U);
    // One event moves from the first block to the last, another changes in place.
    updater.apply(2, {make_event(5, 30000, 60, 1), make_event(9000, 9000, 90, 1)});
    EXPECT_EQ(shared_blocks(*updater.current(), *before), 17U);
    EXPECT_EQ(updater.current()->size(), before->size());
}

TEST(snapshot_updater, a_delta_that_does_not_fit_changes_nothing) {
    std::map<int, event> truth;
    for (int n = 0; n < 10; ++n) truth[n] = make_event(n, n, 60, 0);
    auto updater = loaded(truth, 1);
    auto before = updater.current();
    EXPECT_THROW(updater.apply(2, {make_event(3, 1, 60, 1), make_event(3, 2, 60, 2)}), std::invalid_argument);
    event not_uuid = make_event(1, 1, 60, 1);
    not_uuid.id = "not-a-uuid";
    EXPECT_THROW(updater.apply(2, {not_uuid}), std::invalid_argument);
    EXPECT_EQ(updater.current(), before);
    // Still consistent: a valid delta applies.
    updater.apply(2, {make_event(3, 100, 60, 1)});
    truth[3] = make_event(3, 100, 60, 1);
    expect_same_answers(*updater.current(), truth, 2);
}

TEST(snapshot, with_changes_refuses_positions_it_does_not_hold) {
    std::vector<event> events{make_event(1, 1, 60, 0), make_event(2, 2, 60, 0)};
    snapshot s(1, events);
    // Given as new while held: a second copy would be served.
    EXPECT_THROW((void)s.with_changes(2, {event_change{make_event(1, 1, 60, 1), std::nullopt}}), std::invalid_argument);
    // Given the wrong previous start.
    EXPECT_THROW((void)s.with_changes(2, {event_change{make_event(1, 1, 60, 1), epoch + 2min}}), std::invalid_argument);
    // An unknown id at a held start.
    EXPECT_THROW((void)s.with_changes(2, {event_change{make_event(3, 1, 60, 1), epoch + 1min}}), std::invalid_argument);
}

TEST(snapshot, changes_into_an_empty_snapshot) {
    snapshot empty(1, {});
    auto s = empty.with_changes(
        2, {event_change{make_event(2, 2, 60, 0), std::nullopt}, event_change{make_event(1, 1, 60, 0), std::nullopt}});
    std::map<int, event> truth{{1, make_event(1, 1, 60, 0)}, {2, make_event(2, 2, 60, 0)}};
    expect_same_answers(*s, truth, 2);
}

TEST(snapshot_builder, refuses_events_out_of_order) {
    snapshot_builder b(1);
    b.add(make_event(2, 5, 60, 0));
    EXPECT_THROW(b.add(make_event(1, 4, 60, 0)), std::invalid_argument);  // earlier start
    EXPECT_THROW(b.add(make_event(2, 5, 60, 0)), std::invalid_argument);  // the same event again
    int lower_id = 3;
    while (uuid_for(lower_id) > uuid_for(2)) ++lower_id;
    EXPECT_THROW(b.add(make_event(lower_id, 5, 60, 0)), std::invalid_argument);  // same start, lower id
    b.add(make_event(4, 6, 60, 0));
    EXPECT_EQ(b.finish()->size(), 2U);
}

TEST(event_positions, finds_what_was_set_across_merges) {
    marquee::search::event_positions positions;
    std::vector<std::pair<marquee::ids::uuid, marquee::time::instant>> initial;
    for (int n = 0; n < 1000; ++n) initial.emplace_back(*marquee::ids::parse_uuid(uuid_for(n)), epoch + n * 1min);
    positions.assign(initial);
    for (int n = 500; n < 20000; ++n) positions.set(*marquee::ids::parse_uuid(uuid_for(n)), epoch + n * 2min);
    EXPECT_EQ(positions.size(), 20000U);
    for (int n = 0; n < 20000; n += 7)
        EXPECT_EQ(positions.find(*marquee::ids::parse_uuid(uuid_for(n))), epoch + n * (n < 500 ? 1min : 2min)) << n;
    EXPECT_FALSE(positions.find(*marquee::ids::parse_uuid(uuid_for(20001))).has_value());
}

namespace {

// Blocks are immutable and shared by pointer; what the answers show cannot tell them apart, so this
// counts them through the ranges' addresses: a block held by both answers from the same bytes.
std::size_t shared_blocks(const snapshot& a, const snapshot& b) {
    auto starts = [](const snapshot& s) {
        std::vector<std::string_view> ranges(s.block_count() + 1);
        auto n = s.match_ranges({}, ranges).value();
        std::unordered_set<const char*> out;
        for (std::size_t i = 0; i < n; ++i) out.insert(ranges[i].data());
        return out;
    };
    auto in_b = starts(b);
    std::size_t shared = 0;
    for (const char* p : starts(a)) shared += in_b.contains(p) ? 1 : 0;
    return shared;
}

}  // namespace
