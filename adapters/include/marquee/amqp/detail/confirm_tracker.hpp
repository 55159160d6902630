#pragma once
// Which messages of a publish_all batch the broker has confirmed (publisher.cpp), apart from the
// socket so that the bookkeeping of acks, nacks and returns is unit-tested.
#include "marquee/amqp/publisher.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace marquee::amqp::detail {

/// What became of each message of a batch: message i goes out with delivery tag first_tag + i.
/// Confirms may come out of order and cover several tags at once (multiple=true).
class confirm_tracker {
public:
    confirm_tracker(std::size_t size, std::uint64_t first_tag)
        : first_tag_(first_tag), sent_at_(size), settled_(size, false), returned_(size), failures_(size) {}

    std::size_t size() const noexcept { return settled_.size(); }
    std::size_t sent() const noexcept { return sent_; }
    std::size_t in_flight() const noexcept { return sent_ - settled_count_; }
    bool all_settled() const noexcept { return settled_count_ == size(); }
    /// When the oldest message still waiting for its confirm went out. Only while in_flight() > 0.
    std::chrono::steady_clock::time_point oldest_sent_at() const noexcept { return sent_at_[oldest_]; }

    void sent_one(std::chrono::steady_clock::time_point at) { sent_at_[sent_++] = at; }

    /// The broker returned a message as unroutable. It acks that message later, but a return names
    /// no delivery tag: every message awaiting its confirm now may be the one.
    void returned(const std::string& reason) {
        for (auto i = oldest_; i < sent_; ++i)
            if (!settled_[i]) returned_[i] = reason;
    }

    /// basic.ack (refusal empty) or basic.nack (refusal says why) of `tag`, or of every tag up to
    /// it when `multiple`. Tags of earlier batches or never sent are ignored.
    void settle(std::uint64_t tag, bool multiple, const std::optional<std::string>& refusal) {
        if (tag < first_tag_ || tag - first_tag_ >= sent_) return;
        const auto last = static_cast<std::size_t>(tag - first_tag_);
        for (auto i = multiple ? oldest_ : last; i <= last; ++i) {
            if (settled_[i]) continue;
            settled_[i] = true;
            ++settled_count_;
            if (refusal)
                failures_[i] = refusal;
            else if (returned_[i])
                failures_[i] = returned_[i];
        }
        while (oldest_ < sent_ && settled_[oldest_]) ++oldest_;
    }

    /// Every message without a confirm (in flight or never sent) fails for `reason`.
    void fail_unsettled(const std::string& reason) {
        for (std::size_t i = 0; i < size(); ++i)
            if (!settled_[i]) failures_[i] = reason;
    }

    publish_failures take() && { return std::move(failures_); }

private:
    std::uint64_t first_tag_;
    std::size_t sent_ = 0;
    std::size_t settled_count_ = 0;
    std::size_t oldest_ = 0;  // the first message not settled (== sent_ when none is in flight)
    std::vector<std::chrono::steady_clock::time_point> sent_at_;
    std::vector<bool> settled_;
    std::vector<std::optional<std::string>> returned_;
    publish_failures failures_;
};

}  // namespace marquee::amqp::detail
