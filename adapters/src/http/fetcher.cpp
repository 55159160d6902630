#include "marquee/http/fetcher.hpp"

#include "marquee/error.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>

namespace marquee::http {
namespace {

struct curl_deleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using curl_handle = std::unique_ptr<CURL, curl_deleter>;

constexpr const char* user_agent = "marquee-feed-fetcher/0.1";

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct transfer {
    const fetch_limits& limits;
    CURL* handle = nullptr;
    std::string body{};
    bool too_large = false;
    bool no_first_byte = false;
    std::size_t out_of_memory = 0;  // the bytes that could not be held, when memory ran out
    std::string refusal{};          // why a destination address was refused, when one was
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    // Each request of a redirect chain starts afresh; only the refusal of an earlier hop cannot
    // exist (it would have ended the fetch).
    void restart() {
        body.clear();
        too_large = false;
        no_first_byte = false;
        out_of_memory = 0;
        started = std::chrono::steady_clock::now();
    }
};

// No exception may cross libcurl's C frames: running out of memory aborts the transfer instead.
std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) noexcept {
    auto& t = *static_cast<transfer*>(user);
    std::size_t bytes = size * count;
    std::size_t wanted = t.body.size() + bytes;
    try {
        if (t.body.empty() && t.handle) {
            // Size the body once from Content-Length (when sent and within the cap) instead of
            // growing a feed of hundreds of megabytes by doubling.
            curl_off_t length = -1;
            if (curl_easy_getinfo(t.handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length > 0 &&
                static_cast<std::size_t>(length) <= t.limits.max_bytes) {
                wanted = static_cast<std::size_t>(length);
                t.body.reserve(wanted);
            }
        }
        if (t.body.size() + bytes > t.limits.max_bytes) {
            t.too_large = true;
            return 0;  // makes curl abort with CURLE_WRITE_ERROR
        }
        t.body.append(data, bytes);
    } catch (const std::bad_alloc&) {
        t.out_of_memory = wanted;
        return 0;
    } catch (const std::length_error&) {
        t.out_of_memory = wanted;
        return 0;
    }
    return bytes;
}

// curl has no first-byte timeout of its own: abort from the progress callback instead.
int on_progress(void* user, curl_off_t, curl_off_t received, curl_off_t, curl_off_t) {
    auto& t = *static_cast<transfer*>(user);
    if (received == 0 && std::chrono::steady_clock::now() - t.started > t.limits.first_byte_timeout) {
        t.no_first_byte = true;
        return 1;
    }
    return 0;
}

// curl calls this instead of socket(2) for every address it is about to connect to, after DNS
// resolution and for every hop of a redirect chain, so the check sees the address actually used
// (a DNS answer or a redirect cannot slip past it). Returning CURL_SOCKET_BAD means no socket is
// ever created for the address: nothing is sent to it. curl then tries the host's next address, if
// any, and fails with CURLE_COULDNT_CONNECT when none is left.
curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* address) {
    auto& t = *static_cast<transfer*>(user);
    try {
        if (auto refusal = destination_refusal(address->addr, t.limits.deny_private_networks)) {
            if (t.refusal.empty()) t.refusal = std::move(*refusal);
            return CURL_SOCKET_BAD;
        }
    } catch (...) {  // out of memory while formatting: refusing is the safe answer
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

template <typename T>
void set(CURL* h, CURLoption option, T value) {
    if (auto rc = curl_easy_setopt(h, option, value); rc != CURLE_OK)
        throw fetch_error(fmt::format("cannot configure the HTTP client: {}", curl_easy_strerror(rc)), false);
}

bool transient_status(long status) {
    return status == 408 || status == 429 || status >= 500;
}

bool redirect_status(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool in_v4(std::span<const std::uint8_t> a, std::uint8_t b0, std::uint8_t b1, int prefix) noexcept {
    const std::uint32_t value =
        (std::uint32_t{a[0]} << 24) | (std::uint32_t{a[1]} << 16) | (std::uint32_t{a[2]} << 8) | std::uint32_t{a[3]};
    const std::uint32_t network = (std::uint32_t{b0} << 24) | (std::uint32_t{b1} << 16);
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return (value & mask) == network;
}

address_class classify_v4(std::span<const std::uint8_t> a) noexcept {
    if (in_v4(a, 169, 254, 16)) return address_class::link_local;
    if (in_v4(a, 127, 0, 8)) return address_class::loopback;
    if (in_v4(a, 10, 0, 8) || in_v4(a, 172, 16, 12) || in_v4(a, 192, 168, 16)) return address_class::private_use;
    if (in_v4(a, 100, 64, 10)) return address_class::shared;
    if (in_v4(a, 0, 0, 8)) return address_class::unspecified;
    return address_class::global;
}

address_class classify_v6(std::span<const std::uint8_t> a) noexcept {
    constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), a.begin())) return classify_v4(a.subspan(12));
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return address_class::link_local;
    if ((a[0] & 0xfe) == 0xfc) return address_class::private_use;
    const bool zero_but_last = std::all_of(a.begin(), a.begin() + 15, [](std::uint8_t b) { return b == 0; });
    if (zero_but_last && a[15] == 1) return address_class::loopback;
    if (zero_but_last && a[15] == 0) return address_class::unspecified;
    return address_class::global;
}

std::string_view scheme_of(std::string_view url) noexcept {
    const auto colon = url.find("://");
    if (colon == std::string_view::npos) return {};
    return url.substr(0, colon);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        return lower(x) == lower(y);
    });
}

}  // namespace

