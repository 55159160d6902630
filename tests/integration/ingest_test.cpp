// The ingestion engine against a real PostgreSQL, through `marquee-worker ingest FILE`.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

std::filesystem::path sample(const std::string& name) {
    return mt::provider_samples() / name;
}

// Writes `xml` to a file of the test's own for one ingestion.
std::filesystem::path write_feed(const std::string& name, const std::string& xml) {
    auto path = mt::test_dir("feed-" + name) / "feed.xml";
    mt::write_file(path, xml);
    return path;
}

int ingest(const mt::database& db, const std::filesystem::path& file, const std::string& provider = "default",
           const std::string& time_zone = "UTC", const std::string& batch_kib = "4096") {
    mt::process worker("marquee-worker", {"ingest", file.string(), "--provider", provider, "--batch-kib", batch_kib},
                       {{"DATABASE_URL", db.url()}, {"PROVIDER_TIMEZONE", time_zone}, {"WORKER_THREADS", "2"}});
    auto code = worker.wait_exit(120s);
    if (!code || *code != 0) ADD_FAILURE() << "worker ingest " << file << " → " << worker.log_text();
    return code.value_or(-1);
}

std::string scalar(const mt::database& db, const std::string& sql) {
    return mt::query_scalar(db.url(), sql).value_or("NULL");
}

std::string event_field(const mt::database& db, const std::string& base_event_id, const std::string& field) {
    return scalar(db, "SELECT " + field + " FROM events WHERE base_event_id = '" + base_event_id + "'");
}

std::string feed(const std::string& base_events) {
    return "<eventList><output>" + base_events + "</output></eventList>";
}

std::string show(const std::string& id, const std::string& mode, const std::string& title, const std::string& start,
                 const std::string& end, const std::string& zones) {
    return "<base_event base_event_id='" + id + "' sell_mode='" + mode + "' title='" + title +
           "'><event event_id='1' event_start_date='" + start + "' event_end_date='" + end + "'>" + zones +
           "</event></base_event>";
}

}  // namespace

TEST(ingestion, stores_the_three_samples_in_order) {
    auto db = mt::fresh_database();
    ASSERT_EQ(ingest(db, sample("response_1.xml")), 0);
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM events"), "3");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM zones"), "6");
    EXPECT_EQ(scalar(db,
                     "SELECT string_agg(zone_id || ':' || price, ',' ORDER BY position) FROM zones z "
                     "JOIN events e ON e.id = z.event WHERE e.base_event_id = '1591'"),
              "186:75.00,186:65.00");
    EXPECT_EQ(event_field(db, "291", "min_price::text || '-' || max_price::text"), "15.00-30.00");

    ASSERT_EQ(ingest(db, sample("response_2.xml")), 0);
    EXPECT_EQ(scalar(db,
                     "SELECT events_seen || '/' || events_changed || '/' || events_rejected FROM ingestion_runs "
                     "ORDER BY id DESC LIMIT 1"),
              "3/2/1")
        << "Camela's capacities and Los Morancos' end changed; Tributo's 2021-09-31 is rejected";
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM events WHERE base_event_id = '444'"), "0");
    EXPECT_EQ(event_field(db, "1591", "end_local::text"), "2021-07-31 21:20:00");
    EXPECT_EQ(event_field(db, "322", "title"), "Pantomima Full") << "an event that vanished stays";

    ASSERT_EQ(ingest(db, sample("response_3.xml")), 0);
    EXPECT_EQ(event_field(db, "291", "end_local::text"), "2021-06-30 21:30:00");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM events WHERE ever_online"), "3");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM ingestion_runs WHERE status = 'succeeded'"), "3");
}

TEST(ingestion, an_unchanged_feed_writes_nothing_but_last_seen) {
    auto db = mt::fresh_database();
    ASSERT_EQ(ingest(db, sample("response_1.xml")), 0);
    auto version = scalar(db, "SELECT version FROM data_version");
    auto seen_before = event_field(db, "291", "last_seen_at");
    ASSERT_EQ(ingest(db, sample("response_1.xml")), 0);
    EXPECT_EQ(scalar(db, "SELECT events_changed FROM ingestion_runs ORDER BY id DESC LIMIT 1"), "0");
    EXPECT_EQ(scalar(db, "SELECT version FROM data_version"), version) << "readers need not refresh";
    EXPECT_NE(event_field(db, "291", "last_seen_at"), seen_before);
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM event_history"), "3") << "one row per event, when it appeared";
}

