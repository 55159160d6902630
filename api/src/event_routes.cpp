#include "marquee/api/event_routes.hpp"

#include "marquee/hash/mix.hpp"
#include "marquee/ids/event_id.hpp"
#include "marquee/search/render.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace marquee::api {
namespace {

constexpr std::string_view events_prefix = "/events/";
constexpr std::string_view history_suffix = "/history";
constexpr std::string_view json_type = "application/json";
constexpr std::string_view no_store = "no-store";
constexpr std::string_view bad_id_message =
    "id is not an event id (a UUID such as 6f1e7c9a-0b8d-5f55-9c3e-0d1e2f3a4b5c)";
constexpr std::string_view no_event_message = "no event with this id has ever been online";
// Seeds the ETag hash, so an event answer's tag is no other route's by accident.
constexpr std::uint64_t etag_seed = 0x6576'656e'7473'2f31ULL;

// The {id} segment of an event route's path.
std::string_view id_segment(std::string_view path, route which) noexcept {
    path.remove_prefix(events_prefix.size());
    if (which == route::event_history) path.remove_suffix(history_suffix.size());
    return path;
}

// "history:<id>:<limit>:<after µs>.<after row id>", "-" for what is absent.
std::string history_key(const std::string& id, const events::history_query& page) {
    std::string key = "history:" + id + ':';
    key += page.limit ? std::to_string(*page.limit) : "-";
    key += ':';
    if (page.after)
        key +=
            std::to_string(page.after->observed_at.time_since_epoch().count()) + '.' + std::to_string(page.after->id);
    else
        key += '-';
    return key;
}

std::string strong_etag(const response_body& body) {
    std::uint64_t h = etag_seed;
    for (auto piece : body.pieces()) h = hash::mix_bytes(h, piece);
    return fmt::format("\"{:016x}\"", h);
}

}  // namespace

route event_route_of(std::string_view path) noexcept {
    if (!path.starts_with(events_prefix)) return route::other;
    auto rest = path.substr(events_prefix.size());
    auto slash = rest.find('/');
    if (slash == 0 || rest.empty()) return route::other;
    if (slash == std::string_view::npos) return route::event;
    return rest.substr(slash) == history_suffix ? route::event_history : route::other;
}

std::optional<std::string> parse_event_id(std::string_view segment) {
    auto id = ids::parse_uuid(segment);
    if (!id) return std::nullopt;
    return id->to_string();
}

std::variant<event_target, response> parse_event_request(const request& req) {
    std::string_view path;
    std::string_view query_string;
    split_target(req.target, path, query_string);
    event_target target;
    target.which = event_route_of(path);
    if (target.which == route::other) return error_response(error_kind::not_found, target.which);
    if (req.method != "GET" && req.method != "HEAD")
        return error_response(error_kind::method_not_allowed, target.which);
    auto id = parse_event_id(id_segment(path, target.which));
    if (!id) return error_response(error_kind::invalid_parameter, target.which, bad_id_message);
    target.lookup.id = std::move(*id);
    if (target.which == route::event) {
        target.lookup.what = events::lookup::kind::detail;
        target.cache_key = "event:" + target.lookup.id;
        return target;
    }
    target.lookup.what = events::lookup::kind::history;
    auto page = events::parse_history_query(query_string, target.lookup.id);
    if (auto* bad = std::get_if<events::parameter_error>(&page))
        return error_response(error_kind::invalid_parameter, target.which, bad->message);
    target.lookup.page = std::get<events::history_query>(page);
    target.cache_key = history_key(target.lookup.id, target.lookup.page);
    return target;
}

std::shared_ptr<const event_answer> render_event_answer(const event_target& target, const events::lookup_result& rows,
                                                        std::chrono::steady_clock::time_point read_at) {
    auto answer = std::make_shared<event_answer>();
    answer->read_at = read_at;
    if (!rows.found) {
        answer->status = 404;
        answer->body = std::make_shared<const response_body>(
            search::render_error(map_error(error_kind::not_found).code, no_event_message));
        return answer;
    }
    if (target.which == route::event) {
        answer->body = std::make_shared<const response_body>(events::render_event_detail(rows.detail));
    } else {
        const auto& page = target.lookup.page;
        std::string next_cursor;
        if (rows.more && !rows.history.empty()) {
            const auto& last = rows.history.back();
            next_cursor = events::encode_history_cursor(target.lookup.id, {last.observed_at, last.id});
            // The page size the client asked for, whatever else its query string held: the link is
            // part of an answer every request with this key shares.
            answer->link = next_page_link("/events/" + target.lookup.id + "/history",
                                          "limit=" + std::to_string(*page.limit), next_cursor);
        }
        answer->body = std::make_shared<const response_body>(
            events::render_history(rows.history, page.limit.has_value(), next_cursor));
    }
    answer->etag = strong_etag(*answer->body);
    return answer;
}

response event_response(const event_answer& answer, route which, std::string_view if_none_match,
                        std::string_view cache_control) {
    response r;
    r.which = which;
    r.status = answer.status;
    r.content_type = json_type;
    if (answer.status != 200) {
        r.cache_control = no_store;
        r.body = answer.body;
        return r;
    }
    r.cache_control = cache_control;
    std::copy(answer.etag.begin(), answer.etag.end(), r.etag_storage.begin());
    r.etag_length = answer.etag.size();
    if (!if_none_match.empty() && matches_if_none_match(if_none_match, answer.etag)) {
        r.status = 304;
        return r;
    }
    r.body = answer.body;
    r.link = answer.link;
    return r;
}

response event_without_lookup(const request& req) {
    auto parsed = parse_event_request(req);
    if (auto* r = std::get_if<response>(&parsed)) return std::move(*r);
    return error_response(error_kind::unavailable, std::get<event_target>(parsed).which, events_unavailable_message);
}

}  // namespace marquee::api
