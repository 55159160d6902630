#pragma once
// Helpers shared by the amqp adapters' sources; includes rabbitmq-c, so public headers don't.
#include "marquee/amqp/connection.hpp"

#include <amqp.h>

#include <sys/time.h>

#include <chrono>
#include <string>
#include <string_view>

namespace marquee::amqp::detail {

/// A view of `s` as rabbitmq-c bytes; rabbitmq-c only reads through it.
inline amqp_bytes_t bytes(std::string_view s) noexcept {
    amqp_bytes_t b;
    b.len = s.size();
    b.bytes = const_cast<char*>(s.data());
    return b;
}

inline std::string to_string(amqp_bytes_t b) {
    return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

inline timeval to_timeval(std::chrono::microseconds d) noexcept {
    if (d.count() < 0) d = std::chrono::microseconds{0};
    timeval tv;
    tv.tv_sec = static_cast<time_t>(d.count() / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(d.count() % 1000000);
    return tv;
}

/// If `frame` is a channel.close or connection.close from the broker: answers it, marks `conn`
/// unusable and throws queue_error with the broker's reply code and text. Otherwise returns.
void throw_if_close(connection& conn, const amqp_frame_t& frame, std::string_view what);

}  // namespace marquee::amqp::detail
