#include "request_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace marquee::api::detail {

namespace http = boost::beast::http;

request_parser::request_parser(std::string& method, std::string& target, std::string& if_none_match,
                               std::string& request_id, std::string_view client_header, std::string& client_address)
    : method_(method),
      target_(target),
      if_none_match_(if_none_match),
      request_id_(request_id),
      client_header_(client_header),
      client_address_(client_address) {
    method_.clear();
    target_.clear();
    if_none_match_.clear();
    request_id_.clear();
    client_address_.clear();
    // The request line and the header fields are each limited to this.
    header_limit(static_cast<std::uint32_t>(max_header_bytes));
}

void request_parser::on_request_impl(http::verb, string_view method, string_view target, int v, error_code& ec) {
    got_request_line = true;
    version = v;
    if (target.size() > max_target_bytes) {
        target_too_long = true;
        ec = http::error::bad_target;
        return;
    }
    method_.assign(method.data(), method.size());
    target_.assign(target.data(), target.size());
}

void request_parser::on_field_impl(http::field name, string_view name_text, string_view value, error_code&) {
    if (!client_header_.empty() && boost::beast::iequals(name_text, client_header_)) {
        // Repeated fields are one list (RFC 9110 5.3): its rightmost element is the last field's.
        // Only that element is kept, so a long forged list costs no copy.
        auto comma = value.rfind(',');
        auto last = comma == string_view::npos ? value : value.substr(comma + 1);
        client_address_.assign(last.data(), last.size());
    }
    if (name == http::field::unknown && boost::beast::iequals(name_text, "x-request-id")) {
        // Only the first: a repeated one is no single id.
        if (request_id_.empty()) request_id_.assign(value.data(), value.size());
        return;
    }
    if (name != http::field::if_none_match) return;
    // Repeated fields are one comma-separated list (RFC 9110 5.3).
    if (!if_none_match_.empty()) if_none_match_.append(", ");
    if_none_match_.append(value.data(), value.size());
}

std::optional<error_kind> answerable_failure(const request_parser& parser,
                                             const boost::beast::error_code& ec) noexcept {
    bool too_big = ec == http::error::header_limit || ec == http::error::buffer_overflow;
    if (parser.target_too_long || (too_big && !parser.got_request_line)) return error_kind::uri_too_long;
    if (too_big) return error_kind::header_too_large;
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
        return error_kind::bad_request;
    return std::nullopt;
}

}  // namespace marquee::api::detail
