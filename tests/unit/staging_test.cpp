#include "marquee/ingest/staging.hpp"
#include "marquee/error.hpp"
#include "marquee/feed/reader.hpp"
#include "marquee/ingest/copy_text.hpp"
#include "marquee/ingest/pipeline.hpp"

#include <gtest/gtest.h>

using namespace marquee;

namespace {

std::string feed_with(const std::string& title, const std::string& price, int copies = 1) {
    std::string events;
    for (int i = 0; i < copies; ++i)
        events += "<base_event base_event_id='" + std::to_string(i) + "' sell_mode='online' title='" + title +
                  "'><event event_id='1' event_start_date='2021-06-30T21:00:00' "
                  "event_end_date='2021-06-30T22:00:00'><zone zone_id='1' price='" +
                  price + "'/></event></base_event>";
    return "<eventList><output>" + events + "</output></eventList>";
}

struct staged {
    std::string events;
    std::string zones;      // zones of changed events, for the staging table
    std::string new_zones;  // zones of new events, for the zones table
    ingest::pipeline_totals totals;
};

staged stage(std::string xml, const ingest::known_hashes& known, unsigned threads = 1, std::size_t batch = 1 << 20) {
    static const time::zone utc("UTC");
    staged out;
    ingest::provider_context context{"default", &utc, &known, {}};
    out.totals = ingest::stage_feed(xml, context, {threads, batch}, [&](ingest::staged_batch& b) {
        out.events += b.event_rows;
        out.zones += b.zone_rows;
        out.new_zones += b.new_zone_rows;
    });
    return out;
}

// The known hashes a store would hold after ingesting `xml`.
ingest::known_hashes hashes_of(std::string xml) {
    ingest::known_hashes known;
    std::string scratch;
    feed::for_each_event(xml, [&](const feed::event_outcome& outcome) {
        if (auto* e = std::get_if<feed::event_record>(&outcome))
            known[ids::event_uuid("default", e->base_event_id, e->event_id)] = ingest::content_hash(*e, "UTC", scratch);
    });
    return known;
}

}  // namespace

TEST(copy_text, escapes_copy_specials) {
    std::string out;
    ingest::append_copy_text(out, "a\\b\tc\nd\re");
    EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
}

TEST(copy_text, replaces_invalid_utf8_and_drops_nul) {
    std::string out;
    ingest::append_copy_text(
        out, std::string("ok \xC3\xB1 \xFF \xC3 \xED\xA0\x80 \xF0\x9F\x8E\xAD", 19) + std::string(1, '\0'));
    EXPECT_EQ(out, "ok \xC3\xB1 \xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xF0\x9F\x8E\xAD");
}

TEST(staging, stages_new_events_with_their_zones) {
    auto out = stage(feed_with("Show", "10.50"), {});
    EXPECT_EQ(out.totals.events_seen, 1u);
    EXPECT_EQ(out.totals.events_changed, 1u);
    EXPECT_NE(out.events.find("\tn\t0\t1\tShow\tonline\t\\N\t2021-06-30 21:00:00\t2021-06-30 22:00:00\t"
                              "2021-06-30 21:00:00+00\t2021-06-30 22:00:00+00\t\\N\t\\N\t\\N\t10.50\t10.50\t1\t"),
              std::string::npos)
        << out.events;
    auto id = ids::event_uuid("default", "0", "1").to_string();
    EXPECT_EQ(out.new_zones, id + "\t0\t1\t\\N\t\\N\t10.50\t\\N\n") << "straight to the zones table, no seq";
    EXPECT_TRUE(out.zones.empty());
}

TEST(staging, skips_zones_of_unchanged_events) {
    auto xml = feed_with("Show", "10.50");
    auto out = stage(xml, hashes_of(xml));
    EXPECT_EQ(out.totals.events_unchanged, 1u);
    EXPECT_EQ(out.totals.events_changed, 0u);
    EXPECT_TRUE(out.zones.empty());
    EXPECT_TRUE(out.new_zones.empty());
    EXPECT_NE(out.events.find("\tu\t"), std::string::npos);
}

TEST(staging, detects_a_change_anywhere_in_the_event) {
    auto known = hashes_of(feed_with("Show", "10.50"));
    EXPECT_EQ(stage(feed_with("Show!", "10.50"), known).totals.events_changed, 1u);
    EXPECT_EQ(stage(feed_with("Show", "10.51"), known).totals.events_changed, 1u);
    EXPECT_EQ(stage(feed_with("Show", "10.5"), known).totals.events_unchanged, 1u) << "same price, other spelling";
}

TEST(staging, stages_zones_of_changed_events_with_their_occurrence) {
    auto out = stage(feed_with("Show", "10.51"), hashes_of(feed_with("Show", "10.50")));
    EXPECT_NE(out.events.find("\tc\t"), std::string::npos);
    EXPECT_TRUE(out.new_zones.empty());
    auto id = ids::event_uuid("default", "0", "1").to_string();
    EXPECT_EQ(out.zones, "0\t" + id + "\t0\t1\t\\N\t\\N\t10.51\t\\N\n");
}

TEST(staging, a_time_zone_change_changes_every_event) {
    auto xml = feed_with("Show", "10");
    auto known = hashes_of(xml);
    static const time::zone madrid("Europe/Madrid");
    ingest::provider_context context{"default", &madrid, &known, {}};
    auto totals = ingest::stage_feed(xml, context, {1, 1 << 20}, [](ingest::staged_batch&) {});
    EXPECT_EQ(totals.events_changed, 1u);
}

TEST(staging, parallel_batches_come_out_in_feed_order) {
    auto xml = feed_with("Show", "10", 200);
    auto serial = stage(xml, {}, 1, 1 << 20);
    auto parallel = stage(xml, {}, 4, 256);
    EXPECT_EQ(parallel.totals.events_seen, 200u);
    // Sequence numbers differ by batching; rows after them must be the same and in the same order.
    auto strip_seq = [](const std::string& rows) {
        std::string out;
        std::size_t pos = 0;
        while (pos < rows.size()) {
            auto tab = rows.find('\t', pos);
            auto nl = rows.find('\n', pos);
            out += rows.substr(tab, nl - tab + 1);
            pos = nl + 1;
        }
        return out;
    };
    EXPECT_EQ(strip_seq(serial.events), strip_seq(parallel.events));
    EXPECT_EQ(serial.new_zones, parallel.new_zones);
}

TEST(staging, a_malformed_batch_fails_the_whole_feed_from_any_thread) {
    std::string xml = feed_with("Show", "10", 50);
    xml.replace(xml.find("</event>", xml.size() / 2), 8, "</evnt>");
    EXPECT_THROW(stage(xml, {}, 4, 128), marquee::feed_error);
}
