#include "marquee/api/rate_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <unordered_map>

namespace marquee::api {
namespace {

constexpr std::int64_t ns_per_second = 1'000'000'000;
constexpr unsigned shard_bits = 5;
static_assert(rate_limiter::shard_count == std::size_t{1} << shard_bits);
// A full shard looks for buckets to drop at most this often: a sweep walks the whole shard, and
// under a flood of new clients it would otherwise run for each of them.
constexpr std::int64_t sweep_pause_ns = ns_per_second;
constexpr std::size_t longest_address = 63;  // an IPv6 address is at most 45 characters

// murmur3's 64-bit finaliser.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

// Seeded per process, so that nobody can pick addresses that pile into one shard or hash chain.
struct key_hash {
    std::uint64_t seed = 0;
    std::size_t operator()(const client_key& key) const noexcept {
        std::uint64_t high = 0;
        std::uint64_t low = 0;
        std::memcpy(&high, key.data(), 8);
        std::memcpy(&low, key.data() + 8, 8);
        return static_cast<std::size_t>(mix(mix(high ^ seed) ^ low));
    }
};

bool all_digits(std::string_view text) noexcept {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_port(std::string_view text) noexcept {
    return text.size() <= 5 && all_digits(text);
}

// inet_pton wants a terminated string.
template <int family, std::size_t size>
std::optional<std::array<unsigned char, size>> parse_as(std::string_view text) noexcept {
    // inet_pton would stop at a NUL and take what comes before it for the whole.
    if (text.empty() || text.size() > longest_address || text.find('\0') != std::string_view::npos) return std::nullopt;
    char terminated[longest_address + 1];
    std::memcpy(terminated, text.data(), text.size());
    terminated[text.size()] = '\0';
    std::array<unsigned char, size> bytes{};
    if (::inet_pton(family, terminated, bytes.data()) != 1) return std::nullopt;
    return bytes;
}

std::optional<client_key> parse_ipv4(std::string_view text) noexcept {
    auto bytes = parse_as<AF_INET, 4>(text);
    return bytes ? std::optional(client_key_of(*bytes)) : std::nullopt;
}

std::optional<client_key> parse_ipv6(std::string_view text) noexcept {
    auto bytes = parse_as<AF_INET6, 16>(text);
    return bytes ? std::optional(client_key_of(*bytes)) : std::nullopt;
}

// A bucket is stored as the instant it will be full again (the generic cell rate algorithm: the
// same answers as counting tokens refilled continuously, in one integer and without a division).
// A request at `now` passes when that instant is at most `tolerance` (burst - 1 intervals) ahead,
// and moves it one interval further; a bucket whose instant has passed is full.
rate_limiter::verdict spend(std::int64_t& full_at, std::int64_t now, std::int64_t interval,
                            std::int64_t tolerance) noexcept {
    auto from = std::max(full_at, now);
    auto early = from - now - tolerance;
    if (early > 0) return {false, std::chrono::seconds{(early + ns_per_second - 1) / ns_per_second}, false};
    full_at = from + interval;
    return {};
}

}  // namespace

client_key client_key_of(const std::array<unsigned char, 4>& ipv4) noexcept {
    client_key key{};
    key[10] = 0xff;
    key[11] = 0xff;
    std::copy(ipv4.begin(), ipv4.end(), key.begin() + 12);
    return key;
}

client_key client_key_of(const std::array<unsigned char, 16>& ipv6) noexcept {
    client_key key = ipv6;
    constexpr std::array<unsigned char, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!std::equal(mapped_prefix.begin(), mapped_prefix.end(), key.begin()))
        std::fill(key.begin() + 8, key.end(), static_cast<unsigned char>(0));
    return key;
}

std::optional<client_key> parse_client_address(std::string_view text) noexcept {
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        auto rest = text.substr(close + 1);
        if (!rest.empty() && !(rest.starts_with(':') && is_port(rest.substr(1)))) return std::nullopt;
        return parse_ipv6(text.substr(1, close - 1));
    }
    if (auto v4 = parse_ipv4(text)) return v4;
    if (auto v6 = parse_ipv6(text)) return v6;
    auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos &&
        is_port(text.substr(colon + 1)))
        return parse_ipv4(text.substr(0, colon));
    return std::nullopt;
}

std::optional<client_key> forwarded_client(std::string_view header_value) noexcept {
    auto comma = header_value.rfind(',');
    auto element = comma == std::string_view::npos ? header_value : header_value.substr(comma + 1);
    while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
    return parse_client_address(element);
}

struct alignas(64) rate_limiter::shard {
    std::mutex mutex;
    // Each client's bucket: the instant, in nanoseconds of the steady clock, it is full again.
    std::unordered_map<client_key, std::int64_t, key_hash> full_at;
    // The bucket of the clients the shard has no room for.
    std::int64_t shared_full_at = std::numeric_limits<std::int64_t>::min();
    std::int64_t next_sweep = std::numeric_limits<std::int64_t>::min();
};

rate_limiter::rate_limiter(rate_limit limit) {
    if (!(limit.per_second >= 0.001 && limit.per_second <= 1e6))
        throw std::invalid_argument("the rate limit must be from 0.001 to 1000000 requests per second");
    if (limit.burst > 1'000'000) throw std::invalid_argument("the rate burst must be at most 1000000");
    burst_ = limit.burst != 0 ? limit.burst : std::max(1U, static_cast<unsigned>(std::ceil(limit.per_second)));
    interval_ns_ = std::llround(static_cast<double>(ns_per_second) / limit.per_second);
    tolerance_ns_ = static_cast<std::int64_t>(burst_ - 1) * interval_ns_;
    per_shard_ = std::max<std::size_t>(1, limit.max_clients / shard_count + (limit.max_clients % shard_count != 0));
    std::random_device random;
    seed_ = (std::uint64_t{random()} << 32) ^ random();
    shards_ = std::make_unique<shard[]>(shard_count);
    for (std::size_t i = 0; i < shard_count; ++i) shards_[i].full_at = decltype(shard::full_at)(16, key_hash{seed_});
}

rate_limiter::~rate_limiter() = default;

rate_limiter::verdict rate_limiter::acquire(const client_key& client, clock::time_point now) noexcept {
    auto t = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    auto& s = shards_[key_hash{seed_}(client) >> (64 - shard_bits)];
    std::lock_guard lock(s.mutex);
    std::int64_t* bucket = nullptr;
    if (auto found = s.full_at.find(client); found != s.full_at.end()) {
        bucket = &found->second;
    } else {
        if (s.full_at.size() >= per_shard_ && t >= s.next_sweep) {
            std::erase_if(s.full_at, [t](const auto& entry) { return entry.second <= t; });
            s.next_sweep = t + sweep_pause_ns;
        }
        if (s.full_at.size() < per_shard_) {
            try {
                bucket = &s.full_at.emplace(client, t).first->second;  // full
            } catch (const std::bad_alloc&) {
                // Shares the bucket, as when the shard is full.
            }
        }
    }
    if (bucket) return spend(*bucket, t, interval_ns_, tolerance_ns_);
    auto v = spend(s.shared_full_at, t, interval_ns_, tolerance_ns_);
    v.shared = true;
    return v;
}

std::size_t rate_limiter::clients() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        n += shards_[i].full_at.size();
    }
    return n;
}

}  // namespace marquee::api
