#include "feed_rotation.hpp"

#include <algorithm>
#include <stdexcept>

namespace marquee::provider_mock {

feed_rotation::feed_rotation(std::vector<std::string> names) : names_(std::move(names)) {
    if (names_.empty()) throw std::invalid_argument("feed_rotation needs at least one file");
    std::sort(names_.begin(), names_.end());
}

const std::string& feed_rotation::next() {
    const auto& name = names_[position_];
    position_ = (position_ + 1) % names_.size();
    return name;
}

bool feed_rotation::serve_next(std::string_view name) {
    auto found = std::find(names_.begin(), names_.end(), name);
    if (found == names_.end()) return false;
    position_ = static_cast<std::size_t>(found - names_.begin());
    return true;
}

}  // namespace marquee::provider_mock
