#pragma once
// A tiny metrics registry with Prometheus text exposition (format 0.0.4). Updates on the hot path
// are relaxed atomics on per-thread shards; registration and rendering take a mutex.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marquee::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

namespace detail {
inline constexpr std::size_t shard_count = 8;
/// This thread's shard, assigned round-robin on first use.
std::size_t shard_index() noexcept;
}  // namespace detail

/// Monotonic count.
class counter {
public:
    void inc(std::uint64_t n = 1) noexcept {
        cells_[detail::shard_index()].value.fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t value() const noexcept;

private:
    struct alignas(64) cell {
        std::atomic<std::uint64_t> value{0};
    };
    std::array<cell, detail::shard_count> cells_;
};

/// A value that goes up and down.
class gauge {
public:
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

/// Counts observations into fixed cumulative buckets (upper bounds, ascending; +Inf is implicit).
class histogram {
public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double v) noexcept;

    const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
    /// Per-bucket (not cumulative) counts, the last one for +Inf.
    std::vector<std::uint64_t> bucket_counts() const;
    double sum() const noexcept;

private:
    struct alignas(64) shard {
        std::unique_ptr<std::atomic<std::uint64_t>[]> counts;
        std::atomic<double> sum{0};
    };
    std::vector<double> bounds_;
    std::array<shard, detail::shard_count> shards_;
};

/// Owns metrics by name and labels and renders them. Returned references live as long as the
/// registry. Registering the same name with a different type throws std::logic_error.
class registry {
public:
    counter& make_counter(std::string_view name, std::string_view help, const labels& l = {});
    gauge& make_gauge(std::string_view name, std::string_view help, const labels& l = {});
    histogram& make_histogram(std::string_view name, std::string_view help, std::vector<double> upper_bounds,
                              const labels& l = {});
    /// A gauge computed when rendered (e.g. an age). `read` must be thread-safe and not throw.
    void make_callback_gauge(std::string_view name, std::string_view help, std::function<double()> read,
                             const labels& l = {});
    /// A counter kept elsewhere and read when rendered; same contract as make_callback_gauge.
    void make_callback_counter(std::string_view name, std::string_view help, std::function<double()> read,
                               const labels& l = {});

    /// The Prometheus text exposition of every metric.
    std::string render() const;

private:
    enum class type { counter, gauge, histogram };
    struct series {
        std::string label_text;  // rendered once: {k="v",…} or empty
        std::unique_ptr<counter> c;
        std::unique_ptr<gauge> g;
        std::unique_ptr<histogram> h;
        std::function<double()> read;
    };
    struct family {
        std::string name;
        std::string help;
        type kind;
        std::vector<series> members;
    };

    void add(std::string_view name, std::string_view help, type kind, const labels& l, series s);

    mutable std::mutex mutex_;
    std::vector<family> families_;
};

/// Bucket bounds for request latencies in seconds, 50 µs to 2.5 s.
std::vector<double> latency_buckets();

}  // namespace marquee::metrics