address_class classify_address(std::span<const std::uint8_t> address) noexcept {
    if (address.size() == 4) return classify_v4(address);
    if (address.size() == 16) return classify_v6(address);
    return address_class::global;
}

std::string_view to_string(address_class kind) noexcept {
    switch (kind) {
        case address_class::global:
            return "global";
        case address_class::link_local:
            return "link-local";
        case address_class::loopback:
            return "loopback";
        case address_class::private_use:
            return "private";
        case address_class::shared:
            return "shared (CGNAT)";
        case address_class::unspecified:
            return "unspecified";
    }
    return "?";
}

bool refused(address_class kind, bool deny_private_networks) noexcept {
    if (kind == address_class::global) return false;
    if (kind == address_class::link_local) return true;
    return deny_private_networks;
}

std::optional<std::string> destination_refusal(const sockaddr& address, bool deny_private_networks) {
    std::array<std::uint8_t, 16> bytes{};
    std::span<const std::uint8_t> view;
    // Copies rather than casts: curl's sockaddr is the head of a larger storage, but copying the
    // bytes keeps this free of aliasing questions.
    if (address.sa_family == AF_INET) {
        sockaddr_in v4{};
        std::memcpy(&v4, &address, sizeof v4);
        std::memcpy(bytes.data(), &v4.sin_addr, 4);
        view = std::span<const std::uint8_t>(bytes.data(), 4);
    } else if (address.sa_family == AF_INET6) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, &address, sizeof v6);
        std::memcpy(bytes.data(), &v6.sin6_addr, 16);
        view = std::span<const std::uint8_t>(bytes.data(), 16);
    } else {
        return fmt::format("destination of address family {} is not an IP address: refused", address.sa_family);
    }
    const auto kind = classify_address(view);
    if (!refused(kind, deny_private_networks)) return std::nullopt;
    char text[INET6_ADDRSTRLEN] = {0};
    inet_ntop(address.sa_family, bytes.data(), text, sizeof text);
    return fmt::format("destination {} is {}: refused", text, to_string(kind));
}

bool redirect_allowed(std::string_view from_url, std::string_view to_url) noexcept {
    const auto to = scheme_of(to_url);
    if (iequals(scheme_of(from_url), "https")) return iequals(to, "https");
    return iequals(to, "http") || iequals(to, "https");
}

