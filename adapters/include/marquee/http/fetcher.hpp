#pragma once
// Fetching provider feeds over HTTP(S) with libcurl (docs/adr/0004): certificate verification,
// redirects, gzip, proxies from the environment, and a deadline on every phase.
#include <chrono>
#include <cstddef>
#include <string>

namespace marquee::http {

struct fetch_limits {
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds first_byte_timeout{10'000};
    std::chrono::milliseconds total_timeout{120'000};
    std::size_t max_bytes = std::size_t{512} << 20;
    /// Abort when fewer than low_speed_bytes arrive per second for low_speed_time.
    std::size_t low_speed_bytes = 1024;
    std::chrono::seconds low_speed_time{30};
    long max_redirects = 5;
};

struct fetch_result {
    long status = 0;
    std::string content_type;
    std::string body;  // mutable: the parser works in place
};

/// GETs `url`. Throws fetch_error: transient for timeouts, connection failures, truncated bodies,
/// 408, 429 and 5xx; permanent for other 4xx, other non-2xx, an over-size body and bad URLs.
fetch_result fetch(const std::string& url, const fetch_limits& limits);

}  // namespace marquee::http
