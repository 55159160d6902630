#include "access_log.hpp"

#include "marquee/error.hpp"
#include "marquee/json/escape.hpp"
#include "marquee/log/fields.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cmath>

namespace marquee::api {

access_log_mode parse_access_log_mode(std::string_view text) {
    if (text == "off") return access_log_mode::off;
    if (text == "errors") return access_log_mode::errors;
    if (text == "all") return access_log_mode::all;
    throw config_error("API_ACCESS_LOG", "expected off, errors or all");
}

}  // namespace marquee::api

namespace marquee::api::detail {
namespace {

constexpr std::size_t flush_at = std::size_t{32} * 1024;
// A target is at most 8 KiB (max_target_bytes); a log line shows its beginning.
constexpr std::size_t target_shown = 512;

void append_number(std::string& out, std::size_t value) {
    char digits[24];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

// Milliseconds with three decimals, from whole microseconds (integer formatting only).
void append_milliseconds(std::string& out, std::chrono::duration<double> took) {
    auto us = static_cast<std::size_t>(std::llround(std::chrono::duration<double, std::micro>(took).count()));
    append_number(out, us / 1000);
    auto fraction = us % 1000;
    out += '.';
    out += static_cast<char>('0' + fraction / 100);
    out += static_cast<char>('0' + fraction / 10 % 10);
    out += static_cast<char>('0' + fraction % 10);
}

std::string_view shown(std::string_view target) {
    return target.substr(0, target_shown);
}

void append_text(std::string& out, std::string& request, const access_entry& e) {
    log::append_time(out);
    out += " INFO ";
    out += log::component();
    out += ": ";
    out += e.client;
    out += ' ';
    // Quoted and escaped: a target may hold any byte a client sent (no line breaks reach the log).
    request.assign(e.method);
    request += ' ';
    request += shown(e.target);
    json::append_string(out, request);
    out += ' ';
    append_number(out, e.status);
    out += ' ';
    append_number(out, e.bytes);
    out += ' ';
    append_milliseconds(out, e.took);
    out += "ms id=";
    out += e.request_id;
    out += '\n';
}

void append_json(std::string& out, const access_entry& e) {
    out += R"({"time":")";
    log::append_time(out);
    out += R"(","level":"info","component":)";
    json::append_string(out, log::component());
    out += R"(,"message":"access","client":)";
    json::append_string(out, e.client);
    out += R"(,"method":)";
    json::append_string(out, e.method);
    out += R"(,"target":)";
    json::append_string(out, shown(e.target));
    out += R"(,"status":)";
    append_number(out, e.status);
    out += R"(,"bytes":)";
    append_number(out, e.bytes);
    out += R"(,"duration_ms":)";
    append_milliseconds(out, e.took);
    out += R"(,"request_id":)";
    json::append_string(out, e.request_id);
    out += "}\n";
}

}  // namespace

void access_log::record(const access_entry& entry) noexcept {
    try {
        if (log::current_format() == log::format::json)
            append_json(buffer_, entry);
        else
            append_text(buffer_, scratch_, entry);
    } catch (...) {
        // Out of memory: the line is lost, the request is not.
        buffer_.clear();
        return;
    }
    if (buffer_.size() >= flush_at) flush();
}

void access_log::flush() noexcept {
    if (buffer_.empty()) return;
    log::write_lines(buffer_);
    buffer_.clear();
}

boost::asio::awaitable<void> flush_every(access_log& log, boost::asio::io_context& context,
                                         std::chrono::milliseconds interval) {
    boost::asio::steady_timer tick(context);
    for (;;) {
        tick.expires_after(interval);
        auto [ec] = co_await tick.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec) co_return;
        log.flush();
    }
}

}  // namespace marquee::api::detail
