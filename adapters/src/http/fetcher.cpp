#include "marquee/http/fetcher.hpp"

#include "marquee/error.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>

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
    std::string body;
    bool too_large = false;
    bool no_first_byte = false;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<transfer*>(user);
    std::size_t bytes = size * count;
    if (t.body.empty() && t.handle) {
        // Size the body once from Content-Length (when sent and within the cap) instead of growing
        // a feed of hundreds of megabytes by doubling.
        curl_off_t length = -1;
        if (curl_easy_getinfo(t.handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length > 0 &&
            static_cast<std::size_t>(length) <= t.limits.max_bytes)
            t.body.reserve(static_cast<std::size_t>(length));
    }
    if (t.body.size() + bytes > t.limits.max_bytes) {
        t.too_large = true;
        return 0;  // makes curl abort with CURLE_WRITE_ERROR
    }
    t.body.append(data, bytes);
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

template <typename T>
void set(CURL* h, CURLoption option, T value) {
    if (auto rc = curl_easy_setopt(h, option, value); rc != CURLE_OK)
        throw fetch_error(fmt::format("cannot configure the HTTP client: {}", curl_easy_strerror(rc)), false);
}

bool transient_status(long status) {
    return status == 408 || status == 429 || status >= 500;
}

}  // namespace

fetch_result fetch(const std::string& url, const fetch_limits& limits) {
    init_curl_once();
    curl_handle handle(curl_easy_init());
    if (!handle) throw fetch_error("cannot create an HTTP client handle", true);
    CURL* h = handle.get();
    transfer t{limits, h, {}, false, false};
    char error_text[CURL_ERROR_SIZE] = {0};

    set(h, CURLOPT_URL, url.c_str());
    set(h, CURLOPT_PROTOCOLS_STR, "http,https");
    set(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(h, CURLOPT_FOLLOWLOCATION, 1L);
    set(h, CURLOPT_MAXREDIRS, limits.max_redirects);
    set(h, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes (gzip, deflate, …)
    set(h, CURLOPT_USERAGENT, user_agent);
    set(h, CURLOPT_NOSIGNAL, 1L);
    set(h, CURLOPT_SSL_VERIFYPEER, 1L);
    set(h, CURLOPT_SSL_VERIFYHOST, 2L);
    set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
    set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout.count()));
    set(h, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(limits.low_speed_bytes));
    set(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.low_speed_time.count()));
    set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
    set(h, CURLOPT_WRITEFUNCTION, on_data);
    set(h, CURLOPT_WRITEDATA, &t);
    set(h, CURLOPT_NOPROGRESS, 0L);
    set(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    set(h, CURLOPT_XFERINFODATA, &t);
    set(h, CURLOPT_ERRORBUFFER, error_text);

    CURLcode rc = curl_easy_perform(h);
    fetch_result result;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
    if (rc != CURLE_OK) {
        if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
            throw fetch_error(fmt::format("feed is larger than the {} byte limit", limits.max_bytes), false);
        if (t.no_first_byte)
            throw fetch_error(fmt::format("no response within {} ms", limits.first_byte_timeout.count()), true);
        bool transient =
            rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_TOO_MANY_REDIRECTS;
        auto detail = error_text[0] != '\0' ? std::string(error_text) : std::string(curl_easy_strerror(rc));
        throw fetch_error(fmt::format("fetch failed: {}", detail), transient, static_cast<int>(result.status));
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

}  // namespace marquee::http
