// GET /events/{id} and /events/{id}/history without sockets or a database: paths and ids, page
// parameters and history cursors, the JSON of a detail and of a history page, the answers and
// their ETags, and the answer cache's byte bound.
#include "marquee/api/event_routes.hpp"
#include "marquee/api/event_cache.hpp"
#include "marquee/api/handler.hpp"
#include "marquee/events/event_detail.hpp"
#include "marquee/events/history.hpp"
#include "marquee/search/query.hpp"
#include "marquee/text/base64url.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <variant>
#include <vector>

using namespace marquee;
using api::route;

namespace {

constexpr const char* camela_id = "b0000000-0000-5000-8000-000000000001";
constexpr const char* other_id = "a0000000-0000-5000-8000-000000000002";

time::instant at(const char* rfc3339) {
    return *time::parse_rfc3339(rfc3339);
}

std::variant<api::event_target, api::response> parse(std::string_view target, std::string_view method = "GET") {
    return api::parse_event_request(api::request{method, target, {}});
}

const api::event_target& target_of(const std::variant<api::event_target, api::response>& parsed) {
    static const api::event_target none;
    if (const auto* t = std::get_if<api::event_target>(&parsed)) return *t;
    ADD_FAILURE() << "refused with " << std::get<api::response>(parsed).status << ": "
                  << std::get<api::response>(parsed).body->materialise();
    return none;
}

// The status and body of the response a request was refused with.
std::pair<unsigned, std::string> refusal(const std::variant<api::event_target, api::response>& parsed) {
    const auto* r = std::get_if<api::response>(&parsed);
    if (!r) return {0, "accepted"};
    return {r->status, r->body ? r->body->materialise() : std::string()};
}

events::event_detail sample_detail() {
    return {.id = camela_id,
            .provider = "madrid",
            .title = "Camela \"en concierto\" \\ \x01",
            .start_date = "2021-06-30",
            .start_time = "21:00:00",
            .end_date = "2021-06-30",
            .end_time = "22:00:00",
            .starts_at = at("2021-06-30T19:00:00Z"),
            .ends_at = at("2021-06-30T20:00:00Z"),
            .sell_mode = "online",
            .sell_from = "2020-07-01T00:00:00",
            .sell_to = std::nullopt,
            .sold_out = false,
            .organizer_company_id = std::nullopt,
            .first_seen_at = at("2024-03-10T12:00:00.25Z"),
            .last_seen_at = at("2024-03-10T12:05:00Z"),
            .min_price = "15.00",
            .max_price = "NaN",
            .zones = {{"40", "Platea", 243, "20.00", true}, {"38", std::nullopt, std::nullopt, "15.00", std::nullopt}}};
}

// A history row of one wall-clock start and end, observed at `observed_at`.
events::history_entry entry(const char* observed_at, std::int64_t id, const char* min_price) {
    return {.id = id,
            .observed_at = at(observed_at),
            .sell_mode = "online",
            .start_date = "2021-06-30",
            .start_time = "21:00:00",
            .end_date = "2021-06-30",
            .end_time = "22:00:00",
            .min_price = min_price ? std::optional<std::string>(min_price) : std::nullopt,
            .max_price = "30.00"};
}

}  // namespace

TEST(event_routes, paths_name_the_detail_the_history_or_nothing) {
    EXPECT_EQ(api::event_route_of("/events/x"), route::event);
    EXPECT_EQ(api::event_route_of("/events/x/history"), route::event_history);
    EXPECT_EQ(api::event_route_of("/events/"), route::other);
    EXPECT_EQ(api::event_route_of("/events"), route::other);
    EXPECT_EQ(api::event_route_of("/events//history"), route::other);
    EXPECT_EQ(api::event_route_of("/events/x/"), route::other);
    EXPECT_EQ(api::event_route_of("/events/x/history/"), route::other);
    EXPECT_EQ(api::event_route_of("/events/x/zones"), route::other);
    EXPECT_EQ(api::target_route("/events/x/history?limit=1"), route::event_history);
    EXPECT_EQ(api::target_route("http://host/events/x"), route::event);
}

