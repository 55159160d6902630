// Accepted means storable, across each field's whole domain: thousands of events drawn from every
// field's range and its edges (both ends of every date field, time zones from UTC-12 to UTC+14 and
// their local mean times, price and capacity limits, long, control-character and invalid UTF-8
// text, references to NUL) go through the real ingestion into a real PostgreSQL. Each is either
// rejected by the core with a reason or stored and served back by marquee-api exactly; the feed as
// a whole never fails.
#include "harness/harness.hpp"
#include "marquee/domain/provider.hpp"
#include "marquee/ids/event_id.hpp"
#include "marquee/money/price.hpp"
#include "marquee/pg/connection.hpp"
#include "marquee/pg/ingestion_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

namespace mt = marquee::testing;
using namespace std::chrono_literals;
using namespace marquee;

namespace {

enum class expect { stored, rejected, either };

struct generated_zone {
    std::string zone_id, price;  // as decoded text
    std::optional<std::string> name, capacity;
};

struct generated_event {
    std::string base_event_id, event_id, title, sell_mode, start, end;
    std::optional<std::string> organizer, sell_from, sell_to;
    std::vector<generated_zone> zones;
    expect expected = expect::either;
    std::string why;  // what the edge is, for failure messages
};

// XML attribute text for a decoded value. Tab, newline and carriage return must be references
// (a literal one is normalised to a space); other control characters are written as references
// too, and bytes >= 0x80 pass through as they are (valid or not).
std::string xml_attribute(std::string_view value) {
    std::string out;
    for (char ch : value) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("&#{};", c);
                else
                    out.push_back(ch);
        }
    }
    return out;
}

class generator {
public:
    explicit generator(std::uint64_t seed) : random_(seed) {}

