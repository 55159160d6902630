#include "marquee/metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace marquee::metrics {
namespace detail {

std::size_t shard_index() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % shard_count;
    return index;
}

}  // namespace detail

namespace {

void append_escaped_label(std::string& out, std::string_view value) {
    for (char c : value) {
        if (c == '\\')
            out.append("\\\\");
        else if (c == '"')
            out.append("\\\"");
        else if (c == '\n')
            out.append("\\n");
        else
            out.push_back(c);
    }
}

std::string render_labels(const labels& l) {
    if (l.empty()) return {};
    std::string out = "{";
    for (std::size_t i = 0; i < l.size(); ++i) {
        if (i != 0) out.push_back(',');
        out.append(l[i].first);
        out.append("=\"");
        append_escaped_label(out, l[i].second);
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

// Adds one more label to an already rendered label set (for a histogram's "le").
std::string with_label(const std::string& label_text, std::string_view name, std::string_view value) {
    std::string extra = fmt::format("{}=\"{}\"", name, value);
    if (label_text.empty()) return "{" + extra + "}";
    return label_text.substr(0, label_text.size() - 1) + "," + extra + "}";
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

}  // namespace

std::uint64_t counter::value() const noexcept {
    std::uint64_t total = 0;
    for (const auto& c : cells_) total += c.value.load(std::memory_order_relaxed);
    return total;
}

histogram::histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
    if (!std::is_sorted(bounds_.begin(), bounds_.end())) throw std::logic_error("histogram bounds must ascend");
    for (auto& s : shards_) {
        s.counts = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
        for (std::size_t i = 0; i <= bounds_.size(); ++i) s.counts[i].store(0, std::memory_order_relaxed);
    }
}

void histogram::observe(double v) noexcept {
    auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    auto& s = shards_[detail::shard_index()];
    s.counts[bucket].fetch_add(1, std::memory_order_relaxed);
    s.sum.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::bucket_counts() const {
    std::vector<std::uint64_t> counts(bounds_.size() + 1, 0);
    for (const auto& s : shards_)
        for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += s.counts[i].load(std::memory_order_relaxed);
    return counts;
}

double histogram::sum() const noexcept {
    double total = 0;
    for (const auto& s : shards_) total += s.sum.load(std::memory_order_relaxed);
    return total;
}

void registry::add(std::string_view name, std::string_view help, type kind, const labels& l, series s) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(families_.begin(), families_.end(), [&](const family& f) { return f.name == name; });
    if (it == families_.end()) {
        families_.push_back(family{std::string(name), std::string(help), kind, {}});
        it = families_.end() - 1;
    } else if (it->kind != kind) {
        throw std::logic_error(fmt::format("metric {} registered with two types", name));
    }
    s.label_text = render_labels(l);
    it->members.push_back(std::move(s));
}

counter& registry::make_counter(std::string_view name, std::string_view help, const labels& l) {
    series s;
    s.c = std::make_unique<counter>();
    auto& ref = *s.c;
    add(name, help, type::counter, l, std::move(s));
    return ref;
}

gauge& registry::make_gauge(std::string_view name, std::string_view help, const labels& l) {
    series s;
    s.g = std::make_unique<gauge>();
    auto& ref = *s.g;
    add(name, help, type::gauge, l, std::move(s));
    return ref;
}

histogram& registry::make_histogram(std::string_view name, std::string_view help, std::vector<double> upper_bounds,
                                    const labels& l) {
    series s;
    s.h = std::make_unique<histogram>(std::move(upper_bounds));
    auto& ref = *s.h;
    add(name, help, type::histogram, l, std::move(s));
    return ref;
}

void registry::make_callback_gauge(std::string_view name, std::string_view help, std::function<double()> read,
                                   const labels& l) {
    series s;
    s.read = std::move(read);
    add(name, help, type::gauge, l, std::move(s));
}

void registry::make_callback_counter(std::string_view name, std::string_view help, std::function<double()> read,
                                     const labels& l) {
    series s;
    s.read = std::move(read);
    add(name, help, type::counter, l, std::move(s));
}

std::string registry::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    auto line = std::back_inserter(out);
    for (const auto& f : families_) {
        std::string_view type_name = f.kind == type::counter ? "counter"
                                     : f.kind == type::gauge ? "gauge"
                                                             : "histogram";
        fmt::format_to(line, "# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, type_name);
        for (const auto& s : f.members) {
            if (s.c) {
                fmt::format_to(line, "{}{} {}\n", f.name, s.label_text, s.c->value());
            } else if (s.g) {
                fmt::format_to(line, "{}{} {}\n", f.name, s.label_text, format_value(s.g->value()));
            } else if (s.read) {
                fmt::format_to(line, "{}{} {}\n", f.name, s.label_text, format_value(s.read()));
            } else if (s.h) {
                auto counts = s.h->bucket_counts();
                std::uint64_t cumulative = 0;
                const auto& bounds = s.h->upper_bounds();
                for (std::size_t i = 0; i < counts.size(); ++i) {
                    cumulative += counts[i];
                    auto le = i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf");
                    fmt::format_to(line, "{}_bucket{} {}\n", f.name, with_label(s.label_text, "le", le), cumulative);
                }
                fmt::format_to(line, "{}_sum{} {}\n", f.name, s.label_text, format_value(s.h->sum()));
                fmt::format_to(line, "{}_count{} {}\n", f.name, s.label_text, cumulative);
            }
        }
    }
    return out;
}

std::vector<double> latency_buckets() {
    return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

}  // namespace marquee::metrics
