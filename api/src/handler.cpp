#include "marquee/api/handler.hpp"

#include "marquee/api/event_routes.hpp"
#include "marquee/api/response_cache.hpp"
#include "marquee/log/log.hpp"
#include "marquee/search/render.hpp"

#include <fmt/format.h>

#include <charconv>
#include <variant>

namespace marquee::api {
namespace {

std::shared_ptr<const response_body> text_body(std::string text) {
    return std::make_shared<const response_body>(std::move(text));
}

constexpr std::string_view json_type = "application/json";
constexpr std::string_view yaml_type = "application/yaml";
constexpr std::string_view prometheus_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view html_type = "text/html; charset=utf-8";

// /docs: the served spec rendered by Redoc, which the browser loads from a CDN (as FastAPI does
// with Swagger UI); the API itself serves no script. The spec's URL is relative, so the page works
// behind a proxy that mounts the API under a path prefix.
constexpr std::string_view docs_page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>marquee API</title>
</head>
<body>
<redoc spec-url="openapi.yaml"></redoc>
<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
</body>
</html>
)html";
constexpr std::string_view no_store = "no-store";
constexpr std::string_view allowed_methods = "GET, HEAD";

// Error bodies with their default message are the same bytes every time: render them once.
const std::shared_ptr<const response_body>& default_error_body(error_kind kind) {
    static const auto bodies = [] {
        std::array<std::shared_ptr<const response_body>, error_kind_count> all;
        for (std::size_t i = 0; i < all.size(); ++i) {
            auto m = map_error(all_error_kinds[i]);
            all[i] = text_body(search::render_error(m.code, m.message));
        }
        return all;
    }();
    return bodies[static_cast<std::size_t>(kind)];
}

response make_error(error_kind kind, route which, std::string_view message = {}) {
    response r;
    auto m = map_error(kind);
    r.status = m.status;
    r.which = which;
    r.content_type = json_type;
    r.cache_control = no_store;
    r.body = message.empty() ? default_error_body(kind) : text_body(search::render_error(m.code, message));
    if (kind == error_kind::method_not_allowed) r.allow = allowed_methods;
    return r;
}

response make_ok(route which, std::string_view content_type, std::shared_ptr<const response_body> body) {
    response r;
    r.which = which;
    r.content_type = content_type;
    r.cache_control = no_store;
    r.body = std::move(body);
    return r;
}

route route_of(std::string_view path) noexcept {
    if (path == "/search") return route::search;
    if (path == "/healthz") return route::healthz;
    if (path == "/readyz") return route::readyz;
    if (path == "/openapi.yaml") return route::openapi;
    if (path == "/docs") return route::docs;
    if (path == "/metrics") return route::metrics;
    return event_route_of(path);
}

// "<version>-[x]<starts_at_us>-[x]<ends_at_us>", quoted; 'x' marks an absent bound. Filters add
// "-f<selection fingerprint in hex>", a page "-p<limit>" and, after the first, "-<after
// starts_at_us>.<after id in hex>". Written with to_chars because it runs for every search,
// cached or not.
void set_etag(response& r, const query_key& key, const search::query& q) {
    char* out = r.etag_storage.data();
    char* end = out + r.etag_storage.size();
    *out++ = '"';
    out = std::to_chars(out, end, key.data_version).ptr;
    *out++ = '-';
    if (!key.has_starts_at) *out++ = 'x';
    out = std::to_chars(out, end, key.starts_at_us).ptr;
    *out++ = '-';
    if (!key.has_ends_at) *out++ = 'x';
    out = std::to_chars(out, end, key.ends_at_us).ptr;
    if (q.filters()) {
        *out++ = '-';
        *out++ = 'f';
        out = std::to_chars(out, end, search::selection_fingerprint(q), 16).ptr;
    }
    if (q.limit) {
        *out++ = '-';
        *out++ = 'p';
        out = std::to_chars(out, end, *q.limit).ptr;
    }
    if (q.after) {
        constexpr std::string_view hex = "0123456789abcdef";
        *out++ = '-';
        out = std::to_chars(out, end, q.after->starts_at.time_since_epoch().count()).ptr;
        *out++ = '.';
        for (unsigned char c : q.after->id()) {
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out++ = '"';
    r.etag_length = static_cast<std::size_t>(out - r.etag_storage.data());
}
static_assert(std::tuple_size_v<decltype(response::etag_storage)> >=
                  2 + 20 + 2 * 22 + 2 + 16 + 2 + 5 + 2 + 20 + 2 * search::max_page_id_length,
              "a page's ETag fits");

// The target of the next search page: the request's own query string with the cursor replaced.
std::string next_link(std::string_view query_string, std::string_view cursor) {
    return next_page_link("/search", query_string, cursor);
}

// The answer to `q` as ranges of the snapshot's own bytes, sent without a copy however many there
// are (the server sends them in as many sendmsg calls as it takes). Most answers fall into a few
// runs, found without allocating; more runs are looked for again with room for four times as many.
// A page's body owns its tail (it names the next cursor) besides the snapshot its ranges are in.
struct page_owner {
    std::shared_ptr<const search::snapshot> snapshot;
    std::string tail;
};

// The body answering `q`; for a page, `next_cursor` is set when another page follows.
std::shared_ptr<const response_body> search_body(const std::shared_ptr<const search::snapshot>& s,
                                                 const search::query& q, std::string* next_cursor = nullptr) {
    std::array<std::string_view, max_gathered_ranges> few;
    std::vector<std::string_view> many;
    std::span<std::string_view> ranges = few;
    std::optional<search::page_end> next;
    auto n = s->match_ranges(q, ranges, &next);
    while (!n) {
        many.resize(ranges.size() * 4);
        ranges = many;
        n = s->match_ranges(q, ranges, &next);
    }
    std::vector<std::string_view> pieces;
    pieces.reserve(*n + 2);
    pieces.push_back(search::search_head);
    pieces.insert(pieces.end(), ranges.begin(), ranges.begin() + static_cast<std::ptrdiff_t>(*n));
    if (!q.limit) {
        pieces.push_back(search::search_tail);
        return std::make_shared<const response_body>(s, std::move(pieces));
    }
    auto owner = std::make_shared<page_owner>();
    owner->snapshot = s;
    if (next) {
        *next_cursor = search::encode_cursor(q, next->starts_at, next->id);
        owner->tail = R"(],"next_cursor":")" + *next_cursor + R"("},"error":null})";
    } else {
        owner->tail = R"(],"next_cursor":null},"error":null})";
    }
    pieces.push_back(owner->tail);
    return std::make_shared<const response_body>(std::move(owner), std::move(pieces));
}

response search(std::string_view query_string, const request& req, const service_state& state) {
    auto parsed = search::parse_query(query_string);
    if (auto* bad = std::get_if<search::query_error>(&parsed)) {
        auto kind = bad->what == search::query_error::kind::invalid_range ? error_kind::invalid_range
                                                                          : error_kind::invalid_parameter;
        return make_error(kind, route::search, bad->message);
    }
    if (!state.snapshot) return make_error(error_kind::unavailable, route::search);
    const auto& q = std::get<search::query>(parsed);
    auto key = query_key::of(state.snapshot->data_version(), q);

    response r;
    r.which = route::search;
    r.content_type = json_type;
    r.cache_control = state.search_cache_control;
    set_etag(r, key, q);
    if (!req.if_none_match.empty() && matches_if_none_match(req.if_none_match, r.etag())) {
        r.status = 304;
        return r;
    }
    if (q.limit || q.filters()) {
        // Pages are not cached: each cursor is its own key, and a page costs a few binary searches.
        // Nor are filtered answers: the cache key holds dates only.
        std::string next_cursor;
        r.body = search_body(state.snapshot, q, &next_cursor);
        if (!next_cursor.empty()) r.link = next_link(query_string, next_cursor);
        return r;
    }
    if (state.cache) r.body = state.cache->find(key);
    if (!r.body) {
        r.body = search_body(state.snapshot, q);
        if (state.cache) state.cache->insert(key, r.body);
    }
    return r;
}

response ready(const service_state& state) {
    if (!state.snapshot) return make_error(error_kind::unavailable, route::readyz);
    auto data = fmt::format(R"({{"status":"{}","database":"{}","data_version":{},"events":{}}})",
                            state.database_reachable ? "ready" : "degraded",
                            state.database_reachable ? "reachable" : "unreachable", state.snapshot->data_version(),
                            state.snapshot->size());
    return make_ok(route::readyz, json_type, text_body(search::render_data(data)));
}

response dispatch(const request& req, const service_state& state) {
    std::string_view path;
    std::string_view query_string;
    split_target(req.target, path, query_string);
    auto which = route_of(path);
    if (which == route::other) return make_error(error_kind::not_found, which);
    if (req.method != "GET" && req.method != "HEAD") return make_error(error_kind::method_not_allowed, which);

    switch (which) {
        case route::search:
            return search(query_string, req, state);
        case route::healthz: {
            static const auto body = text_body(search::render_data(R"({"status":"alive"})"));
            return make_ok(which, json_type, body);
        }
        case route::readyz:
            return ready(state);
        case route::openapi: {
            if (!state.openapi_yaml) return make_error(error_kind::not_found, which);
            auto r = make_ok(which, yaml_type,
                             std::make_shared<const response_body>(state.openapi_yaml,
                                                                   std::vector<std::string_view>{*state.openapi_yaml}));
            r.cache_control = state.search_cache_control;
            return r;
        }
        case route::docs: {
            if (!state.openapi_yaml) return make_error(error_kind::not_found, which);
            static const auto body = text_body(std::string(docs_page));
            auto r = make_ok(which, html_type, body);
            r.cache_control = state.search_cache_control;
            return r;
        }
        case route::metrics:
            return make_ok(which, prometheus_type,
                           text_body(state.render_metrics ? state.render_metrics() : std::string()));
        case route::event:
        case route::event_history:
            // The server answers these off this path (event_routes.hpp); without it, there is no
            // event data to serve, but the request is still checked.
            return event_without_lookup(req);
        case route::other:
            break;
    }
    return make_error(error_kind::not_found, which);
}

}  // namespace

response_body::response_body(std::string text) : text_(std::move(text)), text_view_(text_), size_(text_.size()) {}

response_body::response_body(std::shared_ptr<const void> owner, std::vector<std::string_view> pieces)
    : owner_(std::move(owner)), gathered_(std::move(pieces)) {
    for (auto piece : gathered_) size_ += piece.size();
    // pieces() tells the two kinds apart by an empty list; an empty body is then one empty text.
    if (gathered_.empty()) text_view_ = text_;
}

std::size_t response_body::held_bytes() const noexcept {
    return sizeof(response_body) + text_.size() + gathered_.capacity() * sizeof(std::string_view);
}

std::string response_body::materialise() const {
    std::string out;
    out.reserve(size_);
    for (auto piece : pieces()) out.append(piece);
    return out;
}

response handle_request(const request& req, const service_state& state) noexcept {
    try {
        return dispatch(req, state);
    } catch (const std::exception& e) {
        log::error("request failed: {}", e.what());
    } catch (...) {
        log::error("request failed with an unknown exception");
    }
    try {
        return make_error(error_kind::internal, route::other);
    } catch (...) {
        // Out of memory even for the canned body: an empty 500 still tells the truth.
        response r;
        r.status = 500;
        return r;
    }
}

response error_response(error_kind kind, route which, std::string_view message) noexcept {
    try {
        return make_error(kind, which, message);
    } catch (...) {
        response r;
        r.status = map_error(kind).status;
        return r;
    }
}

route target_route(std::string_view target) noexcept {
    std::string_view path;
    std::string_view query_string;
    split_target(target, path, query_string);
    return route_of(path);
}

void split_target(std::string_view target, std::string_view& path, std::string_view& query) noexcept {
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (target.starts_with("http://") || target.starts_with("https://")) {
        auto authority = target.find("//") + 2;
        auto slash = target.find_first_of("/?", authority);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    auto question = target.find('?');
    path = target.substr(0, question);
    query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

bool matches_if_none_match(std::string_view header, std::string_view etag) noexcept {
    while (!header.empty()) {
        auto comma = header.find(',');
        auto item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (item == "*") return true;
        if (item.starts_with("W/")) item.remove_prefix(2);
        if (item == etag) return true;
    }
    return false;
}

std::string next_page_link(std::string_view path, std::string_view query_string, std::string_view cursor) {
    std::string link = "<";
    link.append(path);
    link.push_back('?');
    for (search::query_pairs pairs(query_string); auto next = pairs.next();) {
        auto pair = *next;
        std::array<char, 8> key{};
        auto length = search::percent_decode(pair.substr(0, pair.find('=')), key.data(), key.size());
        if (length && std::string_view(key.data(), *length) == "cursor") continue;
        link.append(pair);
        link.push_back('&');
    }
    link.append("cursor=");
    link.append(cursor);
    link.append(">; rel=\"next\"");
    return link;
}

std::string cache_control_for(std::chrono::seconds max_age) {
    return fmt::format("public, max-age={}", max_age.count());
}

}  // namespace marquee::api