    std::string datetime(expect& e, std::string& why) {
        static const std::vector<std::string> edges = {
            "0001-01-01T00:00:00", "0001-01-01T23:59:59", "9999-12-31T00:00:00", "9999-12-31T23:59:59",
            "1970-01-01T00:00:00", "2000-02-29T12:00:00", "1899-12-31T23:59:59", "2021-03-28T02:30:00",
            "2021-10-31T02:30:00", "2021-06-30T21:00:00"};
        static const std::vector<std::string> invalid = {"0000-01-01T00:00:00",  "0000-12-31T23:59:59",
                                                         "2021-09-31T10:00:00",  "2021-02-29T10:00:00",
                                                         "2021-06-30T24:00:00",  "2021-06-30T23:60:00",
                                                         "2021-06-30T23:59:60",  "2021-13-01T00:00:00",
                                                         "10000-01-01T00:00:00", "2021-06-30 21:00:00",
                                                         "2021-06-30T21:00:00Z", "-001-01-01T00:00:00",
                                                         "2021-06-30T21:00",     ""};
        auto pick = uniform(0, 99);
        if (pick < 40) return edges[uniform(0, edges.size() - 1)];
        if (pick < 43) {
            e = expect::rejected;
            why = "invalid date-time";
            return invalid[uniform(0, invalid.size() - 1)];
        }
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", uniform(1, 9999), uniform(1, 12), uniform(1, 28),
                           uniform(0, 23), uniform(0, 59), uniform(0, 59));
    }

    std::string text(expect& e, std::string& why, std::size_t cap) {
        switch (uniform(0, 29)) {
            case 0:
                return std::string(cap, 'T');  // exactly at the cap
            case 1:
                e = expect::rejected;
                why = "text over the attribute cap";
                return std::string(cap + 1, 'T');
            case 2:
                return "tab\there\nnewline\rreturn \x01\x1f\x7f controls";
            case 3:
                return "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAB \xEF\xBF\xBF \xF4\x8F\xBF\xBF";  // up to U+10FFFF
            case 4:
                e = expect::rejected;
                why = "invalid UTF-8";
                return std::string("bad \xC3\x28 utf8");
            case 5:
                e = expect::rejected;
                why = "a surrogate in UTF-8";
                return std::string("surrogate \xED\xA0\x80");
            case 6:
                e = expect::rejected;
                why = "overlong UTF-8";
                return std::string("overlong \xC0\xAF");
            case 7:
                return "quotes \" ' and & < > \\ backslash";
            default:
                return fmt::format("Event {}", uniform(0, 1'000'000));
        }
    }

    std::string price(expect& e, std::string& why) {
        static const std::vector<std::string> edges = {
            "0",      "0.0", "0.000001", "15.00", "1000000000000", "1000000000000.999999", "999999999999.999999",
            " 12.5 ", "7"};
        static const std::vector<std::string> invalid = {"-1",        "1e5", "1000000000001",
                                                         "0.0000001", "abc", "",
                                                         "1.",        ".5",  "+3",
                                                         "NaN",       "1,5", "99999999999999999999999999"};
        auto pick = uniform(0, 99);
        if (pick < 45) return edges[uniform(0, edges.size() - 1)];
        if (pick < 49) {
            e = expect::rejected;
            why = "invalid price";
            return invalid[uniform(0, invalid.size() - 1)];
        }
        return fmt::format("{}.{:02}", uniform(0, 100'000), uniform(0, 99));
    }

    std::optional<std::string> capacity(expect& e, std::string& why) {
        switch (uniform(0, 19)) {
            case 0:
                return std::nullopt;
            case 1:
                return "9223372036854775807";
            case 2:
                e = expect::rejected;
                why = "capacity over int64";
                return "9223372036854775808";
            case 3:
                e = expect::rejected;
                why = "negative capacity";
                return "-1";
            case 4:
                return "0";
            default:
                return std::to_string(uniform(1, 100'000));
        }
    }

    generated_event event(std::size_t index, std::size_t cap) {
        generated_event g;
        g.base_event_id = fmt::format("b{}", index);
        g.event_id = fmt::format("e{}", index % 7);
        g.sell_mode = uniform(0, 9) < 8 ? "online" : "offline";
        g.title = text(g.expected, g.why, cap);
        if (uniform(0, 3) == 0) g.organizer = text(g.expected, g.why, cap);
        g.start = datetime(g.expected, g.why);
        // Mostly in order; a random end is before the start half of the time.
        g.end = uniform(0, 3) != 0 ? g.start : datetime(g.expected, g.why);
        if (uniform(0, 4) == 0) g.sell_from = datetime(g.expected, g.why);
        if (uniform(0, 4) == 0) g.sell_to = datetime(g.expected, g.why);
        auto zones = uniform(0, 4);
        for (std::size_t z = 0; z < zones; ++z) {
            generated_zone zone{fmt::format("z{}", uniform(0, 3)), price(g.expected, g.why), std::nullopt,
                                capacity(g.expected, g.why)};
            if (uniform(0, 1) == 0) zone.name = text(g.expected, g.why, cap);
            g.zones.push_back(std::move(zone));
        }
        // A reference to NUL (xml_attribute writes "&#0;") would cut a value short if it were
        // decoded as it is.
        if (uniform(0, 40) == 0) {
            g.title += std::string(1, '\0') + "after nul";
            g.expected = expect::rejected;
            g.why = "a reference to NUL";
        }
        return g;
    }

private:
    std::size_t uniform(std::size_t low, std::size_t high) {
        return std::uniform_int_distribution<std::size_t>(low, high)(random_);
    }
    std::mt19937_64 random_;
};

std::string xml_of(const generated_event& g) {
    auto attribute = [](const char* name, const std::string& value) {
        return fmt::format(" {}=\"{}\"", name, xml_attribute(value));
    };
    std::string out = "<base_event" + attribute("base_event_id", g.base_event_id) +
                      attribute("sell_mode", g.sell_mode) + attribute("title", g.title);
    if (g.organizer) out += attribute("organizer_company_id", *g.organizer);
    out += "><event" + attribute("event_id", g.event_id) + attribute("event_start_date", g.start) +
           attribute("event_end_date", g.end);
    if (g.sell_from) out += attribute("sell_from", *g.sell_from);
    if (g.sell_to) out += attribute("sell_to", *g.sell_to);
    out += ">";
    for (const auto& z : g.zones) {
        out += "<zone" + attribute("zone_id", z.zone_id) + attribute("price", z.price);
        if (z.name) out += attribute("name", *z.name);
        if (z.capacity) out += attribute("capacity", *z.capacity);
        out += "/>";
    }
    return out + "</event></base_event>\n";
}

// Hand-picked events that must be stored: the test cannot pass by rejecting everything.
std::vector<generated_event> must_store() {
    std::vector<generated_event> out;
    auto add = [&](std::string why, std::string title, std::string start, std::string end, std::string price) {
        generated_event g;
        g.base_event_id = fmt::format("edge{}", out.size());
        g.event_id = "1";
        g.sell_mode = "online";
        g.title = std::move(title);
        g.start = std::move(start);
        g.end = std::move(end);
        g.zones.push_back({"z", std::move(price), "zone", "9223372036854775807"});
        g.expected = expect::stored;
        g.why = std::move(why);
        out.push_back(std::move(g));
    };
    add("the middle of the range", "Camela en concierto", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "15.00");
    add("the largest price", "max", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "1000000000000.999999");
    add("the smallest price", "min", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "0.000001");
    add("control characters", "a\tb\nc\rd\x01\x7f", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "1");
    add("four-byte UTF-8", "\xF0\x9F\x8E\xAB \xF4\x8F\xBF\xBF", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "1");
    add("a title at the cap", std::string(4096, 'x'), "2021-06-30T21:00:00", "2021-06-30T22:00:00", "1");
    return out;
}

struct provider_case {
    std::string name, time_zone;
};

// Providers whose time zones span every offset, and local mean times in year 1.
const std::vector<provider_case> providers = {
    {"utc", "UTC"},
    {"minus12", "Etc/GMT+12"},
    {"plus14", "Etc/GMT-14"},
    {"tokyo", "Asia/Tokyo"},
    {"kiritimati", "Pacific/Kiritimati"},
    {"new-york", "America/New_York"},
    {"lord-howe", "Australia/Lord_Howe"},
};

struct stored_event {
    std::string title, start_local, end_local, sell_from, sell_to, organizer, min_price, max_price, zones;
    bool ever_online = false;
};

std::string local_text(const std::string& feed_value) {
    auto text = feed_value;
    text[10] = ' ';
    return text;
}

std::string zones_text(const generated_event& g) {
    std::string out;
    for (std::size_t i = 0; i < g.zones.size(); ++i) {
        const auto& z = g.zones[i];
        auto price = money::parse_price(z.price);
        out += fmt::format("{}|{}|{}|{}|{};", i, z.zone_id, z.name.value_or("<null>"), z.capacity.value_or("<null>"),
                           price ? money::to_string(*price) : "?");
    }
    return out;
}

// The raw text of a JSON number member after `"key":` in `object`.
std::string raw_member(std::string_view object, std::string_view key) {
    auto at = object.find(fmt::format("\"{}\":", key));
    if (at == std::string_view::npos) return "<missing>";
    auto begin = at + key.size() + 3;
    auto end = object.find_first_of(",}", begin);
    return std::string(object.substr(begin, end - begin));
}

}  // namespace

TEST(storable, every_generated_event_is_rejected_with_a_reason_or_stored_and_served_exactly) {
    auto db = mt::fresh_database();
    ASSERT_TRUE(db.migrated());
    std::uint64_t seed = 20261126;
    if (const char* s = std::getenv("MARQUEE_STORABLE_SEED")) seed = std::strtoull(s, nullptr, 10);
    SCOPED_TRACE(fmt::format("generator seed {} (MARQUEE_STORABLE_SEED)", seed));
    generator draw(seed);
    constexpr std::size_t events_per_provider = 500;

    std::map<std::string, std::vector<generated_event>> generated;  // by provider
    std::size_t total_stored = 0, total_rejected = 0;
    auto connection = pg::connect(db.url());
    for (const auto& p : providers) {
        mt::execute(db.url(), fmt::format("INSERT INTO providers (name, url, time_zone) VALUES ('{}', "
                                          "'http://127.0.0.1:1/', '{}')",
                                          p.name, p.time_zone));
        auto& events = generated[p.name];
        events = must_store();
        for (std::size_t i = 0; i < events_per_provider; ++i) events.push_back(draw.event(i, 4096));
        std::string xml = "<eventList><output>\n";
        for (const auto& g : events) xml += xml_of(g);
        xml += "</output></eventList>\n";
        if (const char* dir = std::getenv("MARQUEE_STORABLE_DUMP_DIR"))
            std::ofstream(std::filesystem::path(dir) / ("storable-" + p.name + ".xml"), std::ios::binary) << xml;

        domain::provider provider;
        provider.name = p.name;
        provider.url = "http://127.0.0.1:1/";
        provider.time_zone = p.time_zone;
        provider.caps.max_rejections_kept = 1'000'000;
        pg::ingestion_store store(*connection);
        auto run_id = store.start_run(p.name, "storable", "");
        pg::ingestion_report report;
        ASSERT_NO_THROW(report = store.ingest(run_id, provider, xml, {2, 16 << 10})) << p.name;
        EXPECT_EQ(mt::query_scalar(db.url(), fmt::format("SELECT status FROM ingestion_runs WHERE id = {}", run_id)),
                  "succeeded");
        EXPECT_EQ(report.events_rejected, report.rejections.size());

        // The last occurrence of a key wins: only it is checked.
        std::map<std::pair<std::string, std::string>, const generated_event*> last;
        for (const auto& g : events) last[{g.base_event_id, g.event_id}] = &g;
        std::map<std::pair<std::string, std::string>, std::string> rejected;
        for (const auto& r : report.rejections) {
            EXPECT_FALSE(r.reason.empty());
            EXPECT_EQ(r.reason.find('\n'), std::string::npos) << r.reason;
            rejected[{r.base_event_id, r.event_id}] = r.reason;
        }

        std::map<std::string, stored_event> stored;
        pqxx::read_transaction tx(*connection);
        for (const auto& row : tx.exec_params(
                 "SELECT id::text, title, start_local::text, end_local::text, coalesce(sell_from::text, '<null>'), "
                 "coalesce(sell_to::text, '<null>'), coalesce(organizer_company_id, '<null>'), "
                 "coalesce(min_price::text, '<null>'), coalesce(max_price::text, '<null>'), ever_online, "
                 "coalesce((SELECT string_agg(position || '|' || zone_id || '|' || coalesce(name, '<null>') || '|' "
                 "|| coalesce(capacity::text, '<null>') || '|' || price::text, ';' ORDER BY position) || ';' "
                 "FROM zones WHERE event = events.id), '') FROM events WHERE provider = $1",
                 p.name)) {
            stored[row[0].c_str()] = {row[1].c_str(),  row[2].c_str(),   row[3].c_str(), row[4].c_str(),
                                      row[5].c_str(),  row[6].c_str(),   row[7].c_str(), row[8].c_str(),
                                      row[10].c_str(), row[9].as<bool>()};
        }
        tx.commit();

        std::size_t expected_rows = 0;
        for (const auto& [key, g] : last) {
            SCOPED_TRACE(fmt::format("{} {}/{}: {}", p.name, key.first, key.second, g->why));
            auto id = ids::event_uuid(p.name, key.first, key.second).to_string();
            auto found = stored.find(id);
            bool was_rejected = rejected.contains(key);
            EXPECT_NE(was_rejected, found != stored.end()) << "either rejected with a reason or stored";
            if (g->expected == expect::rejected) {
                EXPECT_TRUE(was_rejected);
            }
            if (g->expected == expect::stored) {
                EXPECT_FALSE(was_rejected) << rejected[key];
            }
            if (was_rejected) {
                ++total_rejected;
                continue;
            }
            ++total_stored;
            ++expected_rows;
            if (found == stored.end()) continue;
            const auto& s = found->second;
            EXPECT_EQ(s.title, g->title);
            EXPECT_EQ(s.start_local, local_text(g->start));
            EXPECT_EQ(s.end_local, local_text(g->end));
            EXPECT_EQ(s.sell_from, g->sell_from ? local_text(*g->sell_from) : "<null>");
            EXPECT_EQ(s.sell_to, g->sell_to ? local_text(*g->sell_to) : "<null>");
            EXPECT_EQ(s.organizer, g->organizer.value_or("<null>"));
            std::string stored_zones;
            for (std::size_t at = 0; at < s.zones.size();) {
                // Normalise each stored price the way the generator's are.
                auto end = s.zones.find(';', at);
                auto zone = s.zones.substr(at, end - at);
                auto bar = zone.rfind('|');
                stored_zones +=
                    zone.substr(0, bar + 1) + money::to_string(*money::parse_price(zone.substr(bar + 1))) + ";";
                at = end + 1;
            }
            EXPECT_EQ(stored_zones, zones_text(*g));
            EXPECT_EQ(s.ever_online, g->sell_mode == "online");
        }
        EXPECT_EQ(stored.size(), expected_rows) << "no row the test did not expect";
    }
    EXPECT_GT(total_stored, total_rejected / 2) << "the generator exercises acceptance, not only rejection";
    EXPECT_GT(total_rejected, 0u);

    // Served back exactly: every stored online event, in the JSON /search returns.
    auto port = mt::free_port();
    mt::process api("marquee-api", {"--database-url", db.url(), "--api-listen", fmt::format("127.0.0.1:{}", port)});
    ASSERT_TRUE(mt::wait_until([&] { return mt::http_get("127.0.0.1", port, "/readyz").status == 200; }, 60s,
                               "marquee-api is ready"));
    auto answer = mt::http_get("127.0.0.1", port, "/search", {}, 60s);
    ASSERT_EQ(answer.status, 200u) << answer.error;
    auto json = boost::json::parse(answer.body);
    std::map<std::string, boost::json::object> served;
    for (const auto& e : json.at("data").at("events").as_array())
        served[e.at("id").as_string().c_str()] = e.as_object();

    std::size_t online_stored = 0;
    for (const auto& p : providers) {
        std::map<std::pair<std::string, std::string>, const generated_event*> last;
        for (const auto& g : generated[p.name]) last[{g.base_event_id, g.event_id}] = &g;
        pqxx::read_transaction tx(*connection);
        for (const auto& row :
             tx.exec_params("SELECT id::text, base_event_id, event_id, coalesce(min_price::text, 'null'), "
                            "coalesce(max_price::text, 'null') FROM events WHERE provider = $1 AND ever_online",
                            p.name)) {
            ++online_stored;
            std::string id = row[0].c_str();
            const auto& g = *last.at({row[1].c_str(), row[2].c_str()});
            SCOPED_TRACE(fmt::format("{} {}/{}", p.name, g.base_event_id, g.event_id));
            auto it = served.find(id);
            ASSERT_NE(it, served.end()) << "an online event is served";
            const auto& e = it->second;
            EXPECT_EQ(std::string(e.at("title").as_string().c_str(), e.at("title").as_string().size()), g.title);
            EXPECT_EQ(e.at("start_date").as_string(), g.start.substr(0, 10));
            EXPECT_EQ(e.at("start_time").as_string(), g.start.substr(11));
            EXPECT_EQ(e.at("end_date").as_string(), g.end.substr(0, 10));
            EXPECT_EQ(e.at("end_time").as_string(), g.end.substr(11));
            // Prices go out as the exact decimal text, not through a double.
            auto object_text = answer.body.substr(answer.body.find("\"id\":\"" + id + "\""));
            object_text = object_text.substr(0, object_text.find('}') + 1);
            EXPECT_EQ(raw_member(object_text, "min_price"), std::string(row[3].c_str()));
            EXPECT_EQ(raw_member(object_text, "max_price"), std::string(row[4].c_str()));
        }
        tx.commit();
    }
    EXPECT_EQ(served.size(), online_stored) << "nothing served that is not stored online";
}
