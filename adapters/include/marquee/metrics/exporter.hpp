#pragma once
// Serves a metrics::registry as Prometheus text on GET /metrics, from one background thread, for
// processes whose main loop is not an HTTP server (the worker, the scheduler). Anything else gets
// 404 (405 for another method on /metrics). Every read and write has a deadline.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace marquee::metrics {

class registry;

struct exporter_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0 picks a free port (see exporter::port)
    /// Deadline of each request read (also how long a keep-alive connection may idle) and each write.
    std::chrono::milliseconds io_timeout{5'000};
    /// Connections beyond this are closed as soon as they are accepted.
    std::size_t max_connections = 32;
};

class exporter {
public:
    /// Binds, listens and starts serving at once. `source` must outlive the exporter.
    /// Throws marquee::error naming the address when it cannot be bound.
    exporter(const registry& source, exporter_options options);
    /// Stops serving, drops open connections and joins the thread.
    ~exporter();
    exporter(const exporter&) = delete;
    exporter& operator=(const exporter&) = delete;

    /// The bound port.
    std::uint16_t port() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::metrics
