#pragma once
// The fault the next /api/events requests get, armed by a flag or by /_control/fault. Pure logic.
#include <cstdint>
#include <optional>
#include <string_view>

namespace marquee::provider_mock {

enum class fault_kind {
    delay,     // value ms before the response headers, then the normal file
    status,    // HTTP status `value` with a short text body
    truncate,  // Content-Length of the whole file, half the body, then the connection closes
    html,      // 200 text/html maintenance page
    empty,     // 200 with an empty body
    oversize,  // 200 application/xml, a well-formed-looking body of `value` bytes, streamed
    garbage,   // 200 application/xml whose body is not XML
};

struct fault {
    fault_kind kind;
    std::uint64_t value = 0;
};

std::optional<fault_kind> parse_fault_kind(std::string_view text) noexcept;
std::string_view to_string(fault_kind kind) noexcept;
/// The value a fault gets when none is given: 1000 ms, status 503, one byte over the default
/// providers.max_feed_bytes (512 MiB); 0 for kinds without a value.
std::uint64_t default_value(fault_kind kind) noexcept;

class fault_plan {
public:
    /// Arms `f` for the next `count` requests; count 0 keeps it until reset(). Replaces any armed fault.
    void arm(fault f, std::uint64_t count) noexcept;
    /// The fault for the request being answered now, if any; uses up one of its count.
    std::optional<fault> take() noexcept;
    void reset() noexcept { armed_.reset(); }
    bool armed() const noexcept { return armed_.has_value(); }

private:
    std::optional<fault> armed_;
    std::uint64_t remaining_ = 0;  // 0 with armed_ set: until reset
};

}  // namespace marquee::provider_mock