// The API's deltas (migrations/0004) read `changed_version > held`: every searchable row a run
// writes must carry the version that run bumped to, and rows it leaves alone keep theirs.
TEST(ingestion, stamps_what_it_changes_with_the_version_it_bumps_to) {
    auto db = mt::fresh_database();
    auto zone = std::string("<zone zone_id='1' price='10'/>");
    auto online = [&](const std::string& id, const std::string& title) {
        return show(id, "online", title, "2021-06-30T21:00:00", "2021-06-30T22:00:00", zone);
    };
    ASSERT_EQ(ingest(db, write_feed("first", feed(online("1", "One") + online("2", "Two")))), 0);
    auto first = scalar(db, "SELECT version FROM data_version");
    EXPECT_EQ(scalar(db, "SELECT string_agg(DISTINCT changed_version::text, ',') FROM events"), first);

    ASSERT_EQ(ingest(db, write_feed("second", feed(online("1", "One") + online("2", "Two, renamed")))), 0);
    auto second = scalar(db, "SELECT version FROM data_version");
    EXPECT_NE(second, first);
    EXPECT_EQ(event_field(db, "1", "changed_version"), first) << "unchanged, so not stamped again";
    EXPECT_EQ(event_field(db, "2", "changed_version"), second);

    // Only a never-online event is new: nothing searchable changed, so no bump and no stamp.
    ASSERT_EQ(ingest(db, write_feed("third", feed(online("1", "One") + online("2", "Two, renamed") +
                                                  show("3", "offline", "Three", "2021-06-30T21:00:00",
                                                       "2021-06-30T22:00:00", zone)))),
              0);
    EXPECT_EQ(scalar(db, "SELECT version FROM data_version"), second);
    EXPECT_EQ(event_field(db, "3", "changed_version"), "0");

    // It goes online: searchable from now on, stamped with the new version.
    ASSERT_EQ(
        ingest(db, write_feed("fourth", feed(online("1", "One") + online("2", "Two, renamed") + online("3", "Three")))),
        0);
    auto fourth = scalar(db, "SELECT version FROM data_version");
    EXPECT_NE(fourth, second);
    EXPECT_EQ(event_field(db, "3", "changed_version"), fourth);
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM events WHERE changed_version > " + second), "1");
}

TEST(ingestion, keeps_the_stored_version_of_an_event_that_turns_invalid) {
    auto db = mt::fresh_database();
    ASSERT_EQ(ingest(db, write_feed("valid", feed(show("7", "online", "Good", "2021-06-30T21:00:00",
                                                       "2021-06-30T22:00:00", "<zone zone_id='1' price='10'/>")))),
              0);
    ASSERT_EQ(ingest(db, write_feed("invalid", feed(show("7", "online", "Bad", "2021-06-30T21:00:00",
                                                         "2021-06-30T22:00:00", "<zone zone_id='1' price='ten'/>")))),
              0);
    EXPECT_EQ(event_field(db, "7", "title"), "Good");
    EXPECT_EQ(scalar(db, "SELECT events_rejected FROM ingestion_runs ORDER BY id DESC LIMIT 1"), "1");
}

TEST(ingestion, the_last_occurrence_of_an_event_wins) {
    auto db = mt::fresh_database();
    auto xml = feed(
        show("7", "online", "First", "2021-06-30T21:00:00", "2021-06-30T22:00:00",
             "<zone zone_id='1' price='10'/><zone zone_id='2' price='20'/>") +
        show("7", "online", "Last", "2021-06-30T21:00:00", "2021-06-30T23:00:00", "<zone zone_id='9' price='5'/>"));
    ASSERT_EQ(ingest(db, write_feed("dup", xml)), 0);
    EXPECT_EQ(event_field(db, "7", "title"), "Last");
    EXPECT_EQ(scalar(db, "SELECT string_agg(zone_id, ',') FROM zones"), "9");
    EXPECT_EQ(scalar(db, "SELECT events_seen || '/' || events_changed FROM ingestion_runs"), "2/1");
}

