#pragma once
// Folding values into a 64-bit hash whose every bit depends on every bit of the input: XOR, then
// splitmix64's finaliser. Not cryptographic; for hash tables and fingerprints.
#include <cstdint>
#include <string_view>

namespace marquee::hash {

constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
    std::uint64_t x = h ^ v;
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// `bytes` folded into `h` eight at a time (little-endian), then its length: equal texts, equal
/// hashes; texts differing in any byte differ with overwhelming probability.
constexpr std::uint64_t mix_bytes(std::uint64_t h, std::string_view bytes) noexcept {
    std::uint64_t word = 0;
    std::size_t filled = 0;
    for (char c : bytes) {
        word |= std::uint64_t{static_cast<unsigned char>(c)} << (8 * filled);
        if (++filled == 8) {
            h = mix(h, word);
            word = 0;
            filled = 0;
        }
    }
    if (filled != 0) h = mix(h, word);
    return mix(h, bytes.size());
}

}  // namespace marquee::hash
