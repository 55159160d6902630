// Accepted means storable: every value the normaliser and the stager accept fits what PostgreSQL
// and the snapshot hold; every other value is a rejection with a reason, never a failed feed.
#include "marquee/feed/reader.hpp"
#include "marquee/ingest/pipeline.hpp"
#include "marquee/text/utf8.hpp"
#include "marquee/time/local_datetime.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace marquee;

namespace {

struct outcome_counts {
    std::vector<std::string> accepted;  // event ids
    std::vector<feed::rejection> rejected;
};

outcome_counts read(std::string xml, feed::limits caps = {}, std::size_t batch_bytes = 1 << 20) {
    outcome_counts out;
    feed::for_each_event(xml,
                         [&](const feed::event_outcome& o) {
                             if (auto* r = std::get_if<feed::rejection>(&o))
                                 out.rejected.push_back(*r);
                             else
                                 out.accepted.emplace_back(std::get<feed::event_record>(o).event_id);
                         },
                         {batch_bytes, caps});
    return out;
}

std::string feed_of(const std::string& base_events) {
    return "<eventList><output>" + base_events + "</output></eventList>";
}

std::string event(const std::string& id, const std::string& attrs = "", const std::string& zones = "") {
    return "<event event_id='" + id + "' event_start_date='2021-06-30T21:00:00' event_end_date='2021-06-30T22:00:00' " +
           attrs + ">" + zones + "</event>";
}

std::string base(const std::string& events, const std::string& attrs = "title='T'") {
    return "<base_event base_event_id='b' sell_mode='online' " + attrs + ">" + events + "</base_event>";
}

std::string zones(int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out += "<zone zone_id='" + std::to_string(i) + "' price='1'/>";
    return out;
}

// One event is rejected for a reason naming `reason_part`; the event beside it is stored.
void expect_rejected_alone(const std::string& bad_base_event, const std::string& reason_part, feed::limits caps = {}) {
    for (std::size_t batch : {std::size_t{1} << 20, std::size_t{1}}) {
        auto seen = read(feed_of(bad_base_event + base(event("ok"))), caps, batch);
        ASSERT_EQ(seen.rejected.size(), 1u) << bad_base_event;
        EXPECT_NE(seen.rejected[0].reason.find(reason_part), std::string::npos)
            << bad_base_event << " → " << seen.rejected[0].reason;
        ASSERT_EQ(seen.accepted, std::vector<std::string>{"ok"}) << bad_base_event;
    }
}

}  // namespace

TEST(utf8, accepts_every_valid_form_and_nothing_else) {
    EXPECT_TRUE(text::is_valid_utf8(""));
    EXPECT_TRUE(text::is_valid_utf8("plain ascii\t\x01"));
    EXPECT_TRUE(text::is_valid_utf8("\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xEF\xBF\xBF \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"));
    for (std::string bad : {"\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xF0\x8F\xBF\xBF",
                            "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC2", "\xE2\x82", "a\xC2"})
        EXPECT_FALSE(text::is_valid_utf8(bad)) << text::quoted(bad);
    EXPECT_FALSE(text::is_valid_utf8(std::string("a\0b", 3)));
}

