#pragma once
// GET /events/{id} and GET /events/{id}/history apart from any socket or database: which lookup a
// request needs (or the error that answers it at once), the cache key of its answer, the answer
// rendered from what the database returned, and the response made of a (cached) answer. The
// session (session.cpp) does the waiting: the rows come from pg::event_reader off the I/O threads.
#include "marquee/api/event_cache.hpp"
#include "marquee/api/handler.hpp"
#include "marquee/events/lookup.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace marquee::api {

/// The 503 message when an event route has neither the database nor a cached answer.
inline constexpr std::string_view events_unavailable_message =
    "event data is unavailable: the database cannot be reached";

/// Whether `which` is GET /events/{id} or /events/{id}/history.
constexpr bool is_event_route(route which) noexcept {
    return which == route::event || which == route::event_history;
}

/// route::event for "/events/{id}", route::event_history for "/events/{id}/history", where {id}
/// is any non-empty segment; route::other for any other path.
route event_route_of(std::string_view path) noexcept;

/// The canonical (lower-case) text of an event id as a client wrote it in a path: a UUID in the
/// canonical 8-4-4-4-12 form, hex digits in either case; nullopt for anything else.
std::optional<std::string> parse_event_id(std::string_view segment);

/// What an event route request needs from the database.
struct event_target {
    route which = route::event;
    events::lookup lookup;
    /// route, id and page: requests with the same key have the same answer.
    std::string cache_key;
};

/// The lookup `req` needs, or the response that answers it without one: 404 for a path that is no
/// event route, 405 for a method other than GET and HEAD, 400 invalid_parameter naming `id` for a
/// malformed id or naming limit/cursor for a bad page parameter (a cursor from another event's
/// history included). Throws only std::bad_alloc.
std::variant<event_target, response> parse_event_request(const request& req);

/// The answer to `target` from what the database returned: the rendered body with an ETag
/// derived from its bytes, and for a history page that has a next one its cursor in the body and
/// in a Link header; 404 when the event is unknown or was never online. Throws only std::bad_alloc.
std::shared_ptr<const event_answer> render_event_answer(const event_target& target, const events::lookup_result& rows,
                                                        std::chrono::steady_clock::time_point read_at);

/// The response carrying `answer` to a request with `if_none_match`: 304 when it names the
/// answer's ETag, else the answer with `cache_control` (which must outlive the response).
response event_response(const event_answer& answer, route which, std::string_view if_none_match,
                        std::string_view cache_control);

/// What handle_request answers on an event route when no lookup is wired in (tests, tools): the
/// request's own errors, else 503 unavailable.
response event_without_lookup(const request& req);

}  // namespace marquee::api
