#pragma once
// Per-client request rate limits (API_RATE_LIMIT, API_RATE_BURST): a token bucket for each client
// address, in shards with a mutex each so the I/O threads seldom meet. No sockets and no clock of
// its own: the session passes the client and the time, so tests drive it without sleeping.
#include "marquee/api/handler.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace marquee::api {

/// A client as the limiter tells them apart: 16 address bytes. An IPv4 address (also written as
/// IPv4-mapped IPv6) is its IPv4-mapped form; an IPv6 address is cut to its /64 prefix, since one
/// subscriber's network is at least a /64 and its owner can use every address in it.
using client_key = std::array<unsigned char, 16>;

/// The key of an IPv4 address, in network byte order.
client_key client_key_of(const std::array<unsigned char, 4>& ipv4) noexcept;
/// The key of an IPv6 address, in network byte order.
client_key client_key_of(const std::array<unsigned char, 16>& ipv6) noexcept;

/// The key of an address written as a load balancer writes it: IPv4 or IPv6, also "[v6]",
/// "[v6]:port" and "v4:port"; nullopt for anything else (no trimming, no names).
std::optional<client_key> parse_client_address(std::string_view text) noexcept;

/// The client named by a header such as X-Forwarded-For: its rightmost comma-separated element
/// (the one the trusted load balancer appended; a client can forge those to its left), trimmed of
/// spaces and tabs, parsed by parse_client_address. nullopt when that element is empty or no
/// address: the caller then limits the TCP peer.
std::optional<client_key> forwarded_client(std::string_view header_value) noexcept;

/// Whether requests to `which` spend their client's tokens: all but /healthz, /readyz and /metrics.
/// Orchestrators and Prometheus call those on their own schedule, often from the address of a
/// node that also proxies clients, and a probe refused for someone else's traffic would take a
/// healthy instance out of service.
constexpr bool rate_limited(route which) noexcept {
    // No default: -Wswitch (an error in CI) names a route missing here.
    switch (which) {
        case route::healthz:
        case route::readyz:
        case route::metrics:
            return false;
        case route::search:
        case route::openapi:
        case route::docs:
        case route::event:
        case route::event_history:
        case route::other:
            return true;
    }
    return true;
}

struct rate_limit {
    double per_second = 1;  ///< tokens added to a bucket per second, from 0.001 to 1,000,000
    /// Bucket size: requests a client that was quiet may make at once, at most 1,000,000; 0 for
    /// one second's worth, ceil(per_second) and at least 1.
    unsigned burst = 0;
    /// Buckets kept at most: each of the limiter's shards keeps its share, at least 1. See acquire.
    std::size_t max_clients = 65'536;
};

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;
    /// Buckets are kept in this many shards, each with its own mutex and its share of max_clients.
    static constexpr std::size_t shard_count = 32;

    struct verdict {
        bool allowed = true;
        /// When refused: the whole seconds, rounded up and at least 1, until the bucket has a token.
        std::chrono::seconds retry_after{0};
        /// The client had no bucket of its own (see acquire) and spent from its shard's shared one.
        bool shared = false;
    };

    /// Throws std::invalid_argument when a value of `limit` is out of range.
    explicit rate_limiter(rate_limit limit);
    ~rate_limiter();
    rate_limiter(const rate_limiter&) = delete;
    rate_limiter& operator=(const rate_limiter&) = delete;

    /// Spends one of `client`'s tokens at `now`, or says how long until there is one. A new client
    /// starts with a full bucket. A shard at its share of max_clients first drops the buckets that
    /// are full again (forgetting them changes no answer), at most once a second; when every
    /// bucket is still in use, the new client shares one bucket with the other clients the shard
    /// has no room for: memory stays bounded, and so does the rate all clients together get, at
    /// the price of new clients limiting each other while max_clients clients are busy.
    /// Thread-safe; a `now` before the client's last one counts as that one. Never throws.
    verdict acquire(const client_key& client, clock::time_point now) noexcept;

    /// Buckets held now.
    std::size_t clients() const noexcept;
    /// The bucket size in use (burst 0 resolved).
    unsigned burst() const noexcept { return burst_; }

private:
    struct shard;

    std::int64_t interval_ns_;   // between two tokens
    std::int64_t tolerance_ns_;  // how far ahead of now a bucket's full time may be for a request to pass
    unsigned burst_;
    std::size_t per_shard_;
    std::uint64_t seed_;
    std::unique_ptr<shard[]> shards_;
};

}  // namespace marquee::api
