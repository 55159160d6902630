// libFuzzer target for what the API reads from the network: the /search query string (parsed
// alone and through handle_request over a small snapshot), plus JSON escaping of arbitrary bytes.
// Oracles: no crash or sanitizer report; only 200/304/400/404/405 (503 on an event route); every
// body is valid JSON whose strings are valid UTF-8; escaping valid UTF-8 round-trips; and over a
// small snapshot generated from the input, /search answers exactly what a plain reference filter
// (every event, one by one, start and end compared with the query's bounds, its provider, prices
// and title words with the filters, sorted by start then id) picks; a page (limit, cursor) and the
// pages its Link headers lead to are exactly the rest of that, in order. The event routes
// (/events/{id}[/history]), which handle_request answers 503 without a database: 400 exactly when
// the id or a page parameter is bad, and a history cursor that decodes is the very text
// encode_history_cursor writes.
#include "marquee/api/event_routes.hpp"
#include "marquee/api/handler.hpp"
#include "marquee/api/response_cache.hpp"
#include "marquee/events/history.hpp"
#include "marquee/json/escape.hpp"
#include "marquee/search/query.hpp"
#include "marquee/text/words.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/src.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

marquee::time::instant at(const char* rfc3339) {
    return *marquee::time::parse_rfc3339(rfc3339);
}

marquee::search::event make_event(const char* id, const char* starts, const char* ends, const char* title) {
    marquee::search::event e;
    e.id = id;
    e.title = title;
    e.start_date = "2021-06-30";
    e.start_time = "21:00:00";
    e.end_date = "2021-06-30";
    e.end_time = "22:00:00";
    e.min_price = "10.00";
    e.starts_at = at(starts);
    e.ends_at = at(ends);
    return e;
}

const marquee::api::service_state& state() {
    static marquee::api::response_cache cache(64, 1 << 20);
    static const marquee::api::service_state s = [] {
        std::vector<marquee::search::event> events;
        events.push_back(make_event("a", "2021-06-30T19:00:00Z", "2021-06-30T20:00:00Z", "one"));
        events.push_back(make_event("b", "2021-06-30T19:00:00Z", "2021-07-30T20:00:00Z", "two \xE9"));
        events.push_back(make_event("c", "2000-01-01T00:00:00Z", "2000-01-01T00:00:01Z", "three\n"));
        events.push_back(make_event("d", "9999-12-31T23:59:58Z", "9999-12-31T23:59:59Z", "four\"\\"));
        marquee::api::service_state st;
        st.snapshot = std::make_shared<const marquee::search::snapshot>(9, std::move(events));
        st.database_reachable = true;
        st.cache = &cache;
        return st;
    }();
    return s;
}

void require(bool condition) {
    if (!condition) std::abort();
}

bool valid_json(std::string_view text) {
    boost::json::error_code ec;
    auto value = boost::json::parse(text, ec);
    return !ec;
}

// A canonical-looking UUID whose order is not the generation order.
std::string fmt_id(unsigned order, std::size_t index) {
    std::string id = "00000000-0000-5000-8000-000000000000";
    id[34] = static_cast<char>('0' + order);
    id[35] = static_cast<char>('0' + index % 10);
    return id;
}

// The ids /search returned, in order, from a 200 body.
std::vector<std::string> ids_in(std::string_view body) {
    std::vector<std::string> ids;
    auto value = boost::json::parse(body);
    for (const auto& e : value.at("data").at("events").as_array())
        ids.emplace_back(e.at("id").as_string().data(), e.at("id").as_string().size());
    return ids;
}

