#pragma once
// Fixtures many integration tests share: the provider mock as a running process, files and
// per-test directories, schedule slots, RabbitMQ queue depths, and a fingerprint of what an
// ingestion leaves in the database. (Publishing jobs is in harness/jobs.hpp.)
#include "harness/harness.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::testing {

/// The whole content of `path`, byte for byte. Throws std::runtime_error when it cannot be read.
std::string read_file(const std::filesystem::path& path);
/// Writes `text` to `path` (replacing it). Throws std::runtime_error when it cannot be written.
void write_file(const std::filesystem::path& path, std::string_view text);

/// fixtures/provider-samples of the source tree (response_1.xml … response_3.xml).
std::filesystem::path provider_samples();

/// A directory of the running test's own under log_dir(): <suite>.<test>.<what>, created (and
/// emptied when it existed from an earlier run).
std::filesystem::path test_dir(std::string_view what);

/// A schedule slot: 2024-03-10 12:00 UTC plus `minute` minutes. Later minutes are later slots, which
/// is all coalescing looks at.
std::chrono::sys_seconds slot(int minute);

/// The value of one sample line ("name{labels} value") of a Prometheus text exposition; nullopt
/// when the series is absent.
std::optional<double> metric_sample(const std::string& exposition, const std::string& series);

/// marquee-provider-mock serving the feeds in `feed_dir` on a free loopback port, up when the
/// constructor returns (throws std::runtime_error otherwise). The one way tests start the mock.
class provider_mock {
public:
    /// `extra_args` go after --listen and --dir (e.g. --tls-listen …, --fault …).
    explicit provider_mock(const std::filesystem::path& feed_dir = provider_samples(),
                           std::vector<std::string> extra_args = {});

    std::uint16_t port() const noexcept { return port_; }
    /// http://127.0.0.1:<port><path>
    std::string url(const std::string& path = "/api/events") const;
    /// GET of any target on the mock.
    http_response get(const std::string& target, std::chrono::milliseconds timeout = 10s) const;
    /// GET of a /_control/... target; true on 200.
    bool control(const std::string& target) const;
    /// A top-level counter of /_control/stats (requests, faulted, redirects, held). Throws
    /// std::runtime_error when the stats cannot be read or lack it.
    std::int64_t stat(std::string_view name) const;

    /// Holds the next `count` /api/events replies (0: every one until release()) until release();
    /// the mock has picked what to answer but sends nothing. Returns whether the mock accepted it.
    bool hold(unsigned count = 1) const;
    /// Lets every held reply go and stops holding.
    bool release() const;
    /// Waits until `count` replies are held at once (a test failure after `timeout`).
    [[nodiscard]] bool wait_held(std::int64_t count, std::chrono::milliseconds timeout = 60s) const;

    process& proc() noexcept { return *process_; }

private:
    std::uint16_t port_ = 0;
    std::unique_ptr<process> process_;
};

/// marquee-provider-mock started with exactly `args` and not waited for: only for tests of the
/// mock's own start-up and settings. Everything else uses provider_mock.
std::unique_ptr<process> provider_mock_process(std::vector<std::string> args);

/// Messages in each queue of the vhost (ready and unacknowledged), by queue name; empty when
/// rabbitmqctl fails. The counts of quorum queues lag seconds behind the queue (RabbitMQ emits
/// them periodically): wait on them with wait_until; for the count at this moment use
/// ready_messages (harness/jobs.hpp).
std::map<std::string, long> queue_depths(const vhost& vh);
/// Messages in one queue of the vhost (ready and unacknowledged); -1 when it does not exist or
/// rabbitmqctl fails.
long queue_depth(const vhost& vh, std::string_view queue);

/// Restarts the services' PostgreSQL (pg_ctl restart -m fast) the way scripts/services.sh runs
/// it, so that `services.sh stop` still finds it; every session is cut.
command_result restart_postgres();

/// The URL of database `name` on the services' streaming replica. Throws std::runtime_error when
/// the services run without one (scripts/services.sh start with PG_REPLICA=1 starts it).
std::string replica_url(const std::string& name);

/// Restarts the services' streaming replica (scripts/services.sh restart-replica); every session
/// on it is cut.
command_result restart_replica();

/// What ingestions left behind (events, zones, history), independent of timestamps and run ids:
/// equal fingerprints mean equal stored data.
std::string database_fingerprint(const std::string& db_url);

}  // namespace marquee::testing