TEST(utf8, quoted_escapes_and_cuts_what_goes_to_a_log_line) {
    EXPECT_EQ(text::quoted("plain"), "'plain'");
    EXPECT_EQ(text::quoted("a\nb\r\tc\\d'e\x01\x7f"), "'a\\nb\\r\\tc\\\\d\\'e\\x01\\x7f'");
    EXPECT_EQ(text::quoted("caf\xC3\xA9 \xFF"), "'caf\xC3\xA9 \\xff'");
    auto long_value = std::string(10'000, 'x') + "\n";
    auto q = text::quoted(long_value, 16);
    EXPECT_EQ(q, "'" + std::string(16, 'x') + "'… (10001 bytes)");
    // A multi-byte character is never cut in half.
    EXPECT_EQ(text::quoted("ab\xC3\xA9", 3), "'ab\\xc3'… (4 bytes)");
}

TEST(feed_domain, rejects_invalid_utf8_in_every_text_field) {
    const std::string bad = "\xC3\x28";  // a lead byte without its continuation
    expect_rejected_alone(base(event("1"), "title='x" + bad + "'"), "title");
    expect_rejected_alone(base(event("1"), "title='T' organizer_company_id='o" + bad + "'"), "organizer_company_id");
    expect_rejected_alone(base(event("1" + bad)), "event_id");
    expect_rejected_alone(
        "<base_event base_event_id='b" + bad + "' sell_mode='online' title='T'>" + event("1") + "</base_event>",
        "base_event_id");
    expect_rejected_alone(base(event("1", "", "<zone zone_id='z" + bad + "' price='1'/>")), "zone_id");
    expect_rejected_alone(base(event("1", "", "<zone zone_id='z' name='n" + bad + "' price='1'/>")), "name");
}

TEST(feed_domain, rejects_year_zero_in_every_date_field_and_keeps_both_ends_of_the_range) {
    for (const char* field : {"event_start_date", "event_end_date", "sell_from", "sell_to"}) {
        std::string attrs = std::string(field) + "='0000-01-01T00:00:00'";
        std::string xml = "<event event_id='1' " + attrs;
        if (std::string(field) != "event_start_date") xml += " event_start_date='0001-01-01T00:00:00'";
        if (std::string(field) != "event_end_date") xml += " event_end_date='9999-12-31T23:59:59'";
        xml += "/>";
        expect_rejected_alone(base(xml), field);
    }
    auto seen =
        read(feed_of(base("<event event_id='1' event_start_date='0001-01-01T00:00:00' "
                          "event_end_date='9999-12-31T23:59:59' sell_from='0001-01-01T00:00:00' "
                          "sell_to='9999-12-31T23:59:59'/>")));
    EXPECT_EQ(seen.accepted, std::vector<std::string>{"1"});
    EXPECT_TRUE(seen.rejected.empty());
}

TEST(feed_domain, caps_free_text_at_the_attribute_limit) {
    feed::limits caps;
    caps.max_attribute_bytes = 300;
    auto at_cap = std::string(300, 't');
    EXPECT_EQ(read(feed_of(base(event("1"), "title='" + at_cap + "'")), caps).accepted.size(), 1u);
    expect_rejected_alone(base(event("1"), "title='" + at_cap + "x'"), "over the cap of 300", caps);
    expect_rejected_alone(base(event("1", "", "<zone zone_id='z' name='" + at_cap + "x' price='1'/>")), "name", caps);
}

TEST(feed_domain, keeps_control_characters_in_titles_exactly) {
    auto seen = std::string{};
    std::string xml = feed_of(base(event("1"), "title='a&#9;b&#10;c&#13;d\\e'"));
    feed::for_each_event(xml, [&](const feed::event_outcome& o) {
        ASSERT_TRUE(std::holds_alternative<feed::event_record>(o));
        seen = std::string(std::get<feed::event_record>(o).title);
    });
    EXPECT_EQ(seen, "a\tb\nc\rd\\e");
}

TEST(feed_domain, caps_zones_per_event_whatever_the_batch_size) {
    feed::limits caps;
    caps.max_zones_per_event = 3;
    EXPECT_EQ(read(feed_of(base(event("1", "", zones(3)))), caps, 1).accepted.size(), 1u);
    EXPECT_EQ(read(feed_of(base(event("1", "", zones(3)))), caps).accepted.size(), 1u);
    expect_rejected_alone(base(event("1", "", zones(4))), "more than 3 zones", caps);
}

TEST(feed_domain, caps_events_per_base_event_rejecting_those_past_the_cap) {
    feed::limits caps;
    caps.max_events_per_base_event = 2;
    for (std::size_t batch : {std::size_t{1} << 20, std::size_t{1}}) {
        auto seen = read(feed_of(base(event("1") + event("2") + event("3") + event("4"))), caps, batch);
        EXPECT_EQ(seen.accepted, (std::vector<std::string>{"1", "2"}));
        ASSERT_EQ(seen.rejected.size(), 2u);
        EXPECT_EQ(seen.rejected[0].event_id, "3");
        EXPECT_TRUE(seen.rejected[0].has_key);
        EXPECT_NE(seen.rejected[0].reason.find("more than 2 events"), std::string::npos);
    }
}

TEST(feed_domain, an_oversized_event_in_a_split_base_event_is_rejected_by_its_key) {
    feed::limits caps;
    caps.max_zones_per_event = 100;
    // 64-byte batches: the base_event is far larger, so it is read event by event.
    auto xml = feed_of(base(event("small", "", zones(2)) + event("huge", "", zones(5'000)) + event("after")));
    auto seen = read(xml, caps, 64);
    EXPECT_EQ(seen.accepted, (std::vector<std::string>{"small", "after"}));
    ASSERT_EQ(seen.rejected.size(), 1u);
    EXPECT_EQ(seen.rejected[0].event_id, "huge");
    EXPECT_EQ(seen.rejected[0].base_event_id, "b");
    EXPECT_TRUE(seen.rejected[0].has_key);
    EXPECT_NE(seen.rejected[0].reason.find("more than 100 zones"), std::string::npos);
}

TEST(feed_domain, a_split_event_with_too_many_nodes_is_rejected_without_its_zones) {
    feed::limits caps;
    caps.max_zones_per_event = 1;
    std::string junk;
    for (int i = 0; i < 500; ++i) junk += "<junk a='1' b='2'/>";  // 1,500 nodes: over 1 × 16 + 1024
    auto seen = read(feed_of(base(event("1", "", junk) + event("ok"))), caps, 64);
    EXPECT_EQ(seen.accepted, std::vector<std::string>{"ok"});
    ASSERT_EQ(seen.rejected.size(), 1u);
    EXPECT_NE(seen.rejected[0].reason.find("XML nodes"), std::string::npos) << seen.rejected[0].reason;
}

TEST(feed_domain, rejection_values_are_quoted_and_short_whatever_the_feed_sends) {
    std::string huge_id(100'000, 'i');
    auto seen = read(feed_of(base(event(huge_id))));
    ASSERT_EQ(seen.rejected.size(), 1u);
    EXPECT_FALSE(seen.rejected[0].has_key);
    EXPECT_LT(seen.rejected[0].event_id.size(), 200u);
    auto bad_date = std::string(100'000, '9');
    seen = read(feed_of(
        base("<event event_id='1' event_start_date='" + bad_date + "' event_end_date='2021-06-30T22:00:00'/>")));
    ASSERT_EQ(seen.rejected.size(), 1u);
    EXPECT_LT(seen.rejected[0].reason.size(), 300u);
    EXPECT_EQ(seen.rejected[0].reason.find('\n'), std::string::npos);
}

TEST(storable_instants, range_is_years_0001_to_9999_utc) {
    using namespace std::chrono;
    auto at = [](int y, unsigned m, unsigned d, unsigned h = 0, unsigned mi = 0, unsigned s = 0) {
        return time::zone("UTC").to_instant({y, m, d, h, mi, s});
    };
    EXPECT_TRUE(time::is_storable(at(1, 1, 1)));
    EXPECT_TRUE(time::is_storable(at(9999, 12, 31, 23, 59, 59)));
    EXPECT_FALSE(time::is_storable(at(1, 1, 1) - microseconds{1}));
    EXPECT_FALSE(time::is_storable(at(9999, 12, 31, 23, 59, 59) + seconds{1}));
    EXPECT_FALSE(time::is_storable(time::local_datetime{0, 12, 31, 23, 59, 59}));
    EXPECT_TRUE(time::is_storable(time::local_datetime{1, 1, 1, 0, 0, 0}));
}

TEST(storable_instants, an_event_leaving_the_range_in_its_time_zone_is_rejected_alone) {
    struct edge {
        const char* zone;
        const char* start;
        const char* end;
        bool stored;
    };
    // New York is behind UTC, Tokyo ahead of it (also with its local mean time in year 1).
    for (auto c : {edge{"America/New_York", "9999-12-31T18:00:00", "9999-12-31T18:59:59", true},
                   edge{"America/New_York", "9999-12-31T20:00:00", "9999-12-31T23:00:00", false},
                   edge{"Asia/Tokyo", "0001-01-01T00:00:00", "0001-01-01T01:00:00", false},
                   edge{"Asia/Tokyo", "0001-01-01T10:00:00", "0001-01-01T11:00:00", true},
                   edge{"Pacific/Kiritimati", "9999-12-31T23:59:59", "9999-12-31T23:59:59", true},
                   edge{"Etc/GMT+12", "9999-12-31T12:00:00", "9999-12-31T12:00:00", false},
                   edge{"Etc/GMT-14", "0001-01-01T13:59:59", "0001-01-01T13:59:59", false},
                   edge{"Etc/GMT-14", "0001-01-01T14:00:00", "0001-01-01T14:00:00", true}}) {
        time::zone zone(c.zone);
        ingest::known_hashes known;
        ingest::provider_context context{"p", &zone, &known, {}};
        std::string xml = feed_of(base(std::string("<event event_id='1' event_start_date='") + c.start +
                                       "' event_end_date='" + c.end + "'/>") +
                                  base(event("ok")));
        std::size_t rejected = 0;
        std::string reason;
        auto totals = ingest::stage_feed(xml, context, {1, 1 << 20}, [&](ingest::staged_batch& b) {
            rejected += b.rejections.size();
            if (!b.rejections.empty()) reason = b.rejections[0].reason;
        });
        EXPECT_EQ(totals.events_seen, 2u);
        EXPECT_EQ(rejected, c.stored ? 0u : 1u) << c.zone << " " << c.start << " " << reason;
        if (!c.stored) {
            EXPECT_NE(reason.find("0001-9999"), std::string::npos) << reason;
        }
    }
}

TEST(feed_domain, a_reference_to_nul_rejects_the_event_instead_of_cutting_the_value) {
    for (std::string ref : {"&#0;", "&#00;", "&#x0;", "&#X000;"}) {
        expect_rejected_alone(base(event("1"), "title='before" + ref + "after'"), "title");
        expect_rejected_alone(base(event("1" + ref + "2")), "event_id");
        expect_rejected_alone(base(event("1", "", "<zone zone_id='z' name='a" + ref + "b' price='1'/>")), "name");
    }
    // Other references, and text that merely looks like one, are untouched.
    auto seen = read(feed_of(base(event("1"), "title='&#10;&#x41;&amp;#0;'")));
    EXPECT_EQ(seen.accepted.size(), 1u);
}

TEST(feed_domain, short_unknown_attribute_names_are_compared_within_their_own_bytes) {
    // In a split base_event the start tag is parsed from a copy that ends right after it: a name
    // sharing a first letter with a known one ("o", "t", "s", "b") must not be read past its end
    // (ASan in CI reports it otherwise).
    auto seen = read(feed_of("<base_event o='1' t='2' s='3' b='4' base_event_id='b' sell_mode='online' title='T'>" +
                             event("1") + "</base_event>"),
                     {}, 1);
    EXPECT_EQ(seen.accepted, std::vector<std::string>{"1"});
}

TEST(feed_domain, an_empty_base_event_larger_than_a_batch_is_no_malformed_feed) {
    auto seen = read(feed_of("<base_event base_event_id='b' sell_mode='online' title='" + std::string(200, 'T') +
                             "'/>" + base(event("ok"))),
                     {}, 64);
    EXPECT_EQ(seen.accepted, std::vector<std::string>{"ok"});
    EXPECT_TRUE(seen.rejected.empty());
}
