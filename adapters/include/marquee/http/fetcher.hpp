#pragma once
// Fetching provider feeds over HTTP(S) with libcurl (docs/adr/0004): certificate verification,
// redirects, gzip, proxies from the environment, a deadline on every phase, and a check of every
// address the fetcher connects to (provider URLs are configuration, but redirects and DNS answers
// come from outside: neither may steer a fetch to the cloud metadata service or internal hosts).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct sockaddr;

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
    /// Also refuse loopback, private, unique-local, CGNAT and unspecified destinations (link-local
    /// ones are always refused). Checked on the resolved address of every connection, redirects
    /// included. With a proxy the connection goes to the proxy, so the proxy's address is what is
    /// checked; the feed host is resolved by the proxy, which must do its own filtering.
    bool deny_private_networks = false;
    /// PEM file of the certificate authorities trusted for https; empty: the system's store.
    std::string ca_file;
};

struct fetch_result {
    long status = 0;
    std::string content_type;
    std::string body;  // mutable: the parser works in place
};

/// GETs `url`, following up to max_redirects redirects (never from https to http). Throws
/// fetch_error: transient for timeouts, connection failures, truncated bodies, 408, 429 and 5xx;
/// permanent for other 4xx, other non-2xx, an over-size body, bad URLs, a refused redirect and a
/// refused destination address.
fetch_result fetch(const std::string& url, const fetch_limits& limits);

/// The kind of network an IP address belongs to, as far as the destination rules care.
enum class address_class {
    global,       // anything not below
    link_local,   // 169.254.0.0/16, fe80::/10 (cloud metadata services live here)
    loopback,     // 127.0.0.0/8, ::1
    private_use,  // 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local)
    shared,       // 100.64.0.0/10 (carrier-grade NAT)
    unspecified,  // 0.0.0.0/8 ("this network"; Linux connects 0.0.0.0 to the local host), ::
};

/// Classifies an address given as its 4 (IPv4) or 16 (IPv6) bytes in network order. An IPv4-mapped
/// IPv6 address (::ffff:a.b.c.d) is classified as a.b.c.d, since connecting to it reaches a.b.c.d.
/// Pure. Any other size is classified as global (the caller never passes one).
address_class classify_address(std::span<const std::uint8_t> address) noexcept;

/// "link-local", "loopback", "private", "shared (CGNAT)", "unspecified" or "global".
std::string_view to_string(address_class kind) noexcept;

/// Whether a destination of this class is refused: link-local always, the other non-global classes
/// when `deny_private_networks`.
bool refused(address_class kind, bool deny_private_networks) noexcept;

/// Why connecting to `address` (an AF_INET or AF_INET6 socket address) is refused, e.g.
/// "destination 169.254.169.254 is link-local: refused"; nullopt when it is allowed. Other address
/// families are refused. Pure.
std::optional<std::string> destination_refusal(const sockaddr& address, bool deny_private_networks);

/// Whether a redirect from `from_url` to `to_url` may be followed: never from https to anything
/// but https, and only to http or https. Schemes are compared case-insensitively. Pure.
bool redirect_allowed(std::string_view from_url, std::string_view to_url) noexcept;

}  // namespace marquee::http
