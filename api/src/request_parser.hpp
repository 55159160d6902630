#pragma once
// The request head as the session needs it: Beast's parser keeps only the method, the target,
// If-None-Match, X-Request-Id and the client address header (API_CLIENT_ADDRESS_HEADER), in
// strings the session owns and reuses, so parsing allocates nothing once they have grown.
// Anything else in the head is checked (syntax, limits) and dropped.
#include "marquee/api/handler.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace marquee::api::detail {

class request_parser final : public boost::beast::http::basic_parser<true> {
public:
    /// Clears the five strings; the parser fills them. `client_address` gets the rightmost
    /// comma-separated element of the last `client_header` field (a field name; empty: none),
    /// untrimmed. Limits the head to max_header_bytes.
    request_parser(std::string& method, std::string& target, std::string& if_none_match, std::string& request_id,
                   std::string_view client_header, std::string& client_address);

    bool got_request_line = false;
    bool target_too_long = false;
    int version = 11;

private:
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

    void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                         error_code& ec) override;
    void on_response_impl(int, string_view, int, error_code&) override {}
    void on_field_impl(boost::beast::http::field name, string_view name_text, string_view value, error_code&) override;
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(string_view body, error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override { return body.size(); }
    void on_finish_impl(error_code&) override {}

    std::string& method_;
    std::string& target_;
    std::string& if_none_match_;
    std::string& request_id_;
    std::string_view client_header_;
    std::string& client_address_;
};

/// The error to answer a head that failed with `ec` with (414, 431, 400), or nothing when there is
/// nobody to answer: a timeout, a reset, end of stream or a stop.
std::optional<error_kind> answerable_failure(const request_parser& parser, const boost::beast::error_code& ec) noexcept;

}  // namespace marquee::api::detail
