#include "response_head.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace marquee::api::detail {
namespace {

void append_number(std::string& out, std::size_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

}  // namespace

std::string_view http_date::now() noexcept {
    auto now = std::time(nullptr);
    if (now != second_) {
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        length_ = std::strftime(text_, sizeof text_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        second_ = now;
    }
    return {text_, length_};
}

void write_response_head(std::string& head, const response& r, std::string_view date, std::size_t body_size, bool close,
                         int version, std::string_view request_id) {
    namespace http = boost::beast::http;
    head.clear();
    head.append("HTTP/1.1 ");
    append_number(head, r.status);
    head.push_back(' ');
    auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
    head.append(reason.data(), reason.size());
    head.append("\r\n");
    append_field(head, "Date", date);
    if (r.status != 304) {
        if (!r.content_type.empty()) append_field(head, "Content-Type", r.content_type);
        head.append("Content-Length: ");
        append_number(head, body_size);
        head.append("\r\n");
    }
    if (r.etag_length != 0) append_field(head, "ETag", r.etag());
    if (!r.cache_control.empty()) append_field(head, "Cache-Control", r.cache_control);
    if (!r.allow.empty()) append_field(head, "Allow", r.allow);
    if (!r.link.empty()) append_field(head, "Link", r.link);
    if (r.retry_after.count() > 0) {
        head.append("Retry-After: ");
        append_number(head, static_cast<std::size_t>(r.retry_after.count()));
        head.append("\r\n");
    }
    append_field(head, "X-Request-Id", request_id);
    if (close)
        head.append("Connection: close\r\n");
    else if (version == 10)
        head.append("Connection: keep-alive\r\n");
    head.append("\r\n");
}

}  // namespace marquee::api::detail