fetch_result fetch(const std::string& url, const fetch_limits& limits) {
    init_curl_once();
    curl_handle handle(curl_easy_init());
    if (!handle) throw fetch_error("cannot create an HTTP client handle", true);
    CURL* h = handle.get();
    transfer t{.limits = limits, .handle = h};
    char error_text[CURL_ERROR_SIZE] = {0};

    set(h, CURLOPT_PROTOCOLS_STR, "http,https");
    // Redirects are followed here rather than by curl, so that each hop is checked against the one
    // before it: curl's CURLOPT_REDIR_PROTOCOLS applies to a whole chain and would let
    // http → https → http through.
    set(h, CURLOPT_FOLLOWLOCATION, 0L);
    set(h, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes (gzip, deflate, …)
    set(h, CURLOPT_USERAGENT, user_agent);
    set(h, CURLOPT_NOSIGNAL, 1L);
    set(h, CURLOPT_SSL_VERIFYPEER, 1L);
    set(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!limits.ca_file.empty()) set(h, CURLOPT_CAINFO, limits.ca_file.c_str());
    set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
    set(h, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(limits.low_speed_bytes));
    set(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.low_speed_time.count()));
    set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
    set(h, CURLOPT_WRITEFUNCTION, on_data);
    set(h, CURLOPT_WRITEDATA, &t);
    set(h, CURLOPT_NOPROGRESS, 0L);
    set(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    set(h, CURLOPT_XFERINFODATA, &t);
    set(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    set(h, CURLOPT_OPENSOCKETDATA, &t);
    set(h, CURLOPT_ERRORBUFFER, error_text);

    // total_timeout bounds the whole chain, not each hop.
    const auto deadline = std::chrono::steady_clock::now() + limits.total_timeout;
    std::string current = url;
    for (long redirects = 0;; ++redirects) {
        const auto remaining =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (remaining <= std::chrono::milliseconds::zero())
            throw fetch_error(
                fmt::format("fetch failed: timed out after {} ms, redirects included", limits.total_timeout.count()),
                true);
        t.restart();
        error_text[0] = '\0';
        set(h, CURLOPT_URL, current.c_str());
        set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));

        CURLcode rc = curl_easy_perform(h);
        fetch_result result;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
        if (rc != CURLE_OK) {
            if (!t.refusal.empty()) throw fetch_error(t.refusal, false);
            if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
                throw fetch_error(fmt::format("feed is larger than the {} byte limit", limits.max_bytes), false);
            if (t.no_first_byte)
                throw fetch_error(fmt::format("no response within {} ms", limits.first_byte_timeout.count()), true);
            // Memory may be free again later: worth a retry, bounded by the attempt limit.
            if (t.out_of_memory != 0)
                throw fetch_error(fmt::format("out of memory holding a feed of {} bytes", t.out_of_memory), true);
            bool transient = rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL;
            auto detail = error_text[0] != '\0' ? std::string(error_text) : std::string(curl_easy_strerror(rc));
            throw fetch_error(fmt::format("fetch failed: {}", detail), transient, static_cast<int>(result.status));
        }
        char* location = nullptr;
        if (redirect_status(result.status) && curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
            location) {
            if (redirects >= limits.max_redirects)
                throw fetch_error(fmt::format("fetch failed: more than {} redirects", limits.max_redirects), false,
                                  static_cast<int>(result.status));
            if (!redirect_allowed(current, location))
                // The configured URL may carry credentials: name only its scheme.
                throw fetch_error(fmt::format("redirect from {} to {} refused: an https feed may only redirect to "
                                              "https, any feed only to http or https",
                                              scheme_of(current), location),
                                  false, static_cast<int>(result.status));
            current = location;
            continue;
        }
        if (result.status < 200 || result.status > 299)
            throw fetch_error(fmt::format("provider answered HTTP {}", result.status), transient_status(result.status),
                              static_cast<int>(result.status));
        char* content_type = nullptr;
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type)
            result.content_type = content_type;
        result.body = std::move(t.body);
        return result;
    }
}

}  // namespace marquee::http