// Up to eight events from the input's first bytes, two bytes each: the start on a grid of
// seconds around a few instants (so equal starts, equal ends and the query's own bounds all
// happen), the duration from zero up. Returns the events and how many bytes were used.
std::pair<std::vector<marquee::search::event>, std::size_t> generated_events(std::string_view input) {
    static const std::array<marquee::time::instant, 4> anchors{at("2021-06-30T19:00:00Z"), at("2021-06-30T20:00:00Z"),
                                                               at("2000-01-01T00:00:00Z"), at("9999-12-31T23:59:50Z")};
    std::vector<marquee::search::event> events;
    std::size_t used = 0;
    if (input.empty()) return {events, used};
    const auto count = static_cast<std::size_t>(static_cast<unsigned char>(input[0]) % 9);
    used = 1;
    for (std::size_t i = 0; i < count && used + 2 <= input.size(); ++i, used += 2) {
        const auto a = static_cast<unsigned char>(input[used]);
        const auto b = static_cast<unsigned char>(input[used + 1]);
        const auto starts = anchors[a % anchors.size()] + std::chrono::seconds{(a >> 2) % 8};
        const auto ends = starts + std::chrono::seconds{b % 8} + std::chrono::microseconds{b >> 6};
        // Ids in the order of generation, but not sorted like it: the snapshot must sort.
        static const std::array<const char*, 6> titles{"Camela en concierto",
                                                       "CONCIÈRTO \"rock\"",
                                                       "l'été 2024",
                                                       "Stra\u00dfe \\ ж",
                                                       "\xff\x01"
                                                       "camel",
                                                       "generated"};
        static const std::array<const char*, 3> providers{"p1", "p2", "p.3"};
        static const std::array<const char*, 4> prices{"0.00", "20.00", "20.5", "100"};
        auto e = make_event("", "2021-06-30T19:00:00Z", "2021-06-30T19:00:00Z", titles[(a ^ b) % titles.size()]);
        e.provider = providers[(a >> 5) % providers.size()];
        if (b % 5 == 4) {
            e.min_price.reset();
        } else {
            e.min_price = prices[b % 4 / 2];
            e.max_price = prices[2 + b % 2];
        }
        e.id = fmt_id(static_cast<unsigned>(i * 37 % 9), i);
        e.starts_at = starts;
        e.ends_at = std::min(ends, at("9999-12-31T23:59:59Z"));
        events.push_back(std::move(e));
    }
    return {events, used};
}

// Whether the title has a word starting with each of q's words, word by word.
bool has_words(const std::string& title, const marquee::search::query& q) {
    std::vector<std::string> title_words;
    std::array<char, 256> buffer{};
    for (marquee::text::word_reader reader(title); auto w = reader.next(buffer);) title_words.emplace_back(*w);
    for (std::size_t i = 0; i < q.words->count; ++i)
        if (std::none_of(title_words.begin(), title_words.end(),
                         [&](const std::string& w) { return w.starts_with(q.words->word(i)); }))
            return false;
    return true;
}

// The reference: every event checked on its own against the bounds and filters, then sorted.
std::vector<std::string> reference_filter(std::vector<marquee::search::event> events, const marquee::search::query& q) {
    auto price = [](const std::optional<std::string>& text) {
        return text ? marquee::money::parse_price(*text) : std::nullopt;
    };
    std::erase_if(events, [&](const marquee::search::event& e) {
        return (q.starts_at && e.starts_at < *q.starts_at) || (q.ends_at && e.ends_at > *q.ends_at) ||
               (q.provider && e.provider != q.provider->view()) ||
               (q.price_max && !(price(e.min_price) && *price(e.min_price) <= *q.price_max)) ||
               (q.price_min && !(price(e.max_price) && *price(e.max_price) >= *q.price_min)) ||
               (q.words && !has_words(e.title, q));
    });
    std::sort(events.begin(), events.end(),
              [](const auto& x, const auto& y) { return std::tie(x.starts_at, x.id) < std::tie(y.starts_at, y.id); });
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(e.id);
    return ids;
}

