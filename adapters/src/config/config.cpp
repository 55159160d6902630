#include "marquee/config/config.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"

#include <date/tz.h>
#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace marquee::config {
namespace {

std::uint16_t parse_port(std::string_view text, std::string_view setting) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
        throw config_error(std::string(setting), fmt::format("'{}' is not a port number (1-65535)", text));
    return static_cast<std::uint16_t>(value);
}

}  // namespace

amqp_settings parse_amqp_url(std::string_view url, std::string_view setting) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) throw config_error(std::string(setting), "not a URL (expected amqp://user:pass@host:port/vhost)");
    const auto& u = *parsed;
    if (u.scheme() != "amqp")
        throw config_error(std::string(setting), "scheme must be amqp:// (TLS is not configured)");
    amqp_settings s;
    s.host = u.host_address();
    if (s.host.empty()) throw config_error(std::string(setting), "has no host");
    if (u.has_port()) s.port = parse_port(u.port(), setting);
    if (u.has_userinfo()) {
        s.user = u.user();
        s.password = u.password();
    }
    std::string path = u.path();
    if (path.size() > 1) s.vhost = path.substr(1);
    return s;
}

listen_address parse_listen_address(std::string_view text, std::string_view setting) {
    listen_address a;
    std::string_view host_part;
    std::string_view port_part;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw config_error(std::string(setting), fmt::format("'{}' is not host:port", text));
        host_part = text.substr(1, close - 1);
        port_part = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0)
            throw config_error(std::string(setting), fmt::format("'{}' is not host:port", text));
        host_part = text.substr(0, colon);
        port_part = text.substr(colon + 1);
    }
    a.host = std::string(host_part);
    a.port = parse_port(port_part, setting);
    return a;
}

void check_database_url(std::string_view url, std::string_view setting) {
    if (url.empty()) throw config_error(std::string(setting), "is required (postgresql://user:pass@host:port/db)");
    if (!url.starts_with("postgresql://") && !url.starts_with("postgres://"))
        throw config_error(std::string(setting), "must be a libpq URI starting with postgresql://");
    if (!boost::urls::parse_uri(url)) throw config_error(std::string(setting), "is not a valid URI");
}

void check_http_url(std::string_view url, std::string_view setting) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) throw config_error(std::string(setting), "is not a valid URL");
    if (parsed->scheme() != "http" && parsed->scheme() != "https")
        throw config_error(std::string(setting), "must be an http:// or https:// URL");
    if (parsed->host().empty()) throw config_error(std::string(setting), "has no host");
}

CLI::Validator seconds_up_to(double max) {
    return CLI::Validator(
        [max](std::string& text) -> std::string {
            double value = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0) || value > max)
                return fmt::format("must be a number of seconds above 0 and at most {}", max);
            return {};
        },
        fmt::format("SECONDS in (0, {}]", max));
}

std::chrono::milliseconds milliseconds_of_seconds(double seconds) {
    return std::chrono::milliseconds{std::llround(seconds * 1000)};
}

void check_time_zone(std::string_view name, std::string_view setting) {
    try {
        (void)date::locate_zone(name);
    } catch (const std::exception&) {
        throw config_error(std::string(setting), fmt::format("'{}' is not a known IANA time zone", name));
    }
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
        return exit_bad_config;
    }
    try {
        return body();
    } catch (const config_error& e) {
        std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
        return exit_bad_config;
    } catch (const std::exception& e) {
        log::error("fatal: {}", e.what());
        return 1;
    }
}

}  // namespace marquee::config
