#include "gather_write.hpp"

#include <boost/asio/error.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace marquee::api::detail {

gather_cursor::gather_cursor(std::span<const boost::asio::const_buffer> buffers) noexcept : buffers_(buffers) {
    skip_empty();
}

void gather_cursor::skip_empty() noexcept {
    while (index_ < buffers_.size() && offset_ == buffers_[index_].size()) {
        ++index_;
        offset_ = 0;
    }
}

void gather_cursor::advance(std::size_t n) noexcept {
    while (n != 0 && index_ < buffers_.size()) {
        auto step = std::min(n, buffers_[index_].size() - offset_);
        offset_ += step;
        n -= step;
        skip_empty();
    }
}

boost::system::error_code gather_cursor::send_some(int fd) noexcept {
    // On the thread's stack, not in the caller's coroutine frame, which every idle connection keeps.
    iovec batch[IOV_MAX];
    while (!done()) {
        std::size_t count = 0;
        std::size_t bytes = 0;
        std::size_t offset = offset_;
        for (auto i = index_; i < buffers_.size() && count < IOV_MAX; ++i, offset = 0) {
            auto length = buffers_[i].size() - offset;
            if (length == 0) continue;
            batch[count].iov_base = const_cast<char*>(static_cast<const char*>(buffers_[i].data()) + offset);
            batch[count].iov_len = length;
            bytes += length;
            ++count;
        }
        msghdr message{};
        message.msg_iov = batch;
        message.msg_iovlen = count;
        auto sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return boost::asio::error::would_block;
            return {errno, boost::system::system_category()};
        }
        advance(static_cast<std::size_t>(sent));
        // A partial write means the socket buffer is full: trying again would only find that out.
        if (static_cast<std::size_t>(sent) < bytes) return boost::asio::error::would_block;
    }
    return {};
}

}  // namespace marquee::api::detail
