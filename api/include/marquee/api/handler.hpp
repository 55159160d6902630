#pragma once
// What the API answers to one request, apart from any socket: handle_request maps a parsed request
// and the current state to a response. The session loop (server.hpp) only moves bytes.
#include "marquee/search/snapshot.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marquee::api {

class response_cache;

/// Everything that can go wrong in a request, mapped to HTTP by map_error and nowhere else.
enum class error_kind {
    bad_request,         // malformed HTTP
    invalid_parameter,   // starts_at/ends_at unparsable, empty or repeated
    invalid_range,       // starts_at after ends_at
    not_found,           // unknown path
    method_not_allowed,  // known path, method other than GET/HEAD
    uri_too_long,        // request line or target over 8 KiB
    too_many_requests,   // the client is over its rate limit (API_RATE_LIMIT)
    header_too_large,    // header fields over 16 KiB
    internal,            // a bug or resource exhaustion; never shows detail
    unavailable,         // no snapshot loaded yet
};

/// Every error_kind, in enumerator order (checked below, with map_error's switch).
inline constexpr std::array all_error_kinds{
    error_kind::bad_request,       error_kind::invalid_parameter,  error_kind::invalid_range,
    error_kind::not_found,         error_kind::method_not_allowed, error_kind::uri_too_long,
    error_kind::too_many_requests, error_kind::header_too_large,   error_kind::internal,
    error_kind::unavailable,
};
inline constexpr std::size_t error_kind_count = all_error_kinds.size();

struct error_mapping {
    unsigned status;  // 0 only for a value that is no error_kind
    std::string_view code;
    std::string_view message;  // default message
};

/// The one table from error to HTTP status, error code and default message.
constexpr error_mapping map_error(error_kind kind) noexcept {
    // No default: -Wswitch (an error in CI) names an enumerator missing here.
    switch (kind) {
        case error_kind::bad_request:
            return {400, "bad_request", "malformed HTTP request"};
        case error_kind::invalid_parameter:
            return {400, "invalid_parameter", "invalid query parameter"};
        case error_kind::invalid_range:
            return {400, "invalid_range", "starts_at is after ends_at"};
        case error_kind::not_found:
            return {404, "not_found", "no such resource"};
        case error_kind::method_not_allowed:
            return {405, "method_not_allowed", "method not allowed; use GET or HEAD"};
        case error_kind::uri_too_long:
            return {414, "uri_too_long", "request target longer than 8 KiB"};
        case error_kind::too_many_requests:
            return {429, "too_many_requests", "too many requests; retry after the seconds in Retry-After"};
        case error_kind::header_too_large:
            return {431, "header_too_large", "request header fields larger than 16 KiB"};
        case error_kind::internal:
            return {500, "internal_error", "internal error"};
        case error_kind::unavailable:
            return {503, "unavailable", "search data is not loaded yet"};
    }
    return {0, "internal_error", "internal error"};
}

/// Routes, for metrics labels. event and event_history are GET /events/{id} and
/// GET /events/{id}/history (event_routes.hpp).
enum class route { search, healthz, readyz, openapi, docs, metrics, event, event_history, other };

/// Every route, in enumerator order (checked below, with route_name's switch).
inline constexpr std::array all_routes{route::search,  route::healthz,       route::readyz,
                                       route::openapi, route::docs,          route::metrics,
                                       route::event,   route::event_history, route::other};
inline constexpr std::size_t route_count = all_routes.size();

/// The route's metrics label; empty only for a value that is no route.
constexpr std::string_view route_name(route r) noexcept {
    // No default: -Wswitch (an error in CI) names an enumerator missing here.
    switch (r) {
        case route::search:
            return "search";
        case route::healthz:
            return "healthz";
        case route::readyz:
            return "readyz";
        case route::openapi:
            return "openapi";
        case route::docs:
            return "docs";
        case route::metrics:
            return "metrics";
        case route::event:
            return "event";
        case route::event_history:
            return "event_history";
        case route::other:
            return "other";
    }
    return {};
}

namespace detail {

// An enum's list is complete and in order when its i-th element has the value i and the value
// after the last is none the switch knows; a new enumerator added to the switch (as -Wswitch
// demands) but not to the list fails that second check.
constexpr bool lists_every_error_kind() noexcept {
    for (std::size_t i = 0; i < all_error_kinds.size(); ++i)
        if (all_error_kinds[i] != static_cast<error_kind>(i) || map_error(all_error_kinds[i]).status == 0) return false;
    return map_error(static_cast<error_kind>(all_error_kinds.size())).status == 0;
}

constexpr bool lists_every_route() noexcept {
    for (std::size_t i = 0; i < all_routes.size(); ++i)
        if (all_routes[i] != static_cast<route>(i) || route_name(all_routes[i]).empty()) return false;
    return route_name(static_cast<route>(all_routes.size())).empty();
}

// 200 and 304 (answers) and every error's status, ascending, each once.
constexpr std::size_t distinct_statuses(std::array<unsigned, 2 + error_kind_count>& all) noexcept {
    all[0] = 200;
    all[1] = 304;
    for (std::size_t i = 0; i < error_kind_count; ++i) all[2 + i] = map_error(all_error_kinds[i]).status;
    std::sort(all.begin(), all.end());
    return static_cast<std::size_t>(std::unique(all.begin(), all.end()) - all.begin());
}

constexpr auto all_statuses() noexcept {
    std::array<unsigned, 2 + error_kind_count> all{};
    std::size_t n = distinct_statuses(all);
    return std::pair{all, n};
}

}  // namespace detail

