#pragma once
// The status line and header fields of a response, written into a string the session reuses, so a
// response head costs no allocation once that string has grown.
#include "marquee/api/handler.hpp"

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>

namespace marquee::api::detail {

/// The Date field's value (RFC 9110 5.6.7), formatted at most once a second. One per I/O thread.
class http_date {
public:
    std::string_view now() noexcept;

private:
    std::time_t second_ = 0;
    char text_[40] = {};
    std::size_t length_ = 0;
};

/// Replaces `head` with the head of `r`: status line, Date, Content-Type and Content-Length (not
/// for 304), ETag, Cache-Control, Allow, Link, Retry-After, X-Request-Id, and Connection when it
/// differs from the default of HTTP/`version` (1.0 is 10). Throws std::bad_alloc only.
void write_response_head(std::string& head, const response& r, std::string_view date, std::size_t body_size, bool close,
                         int version, std::string_view request_id);

}  // namespace marquee::api::detail
