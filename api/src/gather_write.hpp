#pragma once
// Sending a response given as many buffers (the HTTP head and ranges of the snapshot's rendered
// JSON) without copying them together: sendmsg with up to IOV_MAX buffers at a time, picking up
// after a partial write where the socket stopped.
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <span>

namespace marquee::api::detail {

/// The part of a buffer sequence not yet sent.
class gather_cursor {
public:
    explicit gather_cursor(std::span<const boost::asio::const_buffer> buffers) noexcept;

    bool done() const noexcept { return index_ == buffers_.size(); }
    /// Sends from the cursor on with non-blocking sendmsg calls, each of up to IOV_MAX buffers, until
    /// everything is sent or the socket takes no more; advances past what was sent. Returns
    /// would_block when the socket is full, another error when the connection failed, success when
    /// done(). Never suspends: the caller waits for writability and calls again.
    boost::system::error_code send_some(int fd) noexcept;
    /// Moves past `n` bytes (for tests and for callers that sent some bytes themselves).
    void advance(std::size_t n) noexcept;

private:
    std::span<const boost::asio::const_buffer> buffers_;
    std::size_t index_ = 0;   // first buffer not completely sent
    std::size_t offset_ = 0;  // bytes of it already sent

    void skip_empty() noexcept;
};

}  // namespace marquee::api::detail
