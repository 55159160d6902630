#pragma once
// Zone prices: non-negative decimals as providers write them ("20.00"), held exactly as integer
// millionths so min/max never suffer binary floating point.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace marquee::money {

struct price {
    std::int64_t micros = 0;
    friend auto operator<=>(const price&, const price&) = default;
};

/// Accepts digits with an optional '.' and 1-6 fraction digits ("20", "20.00", "0.125"), up to
/// 10^12, surrounding ASCII blanks ignored. Anything else (sign, exponent, "", "1.", ".5") → nullopt.
std::optional<price> parse_price(std::string_view text) noexcept;

/// Decimal text with at least two fraction digits and no trailing zeros beyond them: "20.00",
/// "0.125". Valid as a JSON number and as PostgreSQL numeric input.
void append_price(std::string& out, price p);
std::string to_string(price p);

}  // namespace marquee::money
