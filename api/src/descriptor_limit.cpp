#include "descriptor_limit.hpp"

#include "marquee/log/log.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace marquee::api::detail {

std::size_t connection_cap(std::size_t requested, std::uint64_t descriptor_limit) noexcept {
    if (descriptor_limit <= reserved_descriptors + 1) return 1;
    return static_cast<std::size_t>(std::min<std::uint64_t>(requested, descriptor_limit - reserved_descriptors));
}

std::size_t fit_connection_cap(std::size_t requested) noexcept {
    try {
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
            log::warn("cannot read the open-file limit ({}); keeping {} connections at most", std::strerror(errno),
                      requested);
            return requested;
        }
        if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < limit.rlim_max) {
            auto before = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
                log::info("raised the open-file limit from {} to {}", before, limit.rlim_cur);
            } else {
                // A hard limit of RLIM_INFINITY is refused above fs.nr_open; the soft limit stays.
                log::warn("cannot raise the open-file limit from {} to {}: {}", before, limit.rlim_max,
                          std::strerror(errno));
                limit.rlim_cur = before;
            }
        }
        if (limit.rlim_cur == RLIM_INFINITY) return requested;
        auto cap = connection_cap(requested, limit.rlim_cur);
        if (cap < requested)
            log::warn(
                "API_MAX_CONNECTIONS {} clamped to {}: the open-file limit is {} and {} descriptors are kept "
                "for the database, timers and logs",
                requested, cap, limit.rlim_cur, reserved_descriptors);
        return cap;
    } catch (...) {
        // Only logging can throw (bad_alloc); the cap is still worth fitting.
        return requested;
    }
}

}  // namespace marquee::api::detail