TEST(event_routes, ids_are_uuids_made_canonical_and_anything_else_is_a_400_naming_id) {
    EXPECT_EQ(target_of(parse("/events/B0000000-0000-5000-8000-00000000000A")).lookup.id,
              "b0000000-0000-5000-8000-00000000000a");
    auto t = target_of(parse(std::string("/events/") + camela_id + "/history"));
    EXPECT_EQ(t.which, route::event_history);
    EXPECT_EQ(t.lookup.what, events::lookup::kind::history);
    EXPECT_EQ(t.lookup.page, events::history_query{});
    for (const char* bad : {"/events/x", "/events/b0000000-0000-5000-8000-00000000000", "/events/%62%30",
                            "/events/b0000000000050008000000000000001", "/events/b0000000-0000-5000-8000-00000000000g",
                            "/events/ b0000000-0000-5000-8000-000000000001", "/events/x/history"}) {
        auto [status, body] = refusal(parse(bad));
        EXPECT_EQ(status, 400U) << bad;
        EXPECT_TRUE(body.starts_with(R"({"error":{"code":"invalid_parameter","message":"id is not an event id)"))
            << body;
    }
    EXPECT_EQ(refusal(parse("/events/x/zones")).first, 404U);
    EXPECT_EQ(refusal(parse(std::string("/events/") + camela_id, "POST")).first, 405U);
    EXPECT_EQ(refusal(parse(std::string("/events/") + camela_id, "HEAD")).first, 0U);
}

TEST(event_routes, history_pages_follow_the_search_rules_for_limit_and_cursor) {
    auto history = [](const std::string& query) { return events::parse_history_query(query, camela_id); };
    auto message = [&](const std::string& query) {
        auto parsed = history(query);
        const auto* bad = std::get_if<events::parameter_error>(&parsed);
        return bad ? std::string(bad->message) : std::string("accepted");
    };
    EXPECT_EQ(std::get<events::history_query>(history("limit=5&other=%zz")).limit, 5U);
    EXPECT_EQ(std::get<events::history_query>(history("%6Cimit=1000")).limit, 1000U);
    EXPECT_EQ(std::get<events::history_query>(history("")), events::history_query{});
    EXPECT_EQ(message("limit=0"), "limit is not an integer from 1 to 1000");
    EXPECT_EQ(message("limit=1001"), "limit is not an integer from 1 to 1000");
    EXPECT_EQ(message("limit=-1"), "limit is not an integer from 1 to 1000");
    EXPECT_EQ(message("limit=1x"), "limit is not an integer from 1 to 1000");
    EXPECT_EQ(message("limit=%"), "limit is not an integer from 1 to 1000");
    EXPECT_EQ(message("limit="), "limit is empty");
    EXPECT_EQ(message("limit"), "limit is empty");
    EXPECT_EQ(message("limit=1&limit=1"), "limit is given more than once");
    EXPECT_EQ(message("cursor="), "cursor is empty");
    EXPECT_EQ(message("cursor=abc"), "cursor is not a next_cursor of this event's history");

    const events::history_position position{at("2024-03-10T12:00:00.000001Z"), 42};
    auto cursor = events::encode_history_cursor(camela_id, position);
    auto page = std::get<events::history_query>(history("cursor=" + cursor));
    EXPECT_EQ(page.after, position);
    EXPECT_EQ(page.limit, search::default_page_limit) << "a cursor without a limit pages by the default";
    EXPECT_EQ(message("cursor=" + cursor + "&cursor=" + cursor), "cursor is given more than once");

    // Through the route: a 400 naming the parameter.
    auto [status, body] = refusal(parse(std::string("/events/") + camela_id + "/history?limit=0"));
    EXPECT_EQ(status, 400U);
    EXPECT_EQ(body, R"({"error":{"code":"invalid_parameter","message":"limit is not an integer from 1 to 1000"},)"
                    R"("data":null})");
}

TEST(event_routes, a_history_cursor_round_trips_and_is_refused_for_another_event) {
    for (auto position : {events::history_position{at("2024-03-10T12:00:00Z"), 1},
                          events::history_position{at("0001-01-01T00:00:00Z"), 0},
                          events::history_position{at("9999-12-31T23:59:59.999999Z"), INT64_MAX}}) {
        auto cursor = events::encode_history_cursor(camela_id, position);
        EXPECT_EQ(cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos)
            << cursor;
        EXPECT_EQ(events::decode_history_cursor(cursor, camela_id), position) << cursor;
        EXPECT_EQ(events::decode_history_cursor(cursor, other_id), std::nullopt) << "another event's history";
        // Any one character changed is another cursor, refused.
        for (std::size_t i = 0; i < cursor.size(); ++i) {
            auto changed = cursor;
            changed[i] = changed[i] == 'A' ? 'B' : 'A';
            auto decoded = events::decode_history_cursor(changed, camela_id);
            EXPECT_TRUE(!decoded || *decoded != position) << changed;
        }
        EXPECT_EQ(events::decode_history_cursor(cursor + "A", camela_id), std::nullopt);
        EXPECT_EQ(events::decode_history_cursor(cursor.substr(1), camela_id), std::nullopt);
    }
    // A /search cursor is no history cursor.
    search::query q;
    auto search_cursor = search::encode_cursor(q, at("2021-06-30T19:00:00Z"), camela_id);
    EXPECT_EQ(events::decode_history_cursor(search_cursor, camela_id), std::nullopt);

    auto other = events::encode_history_cursor(other_id, {at("2024-03-10T12:00:00Z"), 7});
    auto [status, body] = refusal(parse(std::string("/events/") + camela_id + "/history?cursor=" + other));
    EXPECT_EQ(status, 400U);
    EXPECT_EQ(body, R"({"error":{"code":"invalid_parameter","message":"cursor is not a next_cursor of this )"
                    R"(event's history"},"data":null})");
}