TEST(ingestion, online_once_means_searchable_forever) {
    auto db = mt::fresh_database();
    auto offline = [](const std::string& t) {
        return feed(show("5", "offline", t, "2021-06-30T21:00:00", "2021-06-30T22:00:00", ""));
    };
    ASSERT_EQ(ingest(db, write_feed("off1", offline("A"))), 0);
    EXPECT_EQ(event_field(db, "5", "ever_online"), "f");
    ASSERT_EQ(
        ingest(db, write_feed("on", feed(show("5", "online", "B", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "")))),
        0);
    ASSERT_EQ(ingest(db, write_feed("off2", offline("C"))), 0);
    EXPECT_EQ(event_field(db, "5", "ever_online"), "t");
    EXPECT_EQ(event_field(db, "5", "title || '/' || sell_mode"), "C/offline") << "latest values are shown";
    EXPECT_EQ(scalar(db, "SELECT string_agg(sell_mode, ',' ORDER BY id) FROM event_history"), "offline,online,offline");
}

TEST(ingestion, zones_follow_the_feed_and_history_tracks_price_range) {
    auto db = mt::fresh_database();
    auto with_zones = [](const std::string& zones) {
        return feed(show("8", "online", "Z", "2021-06-30T21:00:00", "2021-06-30T22:00:00", zones));
    };
    ASSERT_EQ(ingest(db, write_feed("z3", with_zones("<zone zone_id='1' price='10'/><zone zone_id='2' price='20'/>"
                                                     "<zone zone_id='3' price='30'/>"))),
              0);
    ASSERT_EQ(ingest(db, write_feed("z1", with_zones("<zone zone_id='1' price='10' capacity='5'/>"))), 0);
    EXPECT_EQ(scalar(db, "SELECT count(*) || ':' || max(capacity) FROM zones"), "1:5");
    EXPECT_EQ(event_field(db, "8", "coalesce(min_price::text, 'null') || '-' || max_price::text"), "10.00-10.00");
    ASSERT_EQ(ingest(db, write_feed("z0", with_zones(""))), 0);
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM zones"), "0");
    EXPECT_EQ(event_field(db, "8", "min_price IS NULL AND max_price IS NULL"), "t");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM event_history"), "3");
}

TEST(ingestion, uses_the_provider_time_zone_for_instants_and_keeps_local_values) {
    auto db = mt::fresh_database();
    ASSERT_EQ(ingest(db, sample("response_1.xml"), "madrid", "Europe/Madrid"), 0);
    EXPECT_EQ(scalar(db,
                     "SELECT to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || "
                     "start_local::text FROM events WHERE base_event_id = '291'"),
              "2021-06-30 19:00 2021-06-30 21:00:00");
}

TEST(ingestion, a_malformed_feed_changes_nothing_and_fails_the_run) {
    auto db = mt::fresh_database();
    ASSERT_EQ(ingest(db, sample("response_1.xml")), 0);
    auto whole = mt::read_file(sample("response_2.xml"));
    auto truncated = write_feed("truncated", whole.substr(0, whole.size() * 2 / 3));
    mt::process worker("marquee-worker", {"ingest", truncated.string()}, {{"DATABASE_URL", db.url()}});
    auto code = worker.wait_exit(60s);
    ASSERT_TRUE(code);
    EXPECT_NE(*code, 0);
    EXPECT_EQ(event_field(db, "1591", "end_local::text"), "2021-07-31 21:00:00");
    EXPECT_EQ(scalar(db,
                     "SELECT status || ': ' || (error LIKE 'malformed feed%') FROM ingestion_runs "
                     "ORDER BY id DESC LIMIT 1"),
              "failed: true");
}

TEST(ingestion, rejects_bad_settings_with_one_line_and_exit_code_2) {
    mt::process worker("marquee-worker", {"ingest", sample("response_1.xml").string()},
                       {{"DATABASE_URL", "mysql://nope"}});
    EXPECT_EQ(worker.wait_exit(30s), 2);
    EXPECT_NE(worker.log_text().find("DATABASE_URL"), std::string::npos) << worker.log_text();
}

TEST(ingestion, a_new_event_whose_last_occurrence_is_rejected_leaves_nothing) {
    auto db = mt::fresh_database();
    auto xml = feed(
        show("7", "online", "First", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "<zone zone_id='1' price='10'/>") +
        show("7", "online", "Broken", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "<zone zone_id='1' price='?'/>"));
    ASSERT_EQ(ingest(db, write_feed("new-then-rejected", xml)), 0);
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM events"), "0");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM zones"), "0") << "no zones left without their event";
}

