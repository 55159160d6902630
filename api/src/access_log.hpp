#pragma once
// The API's access log (API_ACCESS_LOG): one record per answered request — client, method, target,
// status, bytes, duration, request id — in the log's format (LOG_FORMAT). Each I/O thread keeps
// its own buffer of whole lines and writes it at once when it fills or the thread's tick comes
// (every 100 ms), so logging every request costs a formatted line, not a system call each.
#include "marquee/api/server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace marquee::api::detail {

struct access_entry {
    std::string_view client;  ///< the peer's address
    std::string_view method;
    std::string_view target;
    unsigned status = 0;
    std::size_t bytes = 0;  ///< body bytes sent
    std::chrono::duration<double> took{};
    std::string_view request_id;
};

class access_log {
public:
    explicit access_log(access_log_mode mode) : mode_(mode) {}
    access_log(const access_log&) = delete;
    access_log& operator=(const access_log&) = delete;
    ~access_log() { flush(); }

    bool wants(unsigned status) const noexcept {
        return mode_ == access_log_mode::all || (mode_ == access_log_mode::errors && status >= 500);
    }
    /// Appends the entry's line; writes the buffer when it is full. Never throws.
    void record(const access_entry& entry) noexcept;
    /// Writes what is buffered.
    void flush() noexcept;

private:
    access_log_mode mode_;
    std::string buffer_;
    std::string scratch_;  // the quoted request of a text record, reused
};

/// Flushes `log` every `interval` until `context` stops.
boost::asio::awaitable<void> flush_every(access_log& log, boost::asio::io_context& context,
                                         std::chrono::milliseconds interval);

}  // namespace marquee::api::detail
