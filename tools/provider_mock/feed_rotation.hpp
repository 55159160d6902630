#pragma once
// Which sample file the next /api/events request gets: the directory's *.xml files in name order,
// one per request, wrapping around. Pure logic: it only knows names, never opens a file.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::provider_mock {

class feed_rotation {
public:
    /// `names` in any order; they are sorted. Throws std::invalid_argument when empty.
    explicit feed_rotation(std::vector<std::string> names);

    /// The name to serve now; advances to the following one.
    const std::string& next();
    /// Makes `name` the next one served (rotation continues after it). False when unknown.
    bool serve_next(std::string_view name);
    /// Back to the first name.
    void rewind() noexcept { position_ = 0; }

    const std::vector<std::string>& names() const noexcept { return names_; }

private:
    std::vector<std::string> names_;
    std::size_t position_ = 0;
};

}  // namespace marquee::provider_mock
