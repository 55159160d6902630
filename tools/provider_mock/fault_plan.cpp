#include "fault_plan.hpp"

#include <array>
#include <utility>

namespace marquee::provider_mock {
namespace {

constexpr std::array<std::pair<std::string_view, fault_kind>, 7> kind_names{{
    {"delay", fault_kind::delay},
    {"status", fault_kind::status},
    {"truncate", fault_kind::truncate},
    {"html", fault_kind::html},
    {"empty", fault_kind::empty},
    {"oversize", fault_kind::oversize},
    {"garbage", fault_kind::garbage},
}};

}  // namespace

std::optional<fault_kind> parse_fault_kind(std::string_view text) noexcept {
    for (const auto& [name, kind] : kind_names)
        if (name == text) return kind;
    return std::nullopt;
}

std::string_view to_string(fault_kind kind) noexcept {
    for (const auto& [name, k] : kind_names)
        if (k == kind) return name;
    return "?";
}

std::uint64_t default_value(fault_kind kind) noexcept {
    switch (kind) {
        case fault_kind::delay:
            return 1000;
        case fault_kind::status:
            return 503;
        case fault_kind::oversize:
            return 512ULL * 1024 * 1024 + 1;
        default:
            return 0;
    }
}

void fault_plan::arm(fault f, std::uint64_t count) noexcept {
    armed_ = f;
    remaining_ = count;
}

std::optional<fault> fault_plan::take() noexcept {
    if (!armed_) return std::nullopt;
    auto current = *armed_;
    if (remaining_ > 0 && --remaining_ == 0) armed_.reset();
    return current;
}

}  // namespace marquee::provider_mock
