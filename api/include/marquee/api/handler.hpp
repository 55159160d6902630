#pragma once
// What the API answers to one request, apart from any socket: handle_request maps a parsed request
// and the current state to a response. The session loop (server.hpp) only moves bytes.
#include "marquee/search/snapshot.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
    header_too_large,    // header fields over 16 KiB
    internal,            // a bug or resource exhaustion; never shows detail
    unavailable,         // no snapshot loaded yet
};

struct error_mapping {
    unsigned status;
    std::string_view code;
    std::string_view message;  // default message
};

/// The one table from error to HTTP status, error code and default message.
error_mapping map_error(error_kind kind) noexcept;

/// Routes, for metrics labels.
enum class route { search, healthz, readyz, openapi, metrics, other };
inline constexpr std::size_t route_count = 6;
std::string_view route_name(route r) noexcept;

/// The limits the server enforces before a request reaches handle_request.
inline constexpr std::size_t max_target_bytes = 8 * 1024;
inline constexpr std::size_t max_header_bytes = 16 * 1024;

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
    std::array<char, 72> etag_storage{};
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

/// The response for an error detected outside handle_request (e.g. by the HTTP parser).
response error_response(error_kind kind, route which = route::other) noexcept;

/// "public, max-age=N".
std::string cache_control_for(std::chrono::seconds max_age);

}  // namespace marquee::api
