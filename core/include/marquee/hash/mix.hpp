#pragma once
// Folding values into a 64-bit hash whose every bit depends on every bit of the input: XOR, then
// splitmix64's finaliser. Not cryptographic; for hash tables and fingerprints.
#include <cstdint>

namespace marquee::hash {

constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
    std::uint64_t x = h ^ v;
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace marquee::hash
