#pragma once
// A steady HTTP/1.1 load for the cluster test: keep-alive connections, each sending GETs at a fixed
// pace (one request at a time, so a slow answer delays that connection's next request, never bunches
// them), every answer that is not a complete 200 counted as a failure with its time and cause.
// Nothing is retried: a failure is what a client of the load balancer would have seen.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace marquee::testing {

struct load_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    double requests_per_second = 5000;
    unsigned connections = 32;
    unsigned threads = 2;
    std::vector<std::string> targets;  // used in turn; each connection starts at its own index
    std::chrono::milliseconds timeout{5000};
};

struct load_failure {
    std::chrono::steady_clock::time_point at;
    std::string what;  // "status 503", "read: end of stream", "connect: connection refused", ...
};

struct load_report {
    std::chrono::steady_clock::time_point started;
    std::uint64_t requests = 0;  // answered or failed
    std::uint64_t failures = 0;
    double seconds = 0;
    double rate = 0;  // requests per second achieved
    double p50_ms = 0;
    double p99_ms = 0;
    double p999_ms = 0;
    double max_ms = 0;
    std::vector<load_failure> failures_seen;  // the first 1,000
};

class load_generator {
public:
    /// Starts sending at once. Throws std::invalid_argument for a bad option.
    explicit load_generator(load_options options);
    /// Stops (as stop() does) when not stopped yet.
    ~load_generator();
    load_generator(const load_generator&) = delete;
    load_generator& operator=(const load_generator&) = delete;

    /// Requests answered or failed so far.
    std::uint64_t requests() const noexcept;
    /// Failures so far.
    std::uint64_t failures() const noexcept;
    /// Lets the requests in flight finish (each bounded by the timeout) and reports.
    load_report stop();

private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace marquee::testing
