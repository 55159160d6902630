#pragma once
// X-Request-Id: every response carries one, the client's when it sent a usable one (so a request
// can be followed from the load balancer or the front-end into our logs), else one made here.
#include <cstdint>
#include <string_view>

namespace marquee::api::detail {

/// 1 to 128 visible ASCII characters (no space or control character): safe to echo in a header
/// and a log line.
bool usable_request_id(std::string_view value) noexcept;

/// Makes request ids on one I/O thread: a random 64-bit prefix drawn once, then a counter, e.g.
/// "5c1f0e9a3b7d2c41-1f". Unique across threads and replicas with overwhelming probability.
class request_ids {
public:
    request_ids();
    /// `client_value` when usable, else a new id valid until the next call.
    std::string_view id_for(std::string_view client_value) noexcept;

private:
    std::uint64_t prefix_;
    std::uint64_t next_ = 0;
    char text_[40] = {};
};

}  // namespace marquee::api::detail
