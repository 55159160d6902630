#include "marquee/ingest/pipeline.hpp"

#include "marquee/feed/detail/normaliser.hpp"
#include "marquee/feed/detail/scanner.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace marquee::ingest {
namespace {

// Occurrences are numbered (batch << 32 | index in batch): increasing in feed order without
// knowing how many events earlier batches hold.
constexpr unsigned seq_batch_shift = 32;

class parallel_stager {
public:
    parallel_stager(std::span<char> document, const feed::detail::feed_layout& layout, const provider_context& context,
                    unsigned threads)
        : document_(document),
          layout_(layout),
          context_(context),
          threads_(threads),
          window_(std::max<std::size_t>(2, 2 * static_cast<std::size_t>(threads))),
          results_(layout.batches.size()) {}

    pipeline_totals run(const std::function<void(staged_batch&)>& sink) {
        std::vector<std::jthread> workers;
        workers.reserve(threads_);
        for (unsigned i = 0; i < threads_; ++i) workers.emplace_back([this] { work(); });
        pipeline_totals totals;
        try {
            for (std::size_t index = 0; index < results_.size(); ++index) {
                staged_batch batch = wait_for(index);
                totals.events_seen += batch.events_seen;
                totals.events_rejected += batch.rejections.size();
                totals.events_changed += batch.events_changed;
                totals.events_unchanged += batch.events_unchanged;
                sink(batch);
            }
        } catch (...) {
            stop();
            throw;
        }
        return totals;
    }

private:
    void stop() {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        changed_.notify_all();
    }

    staged_batch wait_for(std::size_t index) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return results_[index].has_value() || failure_; });
        if (failure_) std::rethrow_exception(failure_);
        staged_batch batch = std::move(*results_[index]);
        results_[index].reset();
        consumed_ = index + 1;
        changed_.notify_all();
        return batch;
    }

    // Takes the next batch once it is within the window of batches not yet consumed, which bounds
    // the memory held by staged rows waiting for the database.
    std::optional<std::size_t> take_next() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock,
                      [&] { return stopped_ || failure_ || next_ >= results_.size() || next_ < consumed_ + window_; });
        if (stopped_ || failure_ || next_ >= results_.size()) return std::nullopt;
        return next_++;
    }

    void work() {
        feed::detail::normaliser_scratch scratch;
        while (auto index = take_next()) {
            try {
                staged_batch batch;
                // Rows take about as many bytes as the XML they come from; growing strings
                // by doubling would copy them over and over.
                // A split batch is one oversized element, mostly rejected: reserve nothing for it.
                const auto& range = layout_.batches[*index];
                if (!range.split) {
                    batch.new_zone_rows.reserve(range.end - range.begin);
                    batch.event_rows.reserve((range.end - range.begin) / 16);
                }
                batch_stager stager(context_, batch);
                std::uint64_t seq = static_cast<std::uint64_t>(*index) << seq_batch_shift;
                feed::detail::normalise_batch(document_, layout_.batches[*index], layout_.encoding, context_.caps,
                                              scratch,
                                              [&](const feed::event_outcome& outcome) { stager.add(outcome, seq++); });
                std::lock_guard lock(mutex_);
                results_[*index] = std::move(batch);
                changed_.notify_all();
            } catch (...) {
                std::lock_guard lock(mutex_);
                if (!failure_) failure_ = std::current_exception();
                changed_.notify_all();
                return;
            }
        }
    }

    std::span<char> document_;
    const feed::detail::feed_layout& layout_;
    const provider_context& context_;
    unsigned threads_;
    std::size_t window_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::optional<staged_batch>> results_;
    std::size_t next_ = 0;
    std::size_t consumed_ = 0;
    bool stopped_ = false;
    std::exception_ptr failure_;
};

}  // namespace

pipeline_totals stage_feed(std::span<char> document, const provider_context& context, const pipeline_options& options,
                           const std::function<void(staged_batch&)>& sink) {
    auto layout = feed::detail::scan_feed({document.data(), document.size()}, options.batch_bytes);
    unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, layout.batches.size())));
    return parallel_stager(document, layout, context, threads).run(sink);
}

}  // namespace marquee::ingest