static_assert(detail::lists_every_error_kind(), "all_error_kinds must list every error_kind, in order");
static_assert(detail::lists_every_route(), "all_routes must list every route, in order");

/// Every status a response can have (handle_request, error_response), ascending: 200, 304 and the
/// statuses of map_error. Metrics count each under itself.
inline constexpr auto response_statuses = [] {
    constexpr auto all = detail::all_statuses();
    std::array<unsigned, all.second> statuses{};
    for (std::size_t i = 0; i < statuses.size(); ++i) statuses[i] = all.first[i];
    return statuses;
}();

/// The index of `status` in response_statuses; that of 500 for any other (it cannot happen: a
/// response's status comes from the same table).
constexpr std::size_t response_status_index(unsigned status) noexcept {
    std::size_t internal = 0;
    for (std::size_t i = 0; i < response_statuses.size(); ++i) {
        if (response_statuses[i] == status) return i;
        if (response_statuses[i] == 500) internal = i;
    }
    return internal;
}
static_assert(response_statuses[response_status_index(500)] == 500, "500 is a response status");

/// The limits the server enforces before a request reaches handle_request.
inline constexpr std::size_t max_target_bytes = std::size_t{8} * 1024;
inline constexpr std::size_t max_header_bytes = std::size_t{16} * 1024;

struct request {
    std::string_view method;         ///< as sent, case-sensitive
    std::string_view target;         ///< origin-form ("/search?…") or absolute-form
    std::string_view if_none_match;  ///< empty when absent
};

/// The bytes of a response body: one owned string, or views into memory that `owner` keeps alive
/// (a search answer: the envelope's constant head, ranges of the snapshot's pre-rendered JSON, the
/// tail), which the server sends with one gather write instead of copying them together first.
/// Immutable and shared, so the response cache can hand the same body to many requests.
class response_body {
public:
    explicit response_body(std::string text);
    /// `pieces` must stay valid while `owner` lives. Throws std::bad_alloc only.
    response_body(std::shared_ptr<const void> owner, std::vector<std::string_view> pieces);
    // Not copyable or movable: pieces() may point into the body itself.
    response_body(const response_body&) = delete;
    response_body& operator=(const response_body&) = delete;

    std::size_t size() const noexcept { return size_; }
    /// The body, in order; the views live as long as this body.
    std::span<const std::string_view> pieces() const noexcept {
        return gathered_.empty() ? std::span<const std::string_view>(&text_view_, 1) : std::span(gathered_);
    }
    /// Bytes this body holds itself (not the owner's), for the response cache's budget.
    std::size_t held_bytes() const noexcept;
    /// The body as one string. For tests and tools: the server sends pieces() as they are.
    std::string materialise() const;

private:
    std::string text_;
    std::string_view text_view_;
    std::shared_ptr<const void> owner_;
    std::vector<std::string_view> gathered_;
    std::size_t size_ = 0;
};

/// Runs of a search answer found without allocating: the HTTP head, the envelope's head and tail
/// and this many ranges fit one sendmsg of 64 buffers. An answer in more runs is still sent from
/// the snapshot, in more (or longer) sendmsg calls.
inline constexpr std::size_t max_gathered_ranges = 61;

struct response {
    unsigned status = 200;
    route which = route::other;
    std::string_view content_type;
    /// Null only for 304. For HEAD the server sends its length but not its bytes.
    std::shared_ptr<const response_body> body;
    std::string_view cache_control;
    std::string_view allow;  ///< set for 405
    std::string link;        ///< the Link header's value; set for a page that has a next one
    /// The Retry-After header, in seconds, when above 0; set for 429.
    std::chrono::seconds retry_after{0};
    std::array<char, 256> etag_storage{};
    std::size_t etag_length = 0;  ///< 0 when there is no ETag

    std::string_view etag() const noexcept { return {etag_storage.data(), etag_length}; }
};

/// What a request may see. Built by the server; tests build it by hand.
struct service_state {
    std::shared_ptr<const search::snapshot> snapshot;  ///< null until the first load
    bool database_reachable = false;
    std::shared_ptr<const std::string> openapi_yaml;  ///< served as is; may be null
    std::function<std::string()> render_metrics;      ///< may be empty
    response_cache* cache = nullptr;                  ///< may be null
    std::string_view search_cache_control = "public, max-age=5";
};

/// The response to `req`. Never throws: failures become a 500 without detail.
response handle_request(const request& req, const service_state& state) noexcept;

/// The response for an error detected outside handle_request (e.g. by the HTTP parser); `message`
/// replaces the error's default message when not empty.
response error_response(error_kind kind, route which = route::other, std::string_view message = {}) noexcept;

/// The route handle_request answers `target` under (origin-form or absolute-form), for what the
/// server decides before calling it (rate limits).
route target_route(std::string_view target) noexcept;

/// `target`'s path and query string: absolute-form ("http://host/path?q") is reduced to its path,
/// a fragment (which clients should not send) is dropped.
void split_target(std::string_view target, std::string_view& path, std::string_view& query) noexcept;

/// Whether an If-None-Match field value ("*" or a list of entity tags, RFC 9110 13.1.2, compared
/// weakly) matches `etag`.
bool matches_if_none_match(std::string_view header, std::string_view etag) noexcept;

/// The Link header of the next page: `path` with the request's own query string, its cursor
/// replaced by `cursor`, and rel="next".
std::string next_page_link(std::string_view path, std::string_view query_string, std::string_view cursor);

/// "public, max-age=N".
std::string cache_control_for(std::chrono::seconds max_age);

}  // namespace marquee::api
