#pragma once
// What the mock answers to a request, decided without doing any I/O: the feed rotation, the armed
// fault, the control endpoints and the statistics. The server (server.hpp) carries the answer out.
#include "fault_plan.hpp"
#include "feed_rotation.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace marquee::provider_mock {

/// Serve a sample file as application/xml, optionally after a delay or cut in half.
struct file_reply {
    std::string name;
    std::chrono::milliseconds delay{0};
    bool truncate = false;
};

/// A complete small response held in memory.
struct text_reply {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    std::string location{};  // the Location header, when not empty
};

/// A streamed application/xml body of `size` bytes (see oversize_body).
struct oversize_reply {
    std::uint64_t size = 0;
};

using reply = std::variant<file_reply, text_reply, oversize_reply>;

class mock_provider {
public:
    /// `files`: names of the sample files (not paths). Throws std::invalid_argument when empty.
    explicit mock_provider(std::vector<std::string> files);

    /// Answers GET /api/events, GET /redirect?to=URL[&status=301|302|303|307|308] (302 by default;
    /// counted in the stats as `redirects`), the GET /_control/... endpoints; 404 or 405 otherwise.
    reply handle(std::string_view method, std::string_view target);

    /// Arms a fault as /_control/fault does (used for the command-line fault flags).
    void arm(fault f, std::uint64_t count) noexcept { faults_.arm(f, count); }

private:
    reply events();
    reply redirect(const std::map<std::string, std::string, std::less<>>& params);
    reply control(std::string_view action, const std::map<std::string, std::string, std::less<>>& params);
    std::string stats_json() const;

    feed_rotation rotation_;
    fault_plan faults_;
    std::uint64_t requests_ = 0;
    std::uint64_t faulted_ = 0;
    std::uint64_t redirects_ = 0;
    std::map<std::string, std::uint64_t, std::less<>> served_;
};

}  // namespace marquee::provider_mock