TEST(ingestion, duplicates_across_batches_resolve_to_the_last_occurrence) {
    auto db = mt::fresh_database();
    // ~40 KB of filler events between the occurrences puts them in different 16 KiB batches.
    std::string filler;
    for (int i = 0; i < 200; ++i)
        filler += show("f" + std::to_string(i), "online", "Filler", "2021-06-30T21:00:00", "2021-06-30T22:00:00",
                       "<zone zone_id='1' price='1'/>");
    auto xml = feed(
        show("7", "online", "First", "2021-06-30T21:00:00", "2021-06-30T22:00:00",
             "<zone zone_id='1' price='10'/><zone zone_id='2' price='20'/>") +
        filler +
        show("7", "online", "Second", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "<zone zone_id='9' price='5'/>") +
        filler +
        show("8", "online", "Kept", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "<zone zone_id='1' price='3'/>") +
        show("8", "online", "Rejected later", "2021-06-30T21:00:00", "2021-06-30T20:00:00", ""));
    ASSERT_EQ(ingest(db, write_feed("cross-batch", xml), "default", "UTC", "16"), 0);
    EXPECT_EQ(event_field(db, "7", "title"), "Second");
    EXPECT_EQ(scalar(db,
                     "SELECT string_agg(zone_id, ',') FROM zones z JOIN events e ON e.id = z.event "
                     "WHERE e.base_event_id = '7'"),
              "9");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM events WHERE base_event_id = '8'"), "0");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM zones z WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = z.event)"),
              "0");
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM zones"), "201") << "200 fillers (each twice) and event 7";
}

TEST(ingestion, each_rejection_is_logged_on_one_line_in_the_documented_format) {
    auto db = mt::fresh_database();
    // Ids from the feed reach the log quoted, escaped and cut short: a quote, a backslash and a
    // 100-byte id cannot break or forge a line.
    auto xml = feed(show("a&apos;b\\c", "online", "T", "2021-06-30T21:00:00", "2021-06-30T22:00:00",
                         "<zone zone_id='1' price='ten'/>") +
                    show(std::string(100, 'x'), "online", "T", "2021-09-31T20:00:00", "2021-09-31T22:00:00", "") +
                    show("ok", "online", "T", "2021-06-30T21:00:00", "2021-06-30T22:00:00", "") +
                    // No usable key (a line break in the id): its ids arrive quoted already and
                    // must be quoted once, not twice.
                    show("a&#10;b", "online", "T", "2021-06-30T21:00:00", "2021-06-30T22:00:00", ""));
    mt::process worker("marquee-worker", {"ingest", write_feed("rejections", xml).string()},
                       {{"DATABASE_URL", db.url()}, {"PROVIDER_TIMEZONE", "UTC"}});
    ASSERT_EQ(worker.wait_exit(120s), 0) << worker.log_text();
    const auto run = scalar(db, "SELECT id FROM ingestion_runs");

    std::vector<std::string> rejection_lines;
    std::istringstream lines(worker.log_text());
    for (std::string line; std::getline(lines, line);)
        if (line.find("rejected event") != std::string::npos) rejection_lines.push_back(line);
    // <UTC time with milliseconds>Z WARN worker: provider <name> run <id>: rejected event
    // base_event_id=<quoted> event_id=<quoted>: <reason>
    const std::string prefix =
        R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN worker: provider default run )" + run + ": rejected event ";
    const std::vector<std::string> expected{
        prefix + R"(base_event_id='a\\'b\\\\c' event_id='1': zone 1: price 'ten' is not a non-negative number$)",
        prefix + "base_event_id='" + std::string(64, 'x') +
            R"('… \(100 bytes\) event_id='1': event_start_date '2021-09-31T20:00:00' is not a valid date-time$)",
        prefix + R"(base_event_id='a\\nb' event_id='1': base_event_id is empty, too long, not UTF-8 or has control )"
                 R"(characters$)",
    };
    ASSERT_EQ(rejection_lines.size(), expected.size()) << worker.log_text();
    for (std::size_t i = 0; i < expected.size(); ++i)
        EXPECT_TRUE(std::regex_match(rejection_lines[i], std::regex(expected[i])))
            << rejection_lines[i] << "\ndoes not match\n"
            << expected[i];
    EXPECT_EQ(scalar(db, "SELECT events_rejected FROM ingestion_runs"), "3");
}
