#pragma once
// The body of the `oversize` fault: exactly `size` bytes that look like a feed (an XML declaration,
// <eventList>, a long comment as padding), produced piece by piece so it is never held in memory.
#include <cstddef>
#include <cstdint>
#include <span>

namespace marquee::provider_mock {

class oversize_body {
public:
    explicit oversize_body(std::uint64_t size) noexcept : size_(size) {}

    std::uint64_t size() const noexcept { return size_; }
    /// Copies the bytes at [offset, offset + out.size()) clipped to size(); returns how many.
    std::size_t read(std::uint64_t offset, std::span<char> out) const noexcept;

private:
    char at(std::uint64_t offset) const noexcept;

    std::uint64_t size_;
};

}  // namespace marquee::provider_mock
