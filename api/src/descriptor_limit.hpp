#pragma once
// The connection cap against the process's open-file limit: every connection is a descriptor, and
// so are the PostgreSQL connection, the epoll and timer descriptors and the log, so a cap above the
// limit turns into accept failing with EMFILE and the snapshot source unable to reconnect.
#include <cstddef>
#include <cstdint>

namespace marquee::api::detail {

/// Descriptors kept free for everything but client connections (PostgreSQL, epoll, timers, logs,
/// a connection being evicted to make room for a new one).
inline constexpr std::size_t reserved_descriptors = 64;

/// The cap to use under a limit of `descriptor_limit` open files: `requested`, or less so that
/// reserved_descriptors stay free; at least 1.
std::size_t connection_cap(std::size_t requested, std::uint64_t descriptor_limit) noexcept;

/// Raises the soft RLIMIT_NOFILE to the hard limit (the default soft limit is often 1024, far below
/// the default cap), then returns connection_cap(requested, soft limit), logging what it changed.
/// Never throws: when the limit cannot be read or raised, the cap is fitted to what it is.
std::size_t fit_connection_cap(std::size_t requested) noexcept;

}  // namespace marquee::api::detail