void check_against_the_reference(std::string_view input) {
    auto [events, used] = generated_events(input);
    const auto all_events = events;
    // What follows '#' in a target is a fragment, never part of the query.
    auto query_text = input.substr(used);
    query_text = query_text.substr(0, query_text.find('#'));
    auto parsed = marquee::search::parse_query(query_text);
    auto* q = std::get_if<marquee::search::query>(&parsed);
    marquee::api::service_state st;
    st.snapshot = std::make_shared<const marquee::search::snapshot>(1, events);
    st.database_reachable = true;  // no response cache: every answer is computed
    auto r = marquee::api::handle_request(
        marquee::api::request{"GET", "/search?" + std::string(query_text), std::string_view{}}, st);
    if (!q) {
        require(r.status == 400);
        return;
    }
    require(r.status == 200 && r.body);
    auto expected = reference_filter(std::move(events), *q);
    if (!q->limit) {
        require(ids_in(r.body->materialise()) == expected);
        require(r.link.empty());
        return;
    }
    // A page: what follows the cursor's position, then each next page through the Link header
    // until the last, together exactly the rest of the reference, none longer than the limit.
    if (q->after) {
        std::erase_if(expected, [&](const std::string& id) {
            auto e = std::find_if(all_events.begin(), all_events.end(), [&](const auto& x) { return x.id == id; });
            return std::pair(e->starts_at, std::string_view(e->id)) <= std::pair(q->after->starts_at, q->after->id());
        });
    }
    std::vector<std::string> paged;
    for (int pages = 0;; ++pages) {
        require(pages <= 9);
        auto ids = ids_in(r.body->materialise());
        require(ids.size() <= *q->limit);
        paged.insert(paged.end(), ids.begin(), ids.end());
        const bool has_next = r.body->materialise().find(R"("next_cursor":null})") == std::string::npos;
        require(has_next == !r.link.empty());
        if (!has_next) break;
        require(ids.size() == *q->limit);
        require(r.link.starts_with("</search?") && r.link.ends_with(">; rel=\"next\""));
        auto target = r.link.substr(1, r.link.size() - 1 - std::string_view(">; rel=\"next\"").size());
        r = marquee::api::handle_request(marquee::api::request{"GET", target, std::string_view{}}, st);
        require(r.status == 200 && r.body);
    }
    require(paged == expected);
}

// The input as the query string of an event's history, and as a history cursor.
void check_event_routes(std::string_view input) {
    constexpr std::string_view id = "00000000-0000-5000-8000-000000000001";
    auto query_text = input.substr(0, input.find('#'));
    auto parsed = marquee::events::parse_history_query(query_text, id);
    auto r = marquee::api::handle_request(
        marquee::api::request{"GET", "/events/" + std::string(id) + "/history?" + std::string(input), {}}, state());
    require(r.which == marquee::api::route::event_history);
    require(r.status == (std::holds_alternative<marquee::events::history_query>(parsed) ? 503U : 400U));
    if (auto decoded = marquee::events::decode_history_cursor(input, id))
        require(marquee::events::encode_history_cursor(id, *decoded) == input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    auto parsed = marquee::search::parse_query(input);
    if (auto* q = std::get_if<marquee::search::query>(&parsed)) {
        if (q->starts_at && q->ends_at) require(*q->starts_at <= *q->ends_at);
    } else {
        require(!std::get<marquee::search::query_error>(parsed).message.empty());
    }

    // The first byte picks a method and whether the rest is a query or a whole target.
    std::string_view method = size > 0 && (data[0] & 1) ? "HEAD" : "GET";
    if (size > 0 && (data[0] & 6) == 6) method = "POST";
    std::string target = size > 0 && (data[0] & 8) ? std::string(input.substr(1)) : "/search?" + std::string(input);
    auto r = marquee::api::handle_request(marquee::api::request{method, target, input.substr(0, size / 4)}, state());
    require(r.status == 200 || r.status == 304 || r.status == 400 || r.status == 404 || r.status == 405 ||
            (r.status == 503 && marquee::api::is_event_route(r.which)));
    if (r.body && r.content_type == "application/json") require(valid_json(r.body->materialise()));

    check_against_the_reference(input);
    check_event_routes(input);

    auto quoted = marquee::json::quote(input);
    boost::json::error_code ec;
    auto value = boost::json::parse(quoted, ec);
    require(!ec && value.is_string());
    std::string_view unquoted(value.as_string().data(), value.as_string().size());
    // Replacements aside, escaping loses nothing: valid input comes back as it was.
    if (unquoted.find("\xEF\xBF\xBD") == std::string_view::npos) require(unquoted == input);
    return 0;
}
