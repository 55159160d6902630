#pragma once
// The JSON bytes of the search API's bodies: {"data":…,"error":null} and
// {"error":{"code":…,"message":…},"data":null}, field names as the contract (api/openapi.yaml) fixes.
#include "marquee/search/query.hpp"
#include "marquee/search/snapshot.hpp"

#include <string>
#include <string_view>

namespace marquee::search {

/// What render_search puts around the comma-separated events of a search answer.
inline constexpr std::string_view search_head = "{\"data\":{\"events\":[";
inline constexpr std::string_view search_tail = "]},\"error\":null}";

/// Appends one EventSummary object. A price that is not a JSON number (PostgreSQL's NaN) is null.
void append_event(std::string& out, const event& e);

/// {"data":{"events":[…]},"error":null} for `q` over `s`.
std::string render_search(const snapshot& s, const query& q);

/// {"data":<data_json>,"error":null}; `data_json` must already be JSON.
std::string render_data(std::string_view data_json);

/// {"error":{"code":"…","message":"…"},"data":null}.
std::string render_error(std::string_view code, std::string_view message);

}  // namespace marquee::search