TEST(event_routes, base64url_round_trips_and_refuses_what_it_never_writes) {
    std::vector<std::uint8_t> bytes;
    for (int n = 0; n < 40; ++n) {
        auto text = text::base64url_encode(bytes);
        EXPECT_EQ(text.size(), (bytes.size() * 4 + 2) / 3);
        std::array<std::uint8_t, 64> out{};
        auto length = text::base64url_decode(text, out);
        ASSERT_TRUE(length) << text;
        EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*length)), bytes);
        bytes.push_back(static_cast<std::uint8_t>(n * 37 + 255));
    }
    EXPECT_EQ(text::base64url_encode(std::vector<std::uint8_t>{0xfb, 0xff}), "-_8");
    std::array<std::uint8_t, 8> out{};
    EXPECT_FALSE(text::base64url_decode("-_9", out)) << "unused bits set";
    EXPECT_FALSE(text::base64url_decode("A", out)) << "a lone digit";
    EXPECT_FALSE(text::base64url_decode("AA==", out)) << "padding";
    EXPECT_FALSE(text::base64url_decode("+/8", out)) << "the other alphabet";
    EXPECT_FALSE(text::base64url_decode("AAAAAAAAAAAAAAAA", out)) << "longer than the room";
}

TEST(event_routes, a_detail_renders_every_field_escaped_with_nulls_for_what_is_absent) {
    EXPECT_EQ(
        events::render_event_detail(sample_detail()),
        R"({"data":{"id":"b0000000-0000-5000-8000-000000000001","provider":"madrid",)"
        R"("title":"Camela \"en concierto\" \\ \u0001","start_date":"2021-06-30","start_time":"21:00:00",)"
        R"("end_date":"2021-06-30","end_time":"22:00:00","starts_at":"2021-06-30T19:00:00Z",)"
        R"("ends_at":"2021-06-30T20:00:00Z","sell_mode":"online","sell_from":"2020-07-01T00:00:00","sell_to":null,)"
        R"("sold_out":false,"organizer_company_id":null,"first_seen_at":"2024-03-10T12:00:00.250000Z",)"
        R"("last_seen_at":"2024-03-10T12:05:00Z","min_price":15.00,"max_price":null,"zones":[)"
        R"({"zone_id":"40","name":"Platea","capacity":243,"price":20.00,"numbered":true},)"
        R"({"zone_id":"38","name":null,"capacity":null,"price":15.00,"numbered":null}]},"error":null})");
    events::event_detail bare;
    bare.id = camela_id;
    auto json = events::render_event_detail(bare);
    EXPECT_NE(json.find(R"("sold_out":null,)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("min_price":null,"max_price":null,"zones":[]})"), std::string::npos) << json;
}

