#pragma once
// What the mock answers to a request, decided without doing any I/O: the feed rotation, the armed
// fault, the control endpoints and the statistics. The server (server.hpp) carries the answer out.
// One mock can also stand in for many providers, each with a rotation of its own (a benchmark's
// hundreds of feeds from one process).
#include "fault_plan.hpp"
#include "feed_rotation.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
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
    /// Held (see mock_provider::take_hold): the head and the body's first byte go out at once,
    /// the rest only after the release, so a client's first-byte deadline is met and only its
    /// total deadline can run out while it waits.
    bool hold_body = false;
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

/// Whether `name` may be served at /providers/<name>/api/events: what the providers table
/// accepts, ^[a-z0-9][a-z0-9_.-]{0,62}$ (so never "." or "..").
bool is_provider_name(std::string_view name) noexcept;

class mock_provider {
public:
    /// `files`: names of the sample files (not paths). `providers`: each provider's sample files,
    /// relative to its own directory `<name>/`. Throws std::invalid_argument when `files` or a
    /// provider's list is empty, or a provider's name fails is_provider_name.
    explicit mock_provider(std::vector<std::string> files,
                           std::map<std::string, std::vector<std::string>> providers = {});

    /// Answers GET /api/events, GET /providers/<name>/api/events (that provider's files in a rotation
    /// of their own, advancing per request to it; no faults or holds), GET /redirect?to=URL
    /// [&status=301|302|303|307|308] (302 by default; counted in the stats as `redirects`), the
    /// GET /_control/... endpoints; 404 (also for an unknown provider) or 405 otherwise.
    reply handle(std::string_view method, std::string_view target);

    /// Arms a fault as /_control/fault does (used for the command-line fault flags).
    void arm(fault f, std::uint64_t count) noexcept { faults_.arm(f, count); }

    /// Whether the /api/events reply handle() just returned is to be held back until a release
    /// (armed by /_control/hold?count=N, N replies, 0 = every one until the release); asking
    /// clears it. A held file reply sends its head and holds most of its body (file_reply::hold_body), any
    /// other reply is held whole. It counts in the stats as `held` until held_reply_sent().
    bool take_hold() noexcept;
    /// A held reply was let go (released, or its connection ended).
    void held_reply_sent() noexcept;
    /// Called by /_control/release and /_control/reset to let every held reply go.
    void on_release(std::function<void()> release) { release_ = std::move(release); }

private:
    struct provider_feeds {
        feed_rotation rotation;
        std::uint64_t requests = 0;
    };

    reply events();
    reply redirect(const std::map<std::string, std::string, std::less<>>& params);
    reply control(std::string_view action, const std::map<std::string, std::string, std::less<>>& params);
    std::string stats_json() const;

    feed_rotation rotation_;
    fault_plan faults_;
    // Holding: the next hold_remaining_ /api/events replies (all of them while hold_until_release_)
    // wait for a release; the test that armed it decides when they are answered.
    std::uint64_t hold_remaining_ = 0;
    bool hold_until_release_ = false;
    bool hold_last_ = false;
    std::uint64_t held_ = 0;
    std::function<void()> release_;
    std::uint64_t requests_ = 0;
    std::uint64_t faulted_ = 0;
    std::uint64_t redirects_ = 0;
    std::map<std::string, std::uint64_t, std::less<>> served_;
    std::map<std::string, provider_feeds, std::less<>> providers_;
};

}  // namespace marquee::provider_mock
