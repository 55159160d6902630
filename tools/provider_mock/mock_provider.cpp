#include "mock_provider.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace marquee::provider_mock {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view maintenance_page = "<html><body>Maintenance</body></html>";
// Bytes no XML parser accepts: a NUL, invalid UTF-8, then text outside any element.
constexpr auto garbage_body = "\xff\xfe\x00\x01 this is not XML {\"at\":\"all\"} \x80\x81\n"sv;

text_reply text(unsigned status, std::string body) {
    return text_reply{status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}

std::optional<std::uint64_t> parse_number(std::string_view text) noexcept {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// The <name> of "/providers/<name>/api/events"; nullopt for any other path.
std::optional<std::string_view> provider_path(std::string_view path) noexcept {
    constexpr std::string_view prefix = "/providers/";
    constexpr std::string_view suffix = "/api/events";
    if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix) || !path.ends_with(suffix))
        return std::nullopt;
    return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

}  // namespace

bool is_provider_name(std::string_view name) noexcept {
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    return !name.empty() && name.size() <= 63 && alnum(name.front()) &&
           std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

mock_provider::mock_provider(std::vector<std::string> files, std::map<std::string, std::vector<std::string>> providers)
    : rotation_(std::move(files)) {
    for (const auto& name : rotation_.names()) served_[name] = 0;
    for (auto& provider : providers) {
        if (!is_provider_name(provider.first))
            throw std::invalid_argument(fmt::format("'{}' is not a provider name", provider.first));
        providers_.emplace(provider.first, provider_feeds{feed_rotation(std::move(provider.second))});
    }
}

reply mock_provider::handle(std::string_view method, std::string_view target) {
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return text(400, "bad request target");
    const std::string path = url->path();
    if (auto name = provider_path(path)) {
        auto found = providers_.find(*name);
        if (found == providers_.end()) return text(404, "unknown provider");
        if (method != "GET") return text(405, "only GET is served");
        ++found->second.requests;
        return file_reply{fmt::format("{}/{}", found->first, found->second.rotation.next())};
    }
    if (path != "/api/events" && path != "/redirect" && !path.starts_with("/_control/")) return text(404, "not found");
    if (method != "GET") return text(405, "only GET is served");
    if (path == "/api/events") return events();

    std::map<std::string, std::string, std::less<>> params;
    for (const auto& param : url->params()) params[param.key] = param.value;
    if (path == "/redirect") return redirect(params);
    return control(std::string_view(path).substr(std::string_view("/_control/").size()), params);
}

bool mock_provider::take_hold() noexcept {
    const bool hold = hold_last_;
    hold_last_ = false;
    return hold;
}

void mock_provider::held_reply_sent() noexcept {
    if (held_ > 0) --held_;
}

reply mock_provider::events() {
    ++requests_;
    if (hold_until_release_ || hold_remaining_ > 0) {
        if (hold_remaining_ > 0) --hold_remaining_;
        hold_last_ = true;
        ++held_;
    }
    auto armed = faults_.take();
    if (!armed) {
        const auto& name = rotation_.next();
        ++served_[name];
        return file_reply{name};
    }
    ++faulted_;
    switch (armed->kind) {
        case fault_kind::delay:
        case fault_kind::truncate: {
            const auto& name = rotation_.next();
            ++served_[name];
            if (armed->kind == fault_kind::truncate) return file_reply{name, {}, true};
            return file_reply{name, std::chrono::milliseconds(armed->value)};
        }
        case fault_kind::status:
            return text(static_cast<unsigned>(armed->value), fmt::format("injected fault: status {}", armed->value));
        case fault_kind::html:
            return text_reply{200, "text/html; charset=utf-8", std::string(maintenance_page)};
        case fault_kind::empty:
            return text_reply{200, "application/xml", ""};
        case fault_kind::oversize:
            return oversize_reply{armed->value};
        case fault_kind::garbage:
            return text_reply{200, "application/xml", std::string(garbage_body)};
    }
    return text(500, "unknown fault");
}

reply mock_provider::redirect(const std::map<std::string, std::string, std::less<>>& params) {
    auto to = params.find("to");
    if (to == params.end() || to->second.empty()) return text(400, "redirect needs ?to=URL");
    std::uint64_t status = 302;
    if (auto s = params.find("status"); s != params.end()) {
        auto parsed = parse_number(s->second);
        if (!parsed || (*parsed != 301 && *parsed != 302 && *parsed != 303 && *parsed != 307 && *parsed != 308))
            return text(400, "status must be 301, 302, 303, 307 or 308");
        status = *parsed;
    }
    ++redirects_;
    auto answer = text(static_cast<unsigned>(status), fmt::format("redirecting to {}", to->second));
    answer.location = to->second;
    return answer;
}

reply mock_provider::control(std::string_view action, const std::map<std::string, std::string, std::less<>>& params) {
    auto param = [&](std::string_view key) -> std::optional<std::string_view> {
        auto found = params.find(key);
        if (found == params.end()) return std::nullopt;
        return std::string_view(found->second);
    };

    if (action == "next") {
        auto file = param("file");
        if (!file) return text(400, "next needs ?file=NAME");
        if (!rotation_.serve_next(*file)) return text(404, fmt::format("no sample file named '{}'", *file));
        return text(200, fmt::format("next: {}", *file));
    }
    if (action == "fault") {
        auto kind_text = param("kind");
        auto kind = kind_text ? parse_fault_kind(*kind_text) : std::nullopt;
        if (!kind) return text(400, "fault needs ?kind=delay|status|truncate|html|empty|oversize|garbage");
        auto value = default_value(*kind);
        if (auto v = param("value")) {
            auto parsed = parse_number(*v);
            if (!parsed) return text(400, "value must be a non-negative integer");
            value = *parsed;
        }
        if (*kind == fault_kind::status && (value < 100 || value > 599))
            return text(400, "status value must be an HTTP status code (100-599)");
        std::uint64_t count = 1;
        if (auto c = param("count")) {
            auto parsed = parse_number(*c);
            if (!parsed) return text(400, "count must be a non-negative integer (0 = until reset)");
            count = *parsed;
        }
        faults_.arm(fault{*kind, value}, count);
        return text(200, fmt::format("armed: {} value={} count={}", to_string(*kind), value, count));
    }
    if (action == "hold") {
        std::uint64_t count = 1;
        if (auto c = param("count")) {
            auto parsed = parse_number(*c);
            if (!parsed) return text(400, "count must be a non-negative integer (0 = until release)");
            count = *parsed;
        }
        hold_until_release_ = count == 0;
        hold_remaining_ = count;
        return text(200, fmt::format("holding: count={}", count));
    }
    if (action == "release") {
        const auto held = held_;
        hold_until_release_ = false;
        hold_remaining_ = 0;
        if (release_) release_();
        return text(200, fmt::format("released: {}", held));
    }
    if (action == "reset") {
        hold_until_release_ = false;
        hold_remaining_ = 0;
        if (release_) release_();
        faults_.reset();
        rotation_.rewind();
        requests_ = 0;
        faulted_ = 0;
        redirects_ = 0;
        for (auto& [name, count] : served_) count = 0;
        for (auto& [name, feeds] : providers_) {
            feeds.rotation.rewind();
            feeds.requests = 0;
        }
        return text(200, "reset");
    }
    if (action == "stats") return text_reply{200, "application/json", stats_json()};
    return text(404, "unknown control endpoint (next, fault, hold, release, reset, stats)");
}

std::string mock_provider::stats_json() const {
    boost::json::object served;
    for (const auto& [name, count] : served_) served[name] = count;
    boost::json::object providers;
    for (const auto& [name, feeds] : providers_) providers[name] = feeds.requests;
    boost::json::object stats;
    stats["requests"] = requests_;
    stats["faulted"] = faulted_;
    stats["redirects"] = redirects_;
    stats["held"] = held_;
    stats["served"] = std::move(served);
    stats["providers"] = std::move(providers);  // /providers/<name>/api/events requests, by name
    return boost::json::serialize(stats);
}

}  // namespace marquee::provider_mock
