#pragma once
// The parallel path from feed bytes to staged rows: batches are parsed and normalised on N threads
// and handed to the caller's sink in feed order, on the calling thread, so the sink can stream them
// to the database while later batches are still being parsed.
#include "marquee/ingest/staging.hpp"

#include <cstddef>
#include <functional>
#include <span>

namespace marquee::ingest {

struct pipeline_options {
    unsigned threads = 0;                            // 0: the hardware concurrency
    std::size_t batch_bytes = std::size_t{4} << 20;  // feed bytes per batch
};

struct pipeline_totals {
    std::size_t events_seen = 0;
    std::size_t events_rejected = 0;
    std::size_t events_changed = 0;
    std::size_t events_unchanged = 0;
};

/// Stages every <event> of `document` (modified in place). Throws feed_error when the feed as a
/// whole is unreadable, and rethrows whatever the sink throws; no thread outlives the call.
pipeline_totals stage_feed(std::span<char> document, const provider_context& context, const pipeline_options& options,
                           const std::function<void(staged_batch&)>& sink);

}  // namespace marquee::ingest
