// libFuzzer target for what the API reads from the network: the /search query string (parsed
// alone and through handle_request over a small snapshot), plus JSON escaping of arbitrary bytes.
// Oracles: no crash or sanitizer report; only 200/304/400/404/405; every body is valid JSON whose
// strings are valid UTF-8; escaping valid UTF-8 round-trips.
#include "marquee/api/handler.hpp"
#include "marquee/api/response_cache.hpp"
#include "marquee/json/escape.hpp"
#include "marquee/search/query.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/src.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

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
    require(r.status == 200 || r.status == 304 || r.status == 400 || r.status == 404 || r.status == 405);
    if (r.body && r.content_type == "application/json") require(valid_json(r.body->materialise()));

    auto quoted = marquee::json::quote(input);
    boost::json::error_code ec;
    auto value = boost::json::parse(quoted, ec);
    require(!ec && value.is_string());
    std::string_view unquoted(value.as_string().data(), value.as_string().size());
    // Replacements aside, escaping loses nothing: valid input comes back as it was.
    if (unquoted.find("\xEF\xBF\xBD") == std::string_view::npos) require(unquoted == input);
    return 0;
}