TEST(event_routes, instants_are_rfc3339_utc_with_a_fraction_only_when_there_is_one) {
    EXPECT_EQ(time::format_rfc3339(at("2021-06-30T21:00:00+02:00")), "2021-06-30T19:00:00Z");
    EXPECT_EQ(time::format_rfc3339(at("2024-02-29T23:59:59.000001Z")), "2024-02-29T23:59:59.000001Z");
    EXPECT_EQ(time::format_rfc3339(at("0001-01-01T00:00:00Z")), "0001-01-01T00:00:00Z");
    EXPECT_EQ(time::format_rfc3339(at("9999-12-31T23:59:59.999999Z")), "9999-12-31T23:59:59.999999Z");
    EXPECT_EQ(time::format_rfc3339(at("1969-12-31T23:59:59.5Z")), "1969-12-31T23:59:59.500000Z");
}

TEST(event_routes, history_renders_newest_first_as_given_with_next_cursor_only_on_pages) {
    std::vector<events::history_entry> rows{entry("2024-03-10T12:05:00Z", 2, "15.00"),
                                            entry("2024-03-10T12:00:00Z", 1, nullptr)};
    const std::string entries =
        R"({"observed_at":"2024-03-10T12:05:00Z","sell_mode":"online","start_date":"2021-06-30",)"
        R"("start_time":"21:00:00","end_date":"2021-06-30","end_time":"22:00:00","min_price":15.00,)"
        R"("max_price":30.00},{"observed_at":"2024-03-10T12:00:00Z","sell_mode":"online",)"
        R"("start_date":"2021-06-30","start_time":"21:00:00","end_date":"2021-06-30","end_time":"22:00:00",)"
        R"("min_price":null,"max_price":30.00})";
    EXPECT_EQ(events::render_history(rows, false, ""), R"({"data":{"history":[)" + entries + R"(]},"error":null})");
    EXPECT_EQ(events::render_history(rows, true, ""),
              R"({"data":{"history":[)" + entries + R"(],"next_cursor":null},"error":null})");
    EXPECT_EQ(events::render_history({}, true, "abc"), R"({"data":{"history":[],"next_cursor":"abc"},"error":null})");
}

TEST(event_routes, answers_carry_a_strong_etag_of_their_bytes_and_304_when_it_matches) {
    auto target = target_of(parse(std::string("/events/") + camela_id));
    events::lookup_result rows;
    rows.found = true;
    rows.detail = sample_detail();
    auto answer = api::render_event_answer(target, rows, {});
    ASSERT_EQ(answer->status, 200U);
    EXPECT_EQ(answer->body->materialise(), events::render_event_detail(rows.detail));
    ASSERT_EQ(answer->etag.size(), 18U);
    EXPECT_EQ(answer->etag.front(), '"');
    EXPECT_EQ(answer->etag.back(), '"');
    EXPECT_EQ(api::render_event_answer(target, rows, {})->etag, answer->etag) << "same bytes, same tag";
    rows.detail.zones[0].price = "20.01";
    EXPECT_NE(api::render_event_answer(target, rows, {})->etag, answer->etag) << "other bytes, other tag";

    auto ok = api::event_response(*answer, route::event, "", "public, max-age=5");
    EXPECT_EQ(ok.status, 200U);
    EXPECT_EQ(ok.etag(), answer->etag);
    EXPECT_EQ(ok.cache_control, "public, max-age=5");
    EXPECT_EQ(ok.content_type, "application/json");
    auto not_modified = api::event_response(*answer, route::event, "\"x\", W/" + answer->etag, "public, max-age=5");
    EXPECT_EQ(not_modified.status, 304U);
    EXPECT_EQ(not_modified.body, nullptr);
    EXPECT_EQ(not_modified.etag(), answer->etag);

    auto missing = api::render_event_answer(target, events::lookup_result{}, {});
    auto gone = api::event_response(*missing, route::event, "*", "public, max-age=5");
    EXPECT_EQ(gone.status, 404U) << "a 404 is never 304";
    EXPECT_EQ(gone.cache_control, "no-store");
    EXPECT_TRUE(gone.etag().empty());
    EXPECT_EQ(gone.body->materialise(),
              R"({"error":{"code":"not_found","message":"no event with this id has ever been online"},"data":null})");
}

