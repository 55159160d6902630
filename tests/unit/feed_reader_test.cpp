#include "marquee/error.hpp"
#include "marquee/feed/reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace marquee::feed;

namespace {

// An owned copy of what the reader saw, since records only live during the callback.
struct seen_zone {
    std::string zone_id;
    std::optional<std::string> name;
    std::optional<std::int64_t> capacity;
    std::string price;
    std::optional<bool> numbered;
    bool operator==(const seen_zone&) const = default;
};
struct seen_event {
    std::string base_event_id, event_id, title;
    std::optional<std::string> organizer;
    sell_mode mode;
    std::string start, end;
    std::optional<bool> sold_out;
    std::optional<std::string> sell_from, sell_to;
    std::vector<seen_zone> zones;
    std::optional<std::string> min_price, max_price;
    bool operator==(const seen_event&) const = default;
};
struct seen_feed {
    std::vector<seen_event> events;
    std::vector<rejection> rejections;
};

std::string stamp(const marquee::time::local_datetime& t) {
    return marquee::time::format_date(t) + "T" + marquee::time::format_time(t);
}

seen_feed read(std::string xml, std::size_t batch_bytes = 1 << 20) {
    seen_feed seen;
    for_each_event(
        xml,
        [&](const event_outcome& outcome) {
            if (auto* r = std::get_if<rejection>(&outcome)) {
                seen.rejections.push_back(*r);
                return;
            }
            const auto& e = std::get<event_record>(outcome);
            seen_event s{
                std::string(e.base_event_id),
                std::string(e.event_id),
                std::string(e.title),
                e.organizer_company_id ? std::optional<std::string>(*e.organizer_company_id) : std::nullopt,
                e.mode,
                stamp(e.start),
                stamp(e.end),
                e.sold_out,
                e.sell_from ? std::optional<std::string>(stamp(*e.sell_from)) : std::nullopt,
                e.sell_to ? std::optional<std::string>(stamp(*e.sell_to)) : std::nullopt,
                {},
                e.min_price ? std::optional<std::string>(marquee::money::to_string(*e.min_price)) : std::nullopt,
                e.max_price ? std::optional<std::string>(marquee::money::to_string(*e.max_price)) : std::nullopt};
            for (const auto& z : e.zones)
                s.zones.push_back({std::string(z.zone_id), z.name ? std::optional<std::string>(*z.name) : std::nullopt,
                                   z.capacity, marquee::money::to_string(z.price), z.numbered});
            seen.events.push_back(std::move(s));
        },
        {batch_bytes, {}});
    return seen;
}

std::string sample(const std::string& name) {
    std::ifstream in(std::string(MARQUEE_SOURCE_DIR) + "/fixtures/provider-samples/" + name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string feed(const std::string& base_events) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><eventList version=\"1.0\"><output>" + base_events +
           "</output></eventList>";
}

std::string event_xml(const std::string& attrs, const std::string& zones = "") {
    return "<event event_start_date=\"2021-06-30T21:00:00\" event_end_date=\"2021-06-30T22:00:00\" " + attrs + ">" +
           zones + "</event>";
}

std::string base(const std::string& attrs, const std::string& events) {
    return "<base_event " + attrs + ">" + events + "</base_event>";
}

const std::string ok_base = R"(base_event_id="1" sell_mode="online" title="T")";

}  // namespace

TEST(feed_reader, reads_the_first_sample) {
    auto seen = read(sample("response_1.xml"));
    ASSERT_EQ(seen.events.size(), 3u);
    EXPECT_TRUE(seen.rejections.empty());
    const auto& camela = seen.events[0];
    EXPECT_EQ(camela.title, "Camela en concierto");
    EXPECT_EQ(camela.base_event_id, "291");
    EXPECT_EQ(camela.event_id, "291");
    EXPECT_EQ(camela.mode, sell_mode::online);
    EXPECT_FALSE(camela.organizer);
    EXPECT_EQ(camela.start, "2021-06-30T21:00:00");
    EXPECT_EQ(camela.end, "2021-06-30T22:00:00");
    EXPECT_EQ(camela.sold_out, false);
    ASSERT_EQ(camela.zones.size(), 3u);
    EXPECT_EQ(camela.zones[0].zone_id, "40");
    EXPECT_EQ(camela.zones[0].name, "Platea");
    EXPECT_EQ(camela.zones[0].capacity, 243);
    EXPECT_EQ(camela.zones[0].numbered, true);
    EXPECT_EQ(camela.min_price, "15.00");
    EXPECT_EQ(camela.max_price, "30.00");
    EXPECT_EQ(seen.events[1].organizer, "2");
}

TEST(feed_reader, keeps_repeated_zone_ids_and_counts_them_in_the_price_range) {
    auto seen = read(sample("response_1.xml"));
    const auto& morancos = seen.events[2];
    EXPECT_EQ(morancos.title, "Los Morancos");
    ASSERT_EQ(morancos.zones.size(), 2u);
    EXPECT_EQ(morancos.zones[0].zone_id, "186");
    EXPECT_EQ(morancos.zones[1].zone_id, "186");
    EXPECT_EQ(morancos.min_price, "65.00");
    EXPECT_EQ(morancos.max_price, "75.00");
}

TEST(feed_reader, rejects_the_impossible_date_alone) {
    auto seen = read(sample("response_2.xml"));
    ASSERT_EQ(seen.events.size(), 2u);
    ASSERT_EQ(seen.rejections.size(), 1u);
    EXPECT_EQ(seen.rejections[0].base_event_id, "444");
    EXPECT_EQ(seen.rejections[0].event_id, "1642");
    EXPECT_TRUE(seen.rejections[0].has_key);
    EXPECT_NE(seen.rejections[0].reason.find("2021-09-31"), std::string::npos) << seen.rejections[0].reason;
}

TEST(feed_reader, gives_the_same_events_whatever_the_batch_size) {
    // Every field of every event and every rejection, in order, for batch sizes from one byte (a
    // batch per event) to the whole feed, on each sample (response_2 holds a rejected event).
    for (const char* name : {"response_1.xml", "response_2.xml", "response_3.xml"}) {
        const auto xml = sample(name);
        const auto whole = read(xml, 1 << 20);
        ASSERT_FALSE(whole.events.empty()) << name;
        for (std::size_t batch : {std::size_t{1}, std::size_t{64}, std::size_t{700}, xml.size() / 2, xml.size()}) {
            const auto batched = read(xml, batch);
            EXPECT_TRUE(batched.events == whole.events) << name << " in batches of " << batch << " bytes";
            ASSERT_EQ(batched.rejections.size(), whole.rejections.size()) << name << ", batch " << batch;
            for (std::size_t i = 0; i < whole.rejections.size(); ++i) {
                EXPECT_EQ(batched.rejections[i].base_event_id, whole.rejections[i].base_event_id);
                EXPECT_EQ(batched.rejections[i].event_id, whole.rejections[i].event_id);
                EXPECT_EQ(batched.rejections[i].reason, whole.rejections[i].reason);
                EXPECT_EQ(batched.rejections[i].has_key, whole.rejections[i].has_key);
            }
        }
    }
}

TEST(feed_reader, decodes_entities_character_references_and_utf8) {
    auto seen = read(
        feed(base(R"(base_event_id="1" sell_mode="online" title="Sim&amp;Co &quot;Live&quot; &#233;&#x00F1; Ñandú 🎭")",
                  event_xml(R"(event_id="1")"))));
    ASSERT_EQ(seen.events.size(), 1u);
    EXPECT_EQ(seen.events[0].title, "Sim&Co \"Live\" éñ Ñandú 🎭");
}

TEST(feed_reader, accepts_a_bom_any_attribute_order_unknown_parts_and_whitespace) {
    std::string xml =
        "\xEF\xBB\xBF<?xml version='1.0' encoding='utf-8'?>\n<!-- a comment -->\n"
        "<eventList>\n<meta generated='now'/>\n <output>\n"
        "  <base_event\n title='T'\n\tnew_attr='x' sell_mode='online'  base_event_id='9'>\n"
        "   <banner>ignored <b>markup</b></banner>\n"
        "   <event sold_out='true' event_id='7' event_end_date='2021-06-30T22:00:00'\n"
        "          event_start_date='2021-06-30T21:00:00' extra='1'>\n"
        "     <zone price='10' zone_id='1' unknown='u'/>\n"
        "     <!-- <zone price='x' zone_id='2'/> -->\n"
        "   </event>\n"
        "  </base_event>\n </output>\n</eventList>\n<!-- trailing -->\n";
    auto seen = read(xml);
    ASSERT_EQ(seen.events.size(), 1u);
    EXPECT_TRUE(seen.rejections.empty());
    EXPECT_EQ(seen.events[0].event_id, "7");
    EXPECT_EQ(seen.events[0].sold_out, true);
    ASSERT_EQ(seen.events[0].zones.size(), 1u);
    EXPECT_FALSE(seen.events[0].zones[0].name);
    EXPECT_FALSE(seen.events[0].zones[0].capacity);
}

TEST(feed_reader, reads_an_event_with_zero_zones) {
    auto seen = read(feed(base(ok_base, event_xml(R"(event_id="1")"))));
    ASSERT_EQ(seen.events.size(), 1u);
    EXPECT_TRUE(seen.events[0].zones.empty());
    EXPECT_FALSE(seen.events[0].min_price);
    EXPECT_FALSE(seen.events[0].max_price);
}

TEST(feed_reader, reads_several_events_per_base_event_and_duplicates_in_order) {
    auto seen = read(feed(base(ok_base, event_xml(R"(event_id="1")") + event_xml(R"(event_id="2")")) +
                          base(ok_base, event_xml(R"(event_id="1")"))));
    ASSERT_EQ(seen.events.size(), 3u);
    EXPECT_EQ(seen.events[0].event_id, "1");
    EXPECT_EQ(seen.events[1].event_id, "2");
    EXPECT_EQ(seen.events[2].event_id, "1");
}

TEST(feed_reader, rejects_each_broken_rule_alone) {
    struct broken {
        std::string xml;
        std::string reason_part;
    };
    std::vector<broken> cases = {
        {base(ok_base,
              "<event event_start_date='2021-06-30T21:00:00' event_end_date='2021-06-30T20:00:00' event_id='1'/>"),
         "ends before"},
        {base(ok_base, "<event event_end_date='2021-06-30T20:00:00' event_id='1'/>"), "event_start_date"},
        {base(ok_base, event_xml("")), "missing event_id"},
        {base(ok_base, event_xml("event_id=''")), "event_id"},
        {base(R"(sell_mode="online" title="T")", event_xml("event_id='1'")), "base_event_id"},
        {base(R"(base_event_id="1" sell_mode="online")", event_xml("event_id='1'")), "title"},
        {base(R"(base_event_id="1" sell_mode="online" title="  ")", event_xml("event_id='1'")), "title"},
        {base(R"(base_event_id="1" title="T")", event_xml("event_id='1'")), "sell_mode"},
        {base(R"(base_event_id="1" sell_mode="maybe" title="T")", event_xml("event_id='1'")), "sell_mode"},
        {base(ok_base, event_xml("event_id='1'", "<zone zone_id='1' price='abc'/>")), "price"},
        {base(ok_base, event_xml("event_id='1'", "<zone zone_id='1'/>")), "price"},
        {base(ok_base, event_xml("event_id='1'", "<zone price='1'/>")), "zone_id"},
        {base(ok_base, event_xml("event_id='1'", "<zone zone_id='1' price='1' capacity='-3'/>")), "capacity"},
        {base(ok_base, event_xml("event_id='1'", "<zone zone_id='1' price='1' numbered='perhaps'/>")), "numbered"},
        {base(ok_base, event_xml("event_id='1' sold_out='nope'")), "sold_out"},
        {base(ok_base, event_xml("event_id='1' sell_to='2021-09-31T19:50:00'")), "sell_to"},
        {base(ok_base, event_xml("event_id='1' event_id='2'")), "repeats"},
    };
    for (const auto& c : cases) {
        auto seen = read(feed(c.xml + base(ok_base, event_xml("event_id='ok'"))));
        ASSERT_EQ(seen.rejections.size(), 1u) << c.xml;
        EXPECT_NE(seen.rejections[0].reason.find(c.reason_part), std::string::npos)
            << c.xml << " → " << seen.rejections[0].reason;
        ASSERT_EQ(seen.events.size(), 1u) << "the rest of the feed is still read: " << c.xml;
        EXPECT_EQ(seen.events[0].event_id, "ok");
    }
}

TEST(feed_reader, does_not_expand_custom_entities_or_fetch_dtds) {
    std::string xml =
        "<?xml version='1.0'?><!DOCTYPE eventList [<!ENTITY boom SYSTEM 'file:///etc/passwd'> <!ENTITY x 'XXX'>]>"
        "<eventList><output>" +
        base(R"(base_event_id="1" sell_mode="online" title="a&boom;b&x;")", event_xml("event_id='1'")) +
        "</output></eventList>";
    auto seen = read(xml);
    ASSERT_EQ(seen.events.size(), 1u);
    EXPECT_EQ(seen.events[0].title.find("root:"), std::string::npos);
    EXPECT_EQ(seen.events[0].title.find("XXX"), std::string::npos);
}

TEST(feed_reader, fails_the_whole_feed_when_it_is_not_a_readable_event_list) {
    std::vector<std::string> bad = {
        "",
        "   ",
        "<html><body>Maintenance</body></html>",
        "not xml at all",
        sample("response_1.xml").substr(0, 900),                           // truncated
        feed(base(ok_base, "<event event_id='1'></zone></event>")),        // mismatched tags
        feed(base(ok_base, event_xml("event_id='1'"))) + "<eventList/>",   // two roots
        "<eventList><output><base_event title='x'></output></eventList>",  // unclosed child
        "\xFF\xFE<\0e\0",                                                  // UTF-16
        "<?xml version='1.0' encoding='EBCDIC'?><eventList/>",
        // Not well-formed anywhere the reader skips or reads in pieces: a base_event whose end tag
        // names another element, a mismatch or a bad attribute inside a child nobody reads, an
        // unknown element beside the base_events.
        feed("<base_event\xF3 " + ok_base + ">" + event_xml("event_id='1'") + "</base_event>"),
        feed(base(ok_base, event_xml("event_id='1'")) + "<extra></other>"),
        feed(base(ok_base, "<extra><x></y></extra>" + event_xml("event_id='1'"))),
        feed(base(ok_base, "<extra a=b/>" + event_xml("event_id='1'"))),
        feed("<extra a=b/>" + base(ok_base, event_xml("event_id='1'"))),
        feed(base(ok_base, event_xml("event_id='1'", "<zone><a></b></zone>"))),
        // A raw NUL byte, wherever it is: in a value, between elements, in an element nobody reads.
        feed(base(R"(base_event_id="1" sell_mode="online" title="T)" + std::string(1, '\0') + "\"",
                  event_xml("event_id='1'"))),
        feed(base(ok_base, event_xml("event_id='1'") + std::string(1, '\0'))),
        feed(base(ok_base, "<extra>" + std::string(1, '\0') + "</extra>" + event_xml("event_id='1'"))),
        feed(std::string(1, '\0') + base(ok_base, event_xml("event_id='1'"))),
    };
    // The same verdict however the feed is cut: one batch, a batch per element (each read in pieces,
    // as an oversized base_event is), small batches.
    for (const auto& xml : bad)
        for (std::size_t batch : {std::size_t{1} << 20, std::size_t{1}, std::size_t{64}})
            EXPECT_THROW(read(xml, batch), marquee::feed_error) << xml << " in batches of " << batch << " bytes";
}

TEST(feed_reader, reads_an_empty_event_list) {
    EXPECT_TRUE(read("<eventList/>").events.empty());
    EXPECT_TRUE(read("<eventList><output></output></eventList>").events.empty());
}

TEST(feed_reader, converts_latin1_feeds_to_utf8) {
    std::string xml = "<?xml version='1.0' encoding='ISO-8859-1'?><eventList><output>" +
                      base(
                          "base_event_id='1' sell_mode='online' title='Espa\xF1"
                          "a'",
                          event_xml("event_id='1'")) +
                      "</output></eventList>";
    auto seen = read(xml);
    ASSERT_EQ(seen.events.size(), 1u);
    EXPECT_EQ(seen.events[0].title, "España");
}
