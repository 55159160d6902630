#include "marquee/money/price.hpp"

#include <charconv>

namespace marquee::money {
namespace {

constexpr std::int64_t micros_per_unit = 1'000'000;
constexpr std::int64_t max_units = 1'000'000'000'000;

std::string_view trim_blanks(std::string_view s) noexcept {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<price> parse_price(std::string_view text) noexcept {
    text = trim_blanks(text);
    std::size_t i = 0;
    std::int64_t units = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        units = units * 10 + (text[i] - '0');
        if (units > max_units) return std::nullopt;
        ++i;
    }
    if (i == 0) return std::nullopt;
    std::int64_t fraction = 0;
    if (i < text.size()) {
        if (text[i] != '.') return std::nullopt;
        ++i;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (++digits > 6) return std::nullopt;
            fraction = fraction * 10 + (text[i] - '0');
            ++i;
        }
        if (digits == 0 || i != text.size()) return std::nullopt;
        for (; digits < 6; ++digits) fraction *= 10;
    }
    return price{units * micros_per_unit + fraction};
}

void append_price(std::string& out, price p) {
    std::int64_t units = p.micros / micros_per_unit;
    std::int64_t fraction = p.micros % micros_per_unit;
    // Rendered on the stack and appended once: this runs for every zone of every changed event.
    char text[32];
    char* end = std::to_chars(text, text + 20, units).ptr;
    *end++ = '.';
    for (int d = 5; d >= 0; --d) {
        end[d] = static_cast<char>('0' + fraction % 10);
        fraction /= 10;
    }
    int keep = 6;
    while (keep > 2 && end[keep - 1] == '0') --keep;
    out.append(text, static_cast<std::size_t>(end + keep - text));
}

std::string to_string(price p) {
    std::string out;
    append_price(out, p);
    return out;
}

}  // namespace marquee::money