TEST(event_routes, a_history_page_with_more_links_to_the_next_with_its_own_cursor) {
    auto target = target_of(parse(std::string("/events/") + camela_id + "/history?limit=2&x=1"));
    EXPECT_EQ(target.cache_key, std::string("history:") + camela_id + ":2:-");
    events::lookup_result rows;
    rows.found = true;
    rows.history = {entry("2024-03-10T12:05:00Z", 9, "15.00"), entry("2024-03-10T12:05:00Z", 3, "15.00")};
    rows.more = true;
    auto answer = api::render_event_answer(target, rows, {});
    auto cursor = events::encode_history_cursor(camela_id, {at("2024-03-10T12:05:00Z"), 3});
    EXPECT_EQ(answer->link,
              std::string("</events/") + camela_id + "/history?limit=2&cursor=" + cursor + ">; rel=\"next\"");
    EXPECT_NE(answer->body->materialise().find(R"("next_cursor":")" + cursor + "\""), std::string::npos);
    auto next = target_of(parse(std::string("/events/") + camela_id + "/history?limit=2&cursor=" + cursor));
    EXPECT_EQ(next.lookup.page.after, (events::history_position{at("2024-03-10T12:05:00Z"), 3}));
    EXPECT_NE(next.cache_key, target.cache_key);

    rows.more = false;
    auto last = api::render_event_answer(target, rows, {});
    EXPECT_TRUE(last->link.empty());
    EXPECT_NE(last->body->materialise().find(R"("next_cursor":null})"), std::string::npos);
}

TEST(event_routes, without_a_lookup_handle_request_checks_the_request_and_answers_503) {
    api::service_state state;
    auto r = api::handle_request({"GET", std::string("/events/") + camela_id, ""}, state);
    EXPECT_EQ(r.status, 503U);
    EXPECT_EQ(r.which, route::event);
    EXPECT_EQ(r.body->materialise(), R"({"error":{"code":"unavailable","message":"event data is unavailable: )"
                                     R"(the database cannot be reached"},"data":null})");
    EXPECT_EQ(api::handle_request({"GET", "/events/nope/history", ""}, state).status, 400U);
    EXPECT_EQ(api::handle_request({"DELETE", "/events/nope", ""}, state).status, 405U);
}

TEST(event_cache, evicts_the_least_recently_used_answers_to_stay_within_its_bytes) {
    auto answer_of = [](std::size_t body_bytes) {
        auto a = std::make_shared<api::event_answer>();
        a->body = std::make_shared<const api::response_body>(std::string(body_bytes, 'x'));
        a->etag = "\"0123456789abcdef\"";
        return std::shared_ptr<const api::event_answer>(a);
    };
    const auto one = answer_of(1000);
    const std::size_t cost = 160 + 2 * std::string("k1").size() + one->footprint();
    api::event_cache cache(3 * cost);
    cache.insert("k1", one);
    cache.insert("k2", answer_of(1000));
    cache.insert("k3", answer_of(1000));
    EXPECT_EQ(cache.size(), 3U);
    EXPECT_EQ(cache.bytes(), 3 * cost);
    EXPECT_EQ(cache.find("k1"), one);  // k1 is now the most recently used: k2 goes first
    cache.insert("k4", answer_of(1000));
    EXPECT_EQ(cache.find("k2"), nullptr);
    EXPECT_NE(cache.find("k1"), nullptr);
    EXPECT_NE(cache.find("k3"), nullptr);
    EXPECT_NE(cache.find("k4"), nullptr);
    EXPECT_LE(cache.bytes(), 3 * cost);

    // A larger answer pushes out as many as it needs; one larger than everything is not kept.
    cache.insert("k5", answer_of(2000));
    EXPECT_EQ(cache.size(), 2U);
    EXPECT_NE(cache.find("k5"), nullptr);
    EXPECT_LE(cache.bytes(), 3 * cost);
    cache.insert("huge", answer_of(4 * cost));
    EXPECT_EQ(cache.find("huge"), nullptr);
    EXPECT_LE(cache.bytes(), 3 * cost);

    // Replacing a key's answer counts it once.
    auto before = cache.bytes();
    cache.insert("k5", answer_of(2000));
    EXPECT_EQ(cache.bytes(), before);
}
